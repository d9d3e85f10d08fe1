"""An independent verifier: poppler's pdfsig (NSS) accepts our signatures once the deployment CA is trusted."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from ecancel.accounts.models import Organisation
from ecancel.documents.pki.local_ca import LocalCA
from ecancel.documents.signing import sign_pdf
from tests.documents.signing_support import flip_byte, make_pdf

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("pdfsig") is None or shutil.which("certutil") is None, reason="poppler/NSS"),
]


def nss_db(directory: Path, trusted_root: Path | None) -> str:
    directory.mkdir()
    subprocess.run(["certutil", "-d", f"sql:{directory}", "-N", "--empty-password"], check=True)
    if trusted_root is not None:
        subprocess.run(
            ["certutil", "-d", f"sql:{directory}", "-A", "-n", "ecancel-root", "-t", "CT,C,C", "-i", str(trusted_root)],
            check=True,
        )
    return f"sql:{directory}"


def pdfsig(pdf: Path, nss: str) -> str:
    result = subprocess.run(["pdfsig", "-nssdir", nss, str(pdf)], capture_output=True, text=True, timeout=60)
    return result.stdout


@pytest.fixture
def root_pem(tmp_path: Path) -> Path:
    path = tmp_path / "root.pem"
    root = LocalCA(Path(settings.ECANCEL_KEYS_DIR)).root().certificate
    path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture
def two_signatures(tmp_path: Path, developer: Organisation, notary_office: Organisation) -> Path:
    seller = sign_pdf(make_pdf(), organisation=developer)
    both = sign_pdf(seller, organisation=notary_office, level="B-LTA", field_name="Signature2", box=(60, 60, 178, 192))
    path = tmp_path / "signed.pdf"
    path.write_bytes(both)
    return path


def test_pdfsig_reports_the_signatures_valid_and_trusted_when_the_ca_is_trusted(
    two_signatures: Path, root_pem: Path, tmp_path: Path, developer: Organisation, notary_office: Organisation
) -> None:
    out = pdfsig(two_signatures, nss_db(tmp_path / "nss", root_pem))

    first, second = out.split("Signature #2:")[0], out.split("Signature #2:")[1].split("Signature #3:")[0]
    assert f"Signer Certificate Common Name: {developer.name}" in first
    assert f"Signer Certificate Common Name: {notary_office.name}" in second
    for block in (first, second):
        assert "Signature Validation: Signature is Valid." in block
        assert "Certificate Validation: Certificate is Trusted." in block
    assert "ETSI.CAdES.detached" in first


def test_pdfsig_does_not_trust_them_without_the_deployment_ca(two_signatures: Path, tmp_path: Path) -> None:
    out = pdfsig(two_signatures, nss_db(tmp_path / "nss", None))

    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate is Trusted." not in out
    assert "Certificate issuer isn't Trusted." in out


def test_pdfsig_sees_a_flipped_byte(developer: Organisation, root_pem: Path, tmp_path: Path) -> None:
    path = tmp_path / "tampered.pdf"
    path.write_bytes(flip_byte(sign_pdf(make_pdf(), organisation=developer), b"1580000.00"))

    out = pdfsig(path, nss_db(tmp_path / "nss", root_pem))

    assert "Signature is Valid." not in out
    assert "Digest Mismatch" in out or "Signature is Invalid" in out
