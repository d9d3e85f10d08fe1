"""What only the production key stores do: PKCS#12 files found by organisation id or code, with their
passphrases, and certificates of other CAs whose revocation lists are fetched. What every signing backend
does is in test_signing_conformance."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from django.core.exceptions import ImproperlyConfigured
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.documents.pki import SigningKeyMissing
from ecancel.documents.pki.backends import organisation_signing_pins, organisation_subject
from ecancel.documents.pki.local_ca import LocalCA
from ecancel.documents.signing import SigningCertificateUnverified, sign_pdf
from ecancel.documents.verification import UNTRUSTED, verify_pdf
from tests.documents.key_stores import organisation_ca, p12_file
from tests.documents.signing_support import make_pdf, write_root_pem

__all__ = ["organisation_ca"]

pytestmark = pytest.mark.django_db

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")


class _CRLHandler(BaseHTTPRequestHandler):
    ca: LocalCA
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        body = self.ca.crl()
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def publishing_ca(tmp_path: Path) -> Iterator[tuple[LocalCA, list[str]]]:
    """Another party's CA that publishes its CRL over HTTP, on the loopback interface."""
    requests: list[str] = []
    handler = type("Handler", (_CRLHandler,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ca = LocalCA(tmp_path / "publishing-ca", crl_base_url=f"http://127.0.0.1:{server.server_address[1]}/crl")
    handler.ca = ca
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ca, requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def use_p12(settings: Settings, tmp_path: Path, ca: LocalCA, organisation: Organisation) -> None:
    material = ca.organisation(organisation_subject(organisation))
    settings.ECANCEL_SIGNING_BACKEND = "ecancel.documents.pki.PKCS12Backend"
    settings.ECANCEL_SIGNING_KEYS = {str(organisation.pk): str(p12_file(tmp_path / "org.p12", material, b"pass"))}
    settings.ECANCEL_SIGNING_KEYS_PASSPHRASE = "pass"
    settings.ECANCEL_TRUSTED_ROOTS = [str(write_root_pem(ca, tmp_path / "root.pem"))]


def test_b_lta_fetches_another_cas_crl_over_http_and_is_long_term(
    settings: Settings, tmp_path: Path, publishing_ca: tuple[LocalCA, list[str]], notary_office: Organisation
) -> None:
    ca, requests = publishing_ca
    use_p12(settings, tmp_path, ca, notary_office)

    report = verify_pdf(sign_pdf(make_pdf(), organisation=notary_office, level="B-LTA"))

    assert requests == [f"/crl/{ca.crl_name()}.crl"]  # this deployment's own CRL was made in-process
    assert report.valid, report.problems
    assert report.signatures[0].level == "B-LTA"


def test_b_lta_is_refused_when_the_certificates_crl_cannot_be_had(
    settings: Settings, tmp_path: Path, notary_office: Organisation
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    ca = LocalCA(tmp_path / "unreachable-ca", crl_base_url=f"http://127.0.0.1:{closed}/crl")
    use_p12(settings, tmp_path, ca, notary_office)

    with pytest.raises(SigningCertificateUnverified) as refused:
        sign_pdf(make_pdf(), organisation=notary_office, level="B-LTA")

    assert refused.value.http_status == 503 and "吊销信息" in refused.value.zh
    assert verify_pdf(sign_pdf(make_pdf(), organisation=notary_office)).valid  # B-T needs no revocation data


def test_pkcs12_backend_signs_with_the_configured_file_and_trusts_configured_roots(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    organisation_ca: LocalCA,
    developer: Organisation,
) -> None:
    material = organisation_ca.organisation(organisation_subject(developer))
    path = p12_file(tmp_path / "seller.p12", material, b"s3cret-p12")
    monkeypatch.setenv("SELLER_P12_PASSPHRASE", "s3cret-p12")
    settings.ECANCEL_SIGNING_BACKEND = "ecancel.documents.pki.PKCS12Backend"
    settings.ECANCEL_SIGNING_KEYS = {
        developer.developer.credit_code: {"path": str(path), "passphrase_env": "SELLER_P12_PASSPHRASE"}
    }

    signed = sign_pdf(make_pdf(), organisation=developer, level="B-T")
    untrusted = verify_pdf(signed)
    settings.ECANCEL_TRUSTED_ROOTS = [str(write_root_pem(organisation_ca, tmp_path / "root.pem"))]
    trusted = verify_pdf(signed)

    assert UNTRUSTED in untrusted.problems
    assert trusted.valid, trusted.problems
    fingerprint = material.certificate.fingerprint(hashes.SHA256()).hex()
    assert trusted.signatures[0].signer_certificate_sha256 == fingerprint
    spki = material.certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_pin = hashlib.sha256(spki).hexdigest()
    assert trusted.signatures[0].signer_key_sha256 == key_pin, "the pin names the key, not the certificate"
    assert organisation_signing_pins(developer) == [key_pin]


def test_pkcs12_backend_with_the_shared_passphrase_signs_b_lta(
    settings: Settings, tmp_path: Path, organisation_ca: LocalCA, notary_office: Organisation
) -> None:
    material = organisation_ca.organisation(organisation_subject(notary_office))
    path = p12_file(tmp_path / "office.p12", material, b"shared-passphrase")
    settings.ECANCEL_SIGNING_BACKEND = "ecancel.documents.pki.PKCS12Backend"
    settings.ECANCEL_SIGNING_KEYS = {str(notary_office.pk): str(path)}
    settings.ECANCEL_SIGNING_KEYS_PASSPHRASE = "shared-passphrase"
    settings.ECANCEL_TRUSTED_ROOTS = [str(write_root_pem(organisation_ca, tmp_path / "root.pem"))]

    report = verify_pdf(sign_pdf(make_pdf(), organisation=notary_office, level="B-LTA"))

    assert report.valid, report.problems
    assert len(report.document_timestamps) == 1
    # This CA names no revocation list, so nothing can prove the certificate unrevoked: not long-term.
    assert report.signatures[0].level == "B-T"


def test_pkcs12_backend_refuses_an_organisation_without_a_key(
    settings: Settings, developer: Organisation, other_developer: Organisation, tmp_path: Path
) -> None:
    settings.ECANCEL_SIGNING_BACKEND = "ecancel.documents.pki.PKCS12Backend"
    settings.ECANCEL_SIGNING_KEYS = {developer.developer.credit_code: str(tmp_path / "missing.p12")}

    with pytest.raises(SigningKeyMissing) as missing:
        sign_pdf(make_pdf(), organisation=other_developer)
    assert other_developer.name in missing.value.zh
    assert organisation_signing_pins(other_developer) == [], "no key here, nothing to pin"
    with pytest.raises(ImproperlyConfigured, match="cannot read signing key file"):
        sign_pdf(make_pdf(), organisation=developer)
