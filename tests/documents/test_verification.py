"""verify_pdf: tampering of every kind, foreign CAs and unsigned or broken files are reported as not valid."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.documents.pki import trust_roots
from ecancel.documents.pki.backends import organisation_subject
from ecancel.documents.pki.local_ca import LocalCA, to_asn1
from ecancel.documents.render import RenderedDocument
from ecancel.documents.signing import Level, sign_pdf
from ecancel.documents.timestamps import local_authority
from ecancel.documents.verification import (
    BAD_SIGNATURE,
    CHANGED,
    EXPIRED,
    MALFORMED_SIGNATURE,
    MODIFIED_AFTER,
    NO_SIGNATURE,
    TRAILING_DATA,
    UNTRUSTED,
    NotAPdf,
    verify_pdf,
)
from tests.documents.signing_support import (
    append_page,
    fill_text_field,
    flip_byte,
    make_pdf,
    make_pdf_with_text_field,
    page_text,
    retitle,
    rewrite_text,
    rewrite_xmp,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(developer: Organisation) -> bytes:
    return sign_pdf(make_pdf(), organisation=developer)


@pytest.fixture
def signed_lta(notary_office: Organisation) -> bytes:
    return sign_pdf(make_pdf(), organisation=notary_office, level="B-LTA")


def test_a_flipped_byte_in_the_signed_content_is_detected(signed: bytes) -> None:
    tampered = flip_byte(signed, b"1580000.00")

    report = verify_pdf(tampered)

    assert not report.valid
    assert not report.signatures[0].intact
    assert CHANGED in report.problems


def signature_contents(pdf: bytes) -> tuple[int, bytes]:
    """Where the hex of the first signature's CMS starts, and the CMS itself."""
    start = pdf.index(b"/Contents <") + len(b"/Contents <")
    end = pdf.index(b">", start)
    return start, bytes.fromhex(pdf[start:end].decode())


def test_an_altered_signature_value_is_detected(signed: bytes) -> None:
    start, der = signature_contents(signed)
    value = cms.ContentInfo.load(der.rstrip(b"\0"))["content"]["signer_infos"][0]["signature"].native
    position = signed.lower().index(value.hex().encode(), start) + 10
    tampered = bytearray(signed)
    tampered[position] = ord("0") if tampered[position] != ord("0") else ord("1")

    report = verify_pdf(bytes(tampered))

    assert not report.valid
    assert report.signatures[0].intact and BAD_SIGNATURE in report.problems


def test_a_damaged_signature_container_is_reported_not_refused(signed: bytes) -> None:
    start, _ = signature_contents(signed)
    tampered = bytearray(signed)
    tampered[start + 40] = ord("0") if tampered[start + 40] != ord("0") else ord("1")

    report = verify_pdf(bytes(tampered))

    assert not report.valid
    assert report.signatures[0].field_name == "Signature1"
    assert report.problems == (MALFORMED_SIGNATURE,)


def test_an_appended_page_is_a_modification_after_signing(signed: bytes) -> None:
    extended = append_page(signed)
    assert extended.startswith(signed)

    report = verify_pdf(extended)

    assert not report.valid
    assert report.signatures[0].intact  # the signed bytes themselves are untouched...
    assert report.signatures[0].modified_after  # ...but the document shown is not what was signed
    assert MODIFIED_AFTER in report.problems


def test_changed_text_in_an_incremental_update_is_detected(signed: bytes) -> None:
    altered = rewrite_text(signed, "1580000.00", "1000000.00")
    assert "1000000.00" in page_text(altered)

    report = verify_pdf(altered)

    assert not report.valid
    assert MODIFIED_AFTER in report.problems


def test_changes_after_a_b_lta_archive_timestamp_are_detected(signed_lta: bytes) -> None:
    assert verify_pdf(signed_lta).valid

    report = verify_pdf(rewrite_text(signed_lta, "1580000.00", "1000000.00"))

    assert not report.valid
    assert MODIFIED_AFTER in report.problems


@pytest.mark.parametrize("level", ["B-T", "B-LTA"])
def test_an_update_that_only_rewrites_the_title_is_a_modification(
    rendered: dict[str, RenderedDocument], notary_office: Organisation, level: Level
) -> None:
    signed = sign_pdf(rendered["termination_agreement"].pdf, organisation=notary_office, level=level)
    assert verify_pdf(signed).valid

    for altered in (retitle(signed, "商品房买卖合同（补充）"), rewrite_xmp(signed, "终止协议", "补充协议")):
        report = verify_pdf(altered)

        assert not report.valid
        assert report.signatures[0].modified_after
        assert MODIFIED_AFTER in report.problems
        assert report.signatures[0].level == ""  # a level is named only for a signature that holds


def test_filling_a_form_field_after_signing_is_a_modification(developer: Organisation) -> None:
    signed = sign_pdf(make_pdf_with_text_field("price"), organisation=developer)
    assert verify_pdf(signed).valid

    report = verify_pdf(fill_text_field(signed, "price", "1000000.00"))

    assert not report.valid
    assert report.signatures[0].modified_after and MODIFIED_AFTER in report.problems


def test_bytes_appended_after_the_end_of_the_pdf_are_reported(signed: bytes) -> None:
    report = verify_pdf(signed + b"\n% appended later\n")

    assert not report.valid
    assert report.problems == (TRAILING_DATA,)


def test_a_signature_from_a_ca_this_deployment_does_not_know_is_untrusted(
    developer: Organisation, settings: Settings, tmp_path: Path
) -> None:
    settings.ECANCEL_KEYS_DIR = tmp_path / "another-deployment"
    foreign = sign_pdf(make_pdf(), organisation=developer)
    settings.ECANCEL_KEYS_DIR = Path(settings.DATA_DIR) / "keys"

    report = verify_pdf(foreign)

    assert not report.valid
    (signature,) = report.signatures
    assert signature.intact and not signature.trusted
    assert UNTRUSTED in report.problems


def test_trust_roots_can_be_pinned_by_the_caller(signed: bytes, tmp_path: Path) -> None:
    stranger = to_asn1(LocalCA(tmp_path).root().certificate)

    assert verify_pdf(signed, trust_roots=trust_roots()).valid
    pinned = verify_pdf(signed, trust_roots=[stranger])
    assert not pinned.valid
    assert not pinned.signatures[0].trusted and not pinned.signatures[0].timestamp_trusted


def test_a_pdf_without_signatures_is_not_valid_and_says_why() -> None:
    report = verify_pdf(make_pdf())

    assert not report.valid
    assert report.signatures == ()
    assert report.problems == (NO_SIGNATURE,)
    assert "没有数字签名" in str(report.problems[0])


@pytest.mark.parametrize(
    "content",
    [b"", b"hello", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"%PDF-1.7\nnot really", b"%PDF-1.7\n" + b"\xff" * 2000],
)
def test_garbage_is_refused_with_a_clear_error(content: bytes) -> None:
    with pytest.raises(NotAPdf) as refused:
        verify_pdf(content)
    assert "不是有效的 PDF" in refused.value.zh


def test_a_truncated_signed_pdf_is_refused_or_invalid(signed: bytes) -> None:
    try:
        report = verify_pdf(signed[: len(signed) // 2])
    except NotAPdf:
        return
    assert not report.valid


def test_a_b_lta_document_reports_its_archive_timestamp(signed_lta: bytes) -> None:
    report = verify_pdf(signed_lta)

    assert report.valid
    (signature,) = report.signatures
    assert signature.level == "B-LTA" and not signature.covers_whole_document and not signature.modified_after
    (archive,) = report.document_timestamps
    assert archive.valid and archive.time is not None and archive.authority == "ecancel 本地时间戳服务"
    assert json.loads(json.dumps(report.as_dict()))["document_timestamps"][0]["valid"] is True


def test_timestamp_tokens_leave_no_default_out_of_their_encoding() -> None:
    """asn1crypto rebuilds a left-out default as "changed", after which pyHanko re-encodes the token on every
    access (asn1crypto issue #256): single signatures took 6 to 30 seconds at random. The token names its
    certificate by SHA-512, which is always encoded; benchmarks/documents.py measures sign + verify."""
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": bytes(32)},
            "cert_req": True,
        }
    )
    response = tsp.TimeStampResp.load(local_authority().respond(request))
    (signer_info,) = response["time_stamp_token"]["content"]["signer_infos"]
    (attribute,) = [a for a in signer_info["signed_attrs"] if a["type"].native == "signing_certificate_v2"]
    (cert_id,) = attribute["values"][0]["certs"]
    assert cert_id["hash_algorithm"]["algorithm"].native == "sha512"
    assert cert_id["hash_algorithm"].contents, "encoded, not a rebuilt default"


def test_a_certificate_that_expired_after_a_trusted_timestamp_still_verifies(
    developer: Organisation, settings: Settings, tmp_path: Path
) -> None:
    """Signed while the certificate was valid, as the timestamp proves: still valid once it has expired;
    without a timestamp trusted here, the report says the certificate expired."""
    root = LocalCA(tmp_path / "organisation-ca").root()
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    short_lived = (
        x509.CertificateBuilder()
        .subject_name(organisation_subject(developer).x509_name())
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(root.private_key, hashes.SHA256())
    )
    p12 = tmp_path / "short.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"short", key, short_lived, [root.certificate], serialization.NoEncryption()
        )
    )
    settings.ECANCEL_SIGNING_BACKEND = "ecancel.documents.pki.PKCS12Backend"
    settings.ECANCEL_SIGNING_KEYS = {str(developer.pk): str(p12)}
    signed = sign_pdf(make_pdf(), organisation=developer)
    later = short_lived.not_valid_after_utc + dt.timedelta(days=1)

    with_tsa = verify_pdf(signed, trust_roots=[to_asn1(root.certificate), *trust_roots()], at=later)
    without_tsa = verify_pdf(signed, trust_roots=[to_asn1(root.certificate)], at=later)

    assert verify_pdf(signed, trust_roots=[to_asn1(root.certificate), *trust_roots()]).valid, "valid before expiry"
    assert with_tsa.valid, with_tsa.problems
    assert with_tsa.signatures[0].trusted
    assert EXPIRED in without_tsa.problems and UNTRUSTED not in without_tsa.problems
