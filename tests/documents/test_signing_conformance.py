"""Every signing key backend through the ``SigningBackend`` protocol: the local CA, PKCS#12 files and a PKCS#11
token (SoftHSM2). Each signs an organisation's document with a key this deployment pins and trusts."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from pyhanko.sign.signers import Signer
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.documents.pki import (
    InMemorySigner,
    SigningBackend,
    certificate_pin,
    organisation_signing_pins,
    signing_backend,
    trust_roots,
)
from ecancel.documents.pki.backends import organisation_subject
from ecancel.documents.pki.local_ca import LocalCA
from ecancel.documents.signing import sign_pdf
from ecancel.documents.verification import verify_pdf
from tests.documents.key_stores import SOFTHSM, organisation_ca, p12_file, put_on_token, softhsm_token
from tests.documents.signing_support import make_pdf, write_root_pem

__all__ = ["organisation_ca", "softhsm_token"]
pytestmark = pytest.mark.django_db


def use_pkcs12(settings: Settings, tmp_path: Path, ca: LocalCA, organisation: Organisation) -> None:
    material = ca.organisation(organisation_subject(organisation))
    settings.ECANCEL_SIGNING_BACKEND = "ecancel.documents.pki.PKCS12Backend"
    settings.ECANCEL_SIGNING_KEYS = {str(organisation.pk): str(p12_file(tmp_path / "org.p12", material, b"pass"))}
    settings.ECANCEL_SIGNING_KEYS_PASSPHRASE = "pass"
    settings.ECANCEL_TRUSTED_ROOTS = [str(write_root_pem(ca, tmp_path / "root.pem"))]


def use_pkcs11(
    settings: Settings, tmp_path: Path, ca: LocalCA, organisation: Organisation, token: dict[str, str]
) -> None:
    put_on_token(token, ca.organisation(organisation_subject(organisation)), "seal", tmp_path)
    settings.ECANCEL_SIGNING_BACKEND = "ecancel.documents.pki.PKCS11Backend"
    settings.ECANCEL_PKCS11_MODULE = str(SOFTHSM)
    settings.ECANCEL_PKCS11_TOKEN_LABEL = token["label"]
    settings.ECANCEL_PKCS11_PIN = token["pin"]
    # SoftHSM signs with plain ECDSA over a hash made outside the token.
    settings.ECANCEL_PKCS11_KEYS = {str(organisation.pk): {"label": "seal", "raw_ecdsa": True}}
    settings.ECANCEL_TRUSTED_ROOTS = [str(write_root_pem(ca, tmp_path / "root.pem"))]


@pytest.fixture(params=["local", "pkcs12", "pkcs11"])
def backend(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path, notary_office: Organisation
) -> SigningBackend:
    """The backend under test, holding a key for ``notary_office``."""
    if request.param == "pkcs12":
        use_pkcs12(settings, tmp_path, request.getfixturevalue("organisation_ca"), notary_office)
    elif request.param == "pkcs11":
        token = request.getfixturevalue("softhsm_token")
        use_pkcs11(settings, tmp_path, request.getfixturevalue("organisation_ca"), notary_office, token)
    return signing_backend()


def assert_signs_for(backend: SigningBackend, organisation: Organisation) -> None:
    """The contract: one signer per organisation, certified in the organisation's name, whose signatures this
    deployment verifies as trusted and whose key it pins; the backend's own roots are among those trusted."""
    signer = backend.signer(organisation)
    assert isinstance(signer, Signer) and backend.signer(organisation) is signer, "a key is loaded once"
    assert signer.signing_cert is not None
    assert signer.signing_cert.subject.native["organization_name"] == organisation.name

    report = verify_pdf(sign_pdf(make_pdf(), organisation=organisation))

    [signature] = report.signatures
    assert signature.intact and signature.trusted, f"the signature is not trusted here: {report.problems}"
    assert report.valid, report.problems
    assert signature.signer_organisation == organisation.name
    assert signature.signer_key_sha256 == certificate_pin(signer.signing_cert)
    assert organisation_signing_pins(organisation) == [signature.signer_key_sha256]
    trusted = {root.sha256 for root in trust_roots()}
    assert all(root.sha256 in trusted for root in backend.trust_roots())


def test_signs_for_the_organisation_with_a_trusted_pinned_key(
    backend: SigningBackend, notary_office: Organisation
) -> None:
    assert_signs_for(backend, notary_office)


def test_signs_b_lta(backend: SigningBackend, notary_office: Organisation) -> None:
    report = verify_pdf(sign_pdf(make_pdf(), organisation=notary_office, level="B-LTA"))

    assert report.valid, report.problems
    assert len(report.document_timestamps) == 1


def test_the_backend_is_made_once_per_process(backend: SigningBackend) -> None:
    assert signing_backend() is backend


class UntrustedKeyBackend:
    """Keys from a CA nobody configured as trusted: the contract must catch it."""

    def __init__(self) -> None:
        self.ca = LocalCA(Path(settings.ECANCEL_KEYS_DIR) / "untrusted-signing-ca")
        self.signers: dict[str, Signer] = {}

    def signer(self, organisation: Organisation) -> Signer:
        subject = organisation_subject(organisation)
        return self.signers.setdefault(subject.key, InMemorySigner(self.ca.organisation(subject)))

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        return []


def test_the_contract_catches_keys_nobody_trusts(settings: Settings, notary_office: Organisation) -> None:
    settings.ECANCEL_SIGNING_BACKEND = f"{__name__}.UntrustedKeyBackend"

    with pytest.raises(AssertionError, match="not trusted here"):
        assert_signs_for(signing_backend(), notary_office)
