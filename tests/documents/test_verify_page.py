"""The public /verify/ page: upload a PDF, or look a certificate up by number and verification code."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.documents import views
from ecancel.documents.models import StoredDocument
from ecancel.documents.samples import SampleDocument
from ecancel.documents.services import document_issue
from ecancel.documents.signing import sign_pdf
from ecancel.documents.views import CODE_ACCEPTED, CODE_REFUSED
from tests.documents.signing_support import append_page, flip_byte, make_pdf, retitle

pytestmark = pytest.mark.django_db


def text(response: object) -> str:
    """The page's visible text, tags and runs of whitespace collapsed."""
    html = response.content.decode()  # type: ignore[attr-defined]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def upload(client: Client, content: bytes, name: str = "合同.pdf") -> object:
    return client.post("/verify/", {"file": SimpleUploadedFile(name, content, content_type="application/pdf")})


@pytest.fixture
def certificate(samples: dict[str, SampleDocument], notary_office: Organisation) -> StoredDocument:
    sample = samples["certificate"]
    return document_issue(
        kind=sample.template,
        data=sample.data,
        images=sample.images,
        issuer=notary_office,
        subject_ref="case:verify-page",
        reference_no=sample.reference_no,
        actor=None,
        ctx=RequestContext(ip="127.0.0.1"),
    )


def test_the_page_needs_no_login_and_offers_both_ways(client: Client) -> None:
    response = client.get("/verify/")

    assert response.status_code == 200
    page = text(response)
    assert "电子文书验证" in page and "上传 PDF 文件验证" in page and "按编号和验证码查询" in page
    assert 'name="viewport"' in response.content.decode()


def test_uploading_a_signed_pdf_shows_who_signed_it_and_that_it_is_valid(
    client: Client, developer: Organisation
) -> None:
    response = upload(client, sign_pdf(make_pdf(), organisation=developer))

    assert response.status_code == 200
    page = text(response)
    assert "验证通过" in page
    assert developer.name in page and developer.developer.credit_code in page
    assert "ecancel 本地时间戳服务" in page
    assert "PAdES B-T" in page


def test_uploading_a_tampered_pdf_says_not_valid_and_why(client: Client, developer: Organisation) -> None:
    signed = sign_pdf(make_pdf(), organisation=developer)

    flipped = text(upload(client, flip_byte(signed, b"1580000.00")))
    appended = text(upload(client, append_page(signed)))

    assert "验证未通过" in flipped and "签名后文件内容被改动" in flipped
    assert "验证未通过" in appended and "签名后文件被追加修改" in appended
    assert "PAdES" not in flipped and "PAdES" not in appended  # no level for a signature that does not hold


def test_a_signed_pdf_whose_title_was_rewritten_is_not_unchanged_since_signing(
    client: Client, notary_office: Organisation
) -> None:
    signed = sign_pdf(make_pdf(), organisation=notary_office, level="B-LTA")

    page = text(upload(client, retitle(signed, "已注销")))

    assert "验证未通过" in page and "签名后文件被追加修改" in page
    assert "PAdES B-LTA" not in page


def test_uploading_something_that_is_not_a_pdf_is_refused_clearly(client: Client) -> None:
    response = upload(client, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, name="photo.pdf")

    assert response.status_code == 400
    assert "文件不是有效的 PDF" in text(response)


def test_uploading_an_unsigned_pdf_says_it_carries_no_signature(client: Client) -> None:
    response = upload(client, make_pdf())

    assert response.status_code == 200
    assert "没有数字签名" in text(response)


def test_posting_without_a_file_asks_for_one(client: Client) -> None:
    response = client.post("/verify/", {})

    assert response.status_code == 400
    assert "请选择要验证的 PDF 文件" in text(response)


def test_a_malformed_content_length_is_a_clear_refusal_not_an_error_page(client: Client) -> None:
    response = client.post("/verify/", {}, CONTENT_LENGTH="12abc")

    assert response.status_code == 400
    assert "请选择要验证的 PDF 文件" in text(response)


def test_uploads_are_rate_limited_per_address(client: Client, settings: Settings) -> None:
    settings.ECANCEL_VERIFY_MAX_UPLOADS = 3
    for _ in range(3):
        assert upload(client, b"not a pdf").status_code == 400

    response = upload(client, make_pdf())

    assert response.status_code == 429
    assert "验证次数过多，请 10 分钟后再试" in text(response)
    assert "Too many checks" not in text(response)  # the page speaks its own language only
    assert 0 < int(response["Retry-After"]) <= 600
    assert AuditEvent.objects.filter(tag=views.UPLOADED).count() == 3
    other = client.post(
        "/verify/",
        {"file": SimpleUploadedFile("a.pdf", make_pdf(), content_type="application/pdf")},
        REMOTE_ADDR="198.51.100.20",
    )
    assert other.status_code == 200


def test_an_upload_over_the_limit_is_refused(client: Client, settings: Settings) -> None:
    settings.ECANCEL_VERIFY_MAX_BYTES = 1024

    response = upload(client, make_pdf() + b"%" * 200_000)

    assert response.status_code == 413
    assert "文件过大" in text(response)


def test_looking_up_a_certificate_by_number_and_code_reports_on_the_stored_file(
    client: Client, certificate: StoredDocument, notary_office: Organisation
) -> None:
    response = client.get("/verify/", {"no": certificate.reference_no, "code": certificate.verification_code})

    assert response.status_code == 200
    page = text(response)
    assert "验证通过" in page
    assert certificate.reference_no in page and notary_office.name in page
    assert certificate.sha256 in page
    assert "PAdES B-LTA" in page
    assert AuditEvent.objects.filter(tag=CODE_ACCEPTED, object_id=str(certificate.pk)).exists()
    assert "application/pdf" not in response["Content-Type"]  # the report, never the document


def test_the_code_is_forgiving_about_case_and_dashes(client: Client, certificate: StoredDocument) -> None:
    code = certificate.verification_code
    typed = f"{code[:4].lower()}-{code[4:8]} {code[8:]}"

    response = client.get("/verify/", {"no": certificate.reference_no, "code": typed})

    assert response.status_code == 200 and "验证通过" in text(response)


def test_a_wrong_code_is_refused_and_audited(client: Client, certificate: StoredDocument) -> None:
    response = client.get("/verify/", {"no": certificate.reference_no, "code": "AAAABBBBCCCC"})

    assert response.status_code == 404
    assert "文书编号或验证码不正确" in text(response)
    assert certificate.sha256 not in text(response)
    assert AuditEvent.objects.filter(tag=CODE_REFUSED, ip="127.0.0.1").count() == 1


def test_wrong_codes_are_rate_limited_per_address(client: Client, certificate: StoredDocument) -> None:
    for attempt in range(5):
        client.get("/verify/", {"no": certificate.reference_no, "code": f"WRONGCODE{attempt:03d}"})

    blocked = client.get("/verify/", {"no": certificate.reference_no, "code": certificate.verification_code})
    elsewhere = Client(REMOTE_ADDR="10.0.0.9").get(
        "/verify/", {"no": certificate.reference_no, "code": certificate.verification_code}
    )

    assert blocked.status_code == 429
    assert "验证码错误次数过多，请 15 分钟后再试" in text(blocked)
    assert "Too many wrong codes" not in text(blocked)
    assert 0 < int(blocked["Retry-After"]) <= 15 * 60
    assert elsewhere.status_code == 200


def test_wrong_codes_say_how_many_attempts_are_left(client: Client, certificate: StoredDocument) -> None:
    pages = [text(client.get("/verify/", {"no": certificate.reference_no, "code": f"WRONG{n:07d}"})) for n in range(2)]

    assert "还可尝试 4 次" in pages[0] and "还可尝试 3 次" in pages[1]


def test_the_qr_link_printed_on_the_certificate_opens_the_report(client: Client, certificate: StoredDocument) -> None:
    from ecancel.documents.services import verification_url

    link = verification_url(certificate.reference_no, certificate.verification_code)
    path = link.split("://", 1)[1].split("/", 1)[1]

    response = client.get("/" + path)

    assert response.status_code == 200 and "验证通过" in text(response)


def test_a_lookup_without_both_fields_asks_for_them(client: Client) -> None:
    response = client.get("/verify/", {"no": "(2026)粤中中证字第00012号", "code": ""})

    assert response.status_code == 400
    assert "请填写文书编号和验证码" in text(response)
