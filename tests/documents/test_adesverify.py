"""A verifier we did not write: pyHanko's CLI (`pyhanko sign adesverify`), revocation checking on,
trusting only the roots `ecancel export_trust_roots` writes, judges our signatures valid.

The local CA's certificates name its CRL under ECANCEL_PUBLIC_URL; here that is a server on 127.0.0.1
answering through the app's own /pki/ view, so a B-T document can be checked online, and a B-LTA one
must carry everything it needs (the server is stopped first).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from django.core.management import call_command
from django.test import Client
from pypdf import PdfReader
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.documents.render import RenderedDocument
from ecancel.documents.signing import sign_pdf
from ecancel.documents.verification import verify_pdf
from tests.documents.signing_support import make_pdf

PYHANKO = Path(sys.executable).with_name("pyhanko")

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,
    pytest.mark.skipif(not PYHANKO.exists() and shutil.which("pyhanko") is None, reason="pyhanko-cli"),
]


class _AppHandler(BaseHTTPRequestHandler):
    """Hands each GET to the Django app, as the web server would."""

    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        response = Client().get(self.path)
        self.send_response(response.status_code)
        self.send_header("Content-Type", response.get("Content-Type", "application/octet-stream"))
        self.send_header("Content-Length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class Deployment:
    roots: Path
    requests: list[str]
    server: ThreadingHTTPServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def deployment(settings: Settings, tmp_path: Path) -> Iterator[Deployment]:
    requests: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_AppHandler,), {"requests": requests}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ECANCEL_PUBLIC_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.ECANCEL_KEYS_DIR = tmp_path / "keys"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    roots = tmp_path / "roots.pem"
    call_command("export_trust_roots", "--out", str(roots), stderr=io.StringIO())
    running = Deployment(roots=roots, requests=requests, server=server, thread=thread)
    try:
        yield running
    finally:
        if thread.is_alive():
            running.stop()


def adesverify(pdf: bytes, roots: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    command = [str(PYHANKO), "sign", "adesverify", "--trust", str(roots), "--trust-replace", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def test_a_b_t_document_is_valid_with_the_crl_fetched_from_the_deployment(
    deployment: Deployment, developer: Organisation, tmp_path: Path
) -> None:
    signed = sign_pdf(make_pdf(), organisation=developer)

    result = adesverify(signed, deployment.roots, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert ":INTACT:TRUSTED" in result.stdout and "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in result.stdout
    assert any(path.startswith("/pki/") and path.endswith(".crl") for path in deployment.requests)
    assert verify_pdf(signed).signatures[0].level == "B-T"


def test_a_b_lta_document_carries_its_revocation_data_and_validates_long_term(
    deployment: Deployment, notary_office: Organisation, tmp_path: Path
) -> None:
    signed = sign_pdf(make_pdf(), organisation=notary_office, level="B-LTA")
    deployment.stop()

    dss = PdfReader(io.BytesIO(signed)).trailer["/Root"]["/DSS"]
    crls = [asn1_crl.CertificateList.load(item.get_object().get_data()) for item in dss["/CRLs"]]
    assert crls and all(c["tbs_cert_list"]["issuer"].native["organization_name"] == "ecancel" for c in crls)
    result = adesverify(signed, deployment.roots, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert ":INTACT:TRUSTED" in result.stdout
    assert not deployment.requests  # nothing was fetched: the file is self-contained
    report = verify_pdf(signed)
    assert report.valid and report.signatures[0].level == "B-LTA"


def test_a_document_signed_by_the_seller_then_archived_by_the_notary_validates_offline(
    deployment: Deployment,
    rendered: dict[str, RenderedDocument],
    developer: Organisation,
    notary_office: Organisation,
    tmp_path: Path,
) -> None:
    seller = sign_pdf(rendered["termination_agreement"].pdf, organisation=developer)
    both = sign_pdf(seller, organisation=notary_office, level="B-LTA", field_name="Signature2", box=(60, 60, 178, 192))
    deployment.stop()

    result = adesverify(both, deployment.roots, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["Signature1", "Signature2"]
    assert not deployment.requests
    assert [s.level for s in verify_pdf(both).signatures] == ["B-LTA", "B-LTA"]


def test_the_cli_does_check_revocation_a_b_t_document_fails_without_the_crl(
    deployment: Deployment, developer: Organisation, tmp_path: Path
) -> None:
    """The counter-proof that the checks above are real: with nothing to fetch, a B-T document fails."""
    signed = sign_pdf(make_pdf(), organisation=developer)
    deployment.stop()

    result = adesverify(signed, deployment.roots, tmp_path)

    assert result.returncode != 0
    assert "no revocation information" in result.stdout + result.stderr
