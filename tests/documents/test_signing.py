"""Signing: the local CA, PAdES B-T and B-LTA with a visible seal, several signers, the stamp font."""

from __future__ import annotations

import io
import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.test import Client
from pypdf import PdfReader
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.core.errors import ValidationFailed
from ecancel.documents.pki import organisation_signer, trust_roots
from ecancel.documents.pki.backends import organisation_subject
from ecancel.documents.pki.local_ca import LocalCA
from ecancel.documents.render import RenderedDocument
from ecancel.documents.signing import LEVELS, Level, sign_pdf, stamp_font
from ecancel.documents.timestamps import timestamper
from ecancel.documents.verification import verify_pdf
from tests.documents.signing_support import make_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return make_pdf()


def test_first_use_creates_a_local_ca_with_private_keys_only_the_owner_reads(developer: Organisation) -> None:
    organisation_signer(developer)
    keys = Path(settings.ECANCEL_KEYS_DIR)

    for key in [keys / "ca" / "root-key.pem", keys / "organisations" / f"{developer.pk}-key.pem"]:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    root = x509.load_pem_x509_certificate((keys / "ca" / "root.pem").read_bytes())
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_organisation_certificate_names_the_organisation_and_its_code(
    developer: Organisation, notary_office: Organisation
) -> None:
    ca = LocalCA(Path(settings.ECANCEL_KEYS_DIR))
    organisation_signer(developer)
    organisation_signer(notary_office)

    seller = x509.load_pem_x509_certificate((ca.directory / "organisations" / f"{developer.pk}.pem").read_bytes())
    office = x509.load_pem_x509_certificate((ca.directory / "organisations" / f"{notary_office.pk}.pem").read_bytes())
    assert seller.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == developer.name
    assert seller.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == developer.name
    assert seller.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == developer.developer.credit_code
    assert office.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == notary_office.notary_office.code
    usage = seller.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.content_commitment and usage.digital_signature and not usage.key_cert_sign
    assert (seller.not_valid_after_utc - seller.not_valid_before_utc).days > 3 * 365
    assert seller.issuer == ca.root().certificate.subject
    tsa = ca.timestamp_authority().certificate
    assert tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.TIME_STAMPING]
    )


def test_keys_are_loaded_once_per_process(developer: Organisation) -> None:
    assert organisation_signer(developer) is organisation_signer(developer)
    assert timestamper() is timestamper()
    assert stamp_font() is stamp_font()


def test_renamed_organisation_gets_a_new_certificate_and_the_old_one_is_kept(developer: Organisation) -> None:
    first = organisation_signer(developer)
    developer.name = "改名后的置业有限公司"
    developer.save(update_fields=["name"])

    second = organisation_signer(developer)

    assert second is not first
    assert second.signing_cert.subject.native["common_name"] == "改名后的置业有限公司"
    kept = list((Path(settings.ECANCEL_KEYS_DIR) / "organisations").glob(f"{developer.pk}.*.pem"))
    assert len(kept) == 1


def test_an_organisation_whose_name_is_longer_than_a_common_name_may_be_still_signs(
    pdf: bytes, developer: Organisation
) -> None:
    """A common name holds at most 64 bytes; a real company's Chinese name is often longer than 21 characters."""
    developer.name = "广东省中山市火炬高技术产业开发区某某房地产开发集团股份有限公司第一分公司"
    developer.save(update_fields=["name"])
    assert len(developer.name.encode()) > 64

    report = verify_pdf(sign_pdf(pdf, organisation=developer, reason="出具《测试文书》", location="中山市"))

    assert report.valid, report.problems
    assert report.signatures[0].signer_organisation == developer.name


CREATE_CA = """
import sys
from pathlib import Path
from cryptography.hazmat.primitives import hashes
from ecancel.documents.pki.local_ca import LocalCA, SubjectInfo
ca = LocalCA(Path(sys.argv[1]))
organisation = ca.organisation(SubjectInfo(key="org-1", name="并发测试有限公司"))
print(ca.root().certificate.fingerprint(hashes.SHA256()).hex(), organisation.certificate.serial_number)
"""


def test_two_processes_starting_at_once_create_one_ca(tmp_path: Path) -> None:
    runs = [
        subprocess.Popen([sys.executable, "-c", CREATE_CA, str(tmp_path)], stdout=subprocess.PIPE) for _ in range(4)
    ]
    outputs = {run.communicate(timeout=60)[0] for run in runs}

    assert all(run.returncode == 0 for run in runs)
    assert len(outputs) == 1
    assert sorted(p.name for p in (tmp_path / "ca").glob("*.pem")) == ["root-key.pem", "root.pem"]


def test_sign_b_t_gives_a_valid_timestamped_signature_with_a_visible_seal(pdf: bytes, developer: Organisation) -> None:
    signed = sign_pdf(pdf, organisation=developer, reason="出具《测试文书》", location="中山市")

    assert signed.startswith(pdf)  # an incremental update: the original bytes are untouched
    report = verify_pdf(signed)
    assert report.valid, report.problems
    (signature,) = report.signatures
    assert signature.field_name == "Signature1"
    assert signature.signer_organisation == developer.name
    assert signature.signer_code == developer.developer.credit_code
    assert signature.level == "B-T"
    assert signature.covers_whole_document and signature.trusted and signature.timestamp_trusted
    assert signature.timestamp_time is not None
    assert signature.timestamp_authority == "ecancel 本地时间戳服务"
    widget = PdfReader(io.BytesIO(signed)).pages[0]["/Annots"][0].get_object()
    assert widget["/Rect"][2] - widget["/Rect"][0] > 50  # visible, not a zero-size field
    appearance = widget["/AP"]["/N"].get_object()
    assert appearance["/Resources"]["/XObject"]  # the seal image and the stamp text


def test_sign_b_lta_adds_validation_data_and_a_document_timestamp(pdf: bytes, notary_office: Organisation) -> None:
    signed = sign_pdf(pdf, organisation=notary_office, level="B-LTA")

    report = verify_pdf(signed)
    assert report.valid, report.problems
    assert [s.level for s in report.signatures] == ["B-LTA"]
    assert len(report.document_timestamps) == 1 and report.document_timestamps[0].valid
    assert "/DSS" in PdfReader(io.BytesIO(signed)).trailer["/Root"]


def test_a_second_signer_adds_an_incremental_signature_and_both_stay_valid(
    pdf: bytes, developer: Organisation, notary_office: Organisation
) -> None:
    by_seller = sign_pdf(pdf, organisation=developer)
    both = sign_pdf(by_seller, organisation=notary_office, field_name="Signature2", box=(60, 60, 178, 192))

    report = verify_pdf(both)
    assert report.valid, report.problems
    first, second = report.signatures
    assert (first.signer_organisation, second.signer_organisation) == (developer.name, notary_office.name)
    assert not first.covers_whole_document and not first.modified_after
    assert second.covers_whole_document


def test_signing_a_field_that_is_already_signed_is_refused(pdf: bytes, developer: Organisation) -> None:
    signed = sign_pdf(pdf, organisation=developer)

    with pytest.raises(ValidationFailed) as refused:
        sign_pdf(signed, organisation=developer)
    assert "已经签署" in refused.value.zh


@pytest.mark.parametrize("content", [b"", b"not a pdf at all", b"%PDF-1.7\n1 0 obj <<"])
def test_signing_something_that_is_not_a_pdf_is_refused(content: bytes, developer: Organisation) -> None:
    with pytest.raises(ValidationFailed) as refused:
        sign_pdf(content, organisation=developer)
    assert "不是有效的 PDF" in refused.value.zh


def test_signing_on_a_page_that_does_not_exist_is_refused(pdf: bytes, developer: Organisation) -> None:
    with pytest.raises(ValidationFailed):
        sign_pdf(pdf, organisation=developer, page=7)


def test_unknown_level_is_a_programming_error(pdf: bytes, developer: Organisation) -> None:
    with pytest.raises(ValueError, match="level"):
        sign_pdf(pdf, organisation=developer, level="B-X")  # type: ignore[arg-type]


def fonts_of(pdf: Path) -> list[dict[str, str]]:
    """pdffonts' table: one row per font; columns end with emb, sub, uni, object number, generation."""
    lines = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
    return [{"name": row.split()[0], "emb": row.split()[-5]} for row in lines[2:]]


def test_the_stamp_font_is_embedded_so_a_pdf_a_document_stays_pdf_a(
    rendered: dict[str, object], developer: Organisation, tmp_path: Path
) -> None:
    original: bytes = rendered["cancellation_form"].pdf  # type: ignore[attr-defined]
    signed = sign_pdf(original, organisation=developer)
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)

    fonts = fonts_of(path)
    assert any("NotoSansCJKsc" in f["name"] for f in fonts)
    assert all(f["emb"] == "yes" for f in fonts), fonts
    metadata = PdfReader(io.BytesIO(signed)).xmp_metadata
    assert metadata is not None and metadata.get_element("", "http://www.aiim.org/pdfa/ns/id/", "part")
    assert verify_pdf(signed).valid


def test_stamp_font_is_a_small_cached_cjk_subset() -> None:
    data = stamp_font()
    cached = list((Path(settings.ECANCEL_KEYS_DIR) / "fonts").glob("stamp-*.otf"))

    assert len(cached) == 1 and cached[0].read_bytes() == data
    assert len(data) < 64 * 1024


def test_local_trust_is_this_deployments_root_only(settings: Settings, tmp_path: Path) -> None:
    mine = trust_roots()
    settings.ECANCEL_KEYS_DIR = tmp_path / "other-deployment"

    theirs = trust_roots()

    assert len(mine) == len(theirs) == 1
    assert mine[0].sha256 != theirs[0].sha256


def test_report_is_json_serialisable(pdf: bytes, developer: Organisation) -> None:
    report = verify_pdf(sign_pdf(pdf, organisation=developer))

    payload = json.loads(json.dumps(report.as_dict(), ensure_ascii=False))
    assert payload["valid"] is True
    assert payload["signatures"][0]["signer_organisation"] == developer.name


@pytest.mark.parametrize("level", LEVELS)
def test_signed_pdf_a_stays_at_the_pdf_version_its_xmp_declares(
    rendered: dict[str, RenderedDocument], developer: Organisation, notary_office: Organisation, level: Level
) -> None:
    """PDF/A-2 is PDF 1.7: an ECDSA signature must not mark the catalog /Version /2.0."""
    seller = sign_pdf(rendered["termination_agreement"].pdf, organisation=developer, level=level)
    both = sign_pdf(seller, organisation=notary_office, level=level, field_name="Signature2", box=(60, 60, 178, 192))

    catalog = PdfReader(io.BytesIO(both)).trailer["/Root"]
    header = re.match(rb"%PDF-(\d\.\d)", both)
    assert header is not None
    versions = [header.group(1).decode(), str(catalog.get("/Version", "/1.0")).lstrip("/")]
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    declared = re.search(r'pdf:PDFVersion(?:="|>)([\d.]+)', xmp)
    assert declared is not None and re.search(r'pdfaid:part(?:="|>)2', xmp)
    assert max(versions) == declared.group(1) == "1.7"
    extensions = catalog.get("/Extensions", {})
    for prefix, entries in extensions.items():
        for entry in entries if isinstance(entries, list) else [entries]:
            assert str(entry["/BaseVersion"]) <= "/1.7", prefix
    assert verify_pdf(both).valid


def test_certificates_name_the_crl_the_app_serves_signed_by_the_root(
    client: Client, developer: Organisation, settings: Settings
) -> None:
    settings.ECANCEL_PUBLIC_URL = "https://ecancel.example.test"
    organisation_signer(developer)
    timestamper()
    ca = LocalCA(Path(settings.ECANCEL_KEYS_DIR))
    certificates = [
        x509.load_pem_x509_certificate((ca.directory / "organisations" / f"{developer.pk}.pem").read_bytes()),
        x509.load_pem_x509_certificate((ca.directory / "ca" / "tsa.pem").read_bytes()),
    ]
    url = f"https://ecancel.example.test/pki/{ca.crl_name()}.crl"
    for certificate in certificates:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        assert [name.value for point in points for name in point.full_name or ()] == [url]

    response = client.get(url.removeprefix("https://ecancel.example.test"))

    assert response.status_code == 200 and response["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    root = ca.root().certificate
    assert crl.issuer == root.subject and crl.is_signature_valid(root.public_key())
    assert len(crl) == 0 and crl.next_update_utc is not None
    assert client.get("/pki/0123456789abcdef.crl").status_code == 404


def test_a_certificate_issued_without_the_crl_url_is_reissued_on_next_use(
    developer: Organisation, settings: Settings
) -> None:
    """Data directories from before the CRL: their certificates are replaced, the old ones kept."""
    old = LocalCA(Path(settings.ECANCEL_KEYS_DIR)).organisation(organisation_subject(developer)).certificate
    with pytest.raises(x509.ExtensionNotFound):
        old.extensions.get_extension_for_class(x509.CRLDistributionPoints)

    signer = organisation_signer(developer)

    assert signer.signing_cert.serial_number != old.serial_number
    assert signer.signing_cert.crl_distribution_points
    kept = Path(settings.ECANCEL_KEYS_DIR) / "organisations" / f"{developer.pk}.{old.serial_number:x}.pem"
    assert kept.is_file()
