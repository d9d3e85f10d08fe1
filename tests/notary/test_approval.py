"""核准出证 (issue 13, item 3): only a notary approves; the case takes the office's next certificate number, the
signed certificate (PAdES B-LTA, QR on every page) goes to the seller with certificate.issued, the case is archived
with a manifest of SHA-256 hashes, and the buyers are told."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import threading
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.db import OperationalError, close_old_connections, connection, transaction
from django.test import Client
from pypdf import PdfReader

from ecancel.accounts.models import SELF_TEST_SELLER_ID, NotaryOffice, Organisation, OrganisationKind, Role, User
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.demo.seed import organisation_id
from ecancel.documents.models import StoredDocument
from ecancel.documents.verification import verify_pdf
from ecancel.exchange.envelope import parse_envelope
from ecancel.exchange.models import OutboxMessage
from ecancel.exchange.transitions import OutboxStatus
from ecancel.identity.evidence import evidence_get
from ecancel.notary.models import CertificateNumberCounter, NotaryCase, PartyRole, ReceivedMaterial
from ecancel.notary.services.approval import case_approve, case_certify, cases_certify_pending
from ecancel.notary.services.decision import case_refuse
from ecancel.notary.transitions import CaseStatus
from ecancel.notifications.models import Notification
from ecancel.selftest.provision import SELLER as SELF_TEST_SELLER
from tests.conftest import logged_in_client
from tests.factories import NotaryOfficeFactory, UserFactory, paper_picture
from tests.notary.helpers import SELLER_PAPERS, make_case
from tests.notary.review_data import submitted_buyer, under_review

pytestmark = pytest.mark.django_db

SYSTEM = RequestContext.system("test")


def staff(office: NotaryOffice, role: str) -> Client:
    return logged_in_client(UserFactory(organisation=office.organisation, role=role, display_name="陈公证"))


def approve(client: Client, case: NotaryCase) -> int:
    return client.post(f"/notary/review/{case.pk}/approve/", {"approve-confirmed": "on"}).status_code


@pytest.fixture
def reviewed(received_case: NotaryCase) -> NotaryCase:
    """A pushed case (with the seller's papers) whose every buyer went the whole way on the phone."""
    for party in received_case.parties.filter(role=PartyRole.BUYER):
        submitted_buyer(received_case, party.position)
    return under_review(received_case)


@pytest.mark.postgres  # certifying locks the case with its office and approver joined
def test_a_notary_approves_and_the_signed_certificate_goes_to_the_seller(
    reviewed: NotaryCase, office: NotaryOffice
) -> None:
    notary = staff(office, Role.NOTARY)
    assert "核准出证" in notary.get(f"/notary/review/{reviewed.pk}/").content.decode()
    assert approve(notary, reviewed) == 302
    reviewed.refresh_from_db()
    year = reviewed.approved_at.astimezone(dt.timezone(dt.timedelta(hours=8))).year
    assert reviewed.status == CaseStatus.CERTIFYING
    assert reviewed.certificate_no == f"({year}){office.certificate_prefix}第0001号"

    assert cases_certify_pending(older_than=dt.timedelta(0), ctx=SYSTEM) == 1
    reviewed.refresh_from_db()
    assert reviewed.status == CaseStatus.CERTIFIED and reviewed.closed_at is not None

    (sent,) = OutboxMessage.objects.filter(message_type="certificate.issued")
    envelope = parse_envelope(bytes(sent.raw))
    assert envelope.body["certificate_no"] == reviewed.certificate_no
    assert envelope.body["notary_name"] == "陈公证"
    pdf = envelope.attachment_bytes("certificate.pdf")
    assert hashlib.sha256(pdf).hexdigest() == envelope.body["certificate"]["sha256"]
    report = verify_pdf(pdf)
    assert report.valid, report.problems
    assert {s.signer_organisation for s in report.signatures} == {office.organisation.name}
    assert report.document_timestamps, "B-LTA: a document timestamp keeps it verifiable long-term"
    pages = [page.extract_text().replace(" ", "") for page in PdfReader(io.BytesIO(pdf)).pages]
    assert reviewed.certificate_no in pages[0] and any("附件三" in page for page in pages)
    assert all("验证码" in page for page in pages), "every page carries the verification code beside its QR"

    stored = StoredDocument.objects.get(subject_ref=reviewed.subject_ref, kind="certificate")
    assert stored.sha256 == envelope.body["certificate"]["sha256"]
    assert stored.public_parties[0] == reviewed.seller_name
    assert all(name.count("*") for name in stored.public_parties[1:])

    archive = reviewed.archive
    listed = {entry["path"]: entry["sha256"] for entry in archive.manifest["files"]}
    with zipfile.ZipFile(io.BytesIO(evidence_get(archive.stored_name, actor=None, organisation=None, ctx=SYSTEM))) as z:
        for path, sha256 in listed.items():
            assert hashlib.sha256(z.read(path)).hexdigest() == sha256, path
        assert json.loads(z.read("MANIFEST.json"))["certificate_no"] == reviewed.certificate_no
    assert "documents/certificate.pdf" in listed
    assert any(p.startswith("received/business-licence") for p in listed)
    assert any(p.endswith("manifest.p7s") for p in listed)
    assert any("/uploads/document_front-" in p for p in listed)

    told = Notification.objects.filter(event="case.certified")
    assert told.count() == reviewed.parties.filter(role=PartyRole.BUYER).count()
    assert reviewed.certificate_no in told.first().body
    assert AuditEvent.objects.filter(tag="notary.case.approved").count() == 1
    assert AuditEvent.objects.filter(tag="notary.case.certified").count() == 1

    assert case_certify(case_id=reviewed.pk, ctx=SYSTEM) is False, "a second run changes nothing"
    assert OutboxMessage.objects.filter(message_type="certificate.issued").count() == 1
    assert approve(notary, reviewed) == 409


@pytest.mark.postgres  # certifying locks the case with its office and approver joined
def test_the_self_tests_certificate_is_numbered_outside_the_register_and_says_it_has_no_legal_effect(
    reviewed: NotaryCase, office: NotaryOffice, push: object
) -> None:
    self_test_seller = Organisation.objects.create(
        id=SELF_TEST_SELLER_ID, kind=OrganisationKind.DEVELOPER, name="ecancel 自检开发企业（测试）"
    )
    NotaryCase.objects.filter(pk=reviewed.pk).update(seller=self_test_seller)
    notary = staff(office, Role.NOTARY)

    assert approve(notary, reviewed) == 302
    reviewed.refresh_from_db()
    assert reviewed.certificate_no == f"({reviewed.year}){office.certificate_prefix}自检第{reviewed.sequence:04d}号"
    assert reviewed.certificate_sequence is None
    assert not CertificateNumberCounter.objects.filter(office=office).exists(), "the office's register is untouched"
    assert cases_certify_pending(older_than=dt.timedelta(0), ctx=SYSTEM) == 1

    stored = StoredDocument.objects.get(subject_ref=reviewed.subject_ref, kind="certificate")
    assert stored.self_test and "不具有法律效力" in stored.title
    pages = [page.extract_text().replace(" ", "") for page in PdfReader(stored.content.open("rb")).pages]
    assert all("系统自检文书" in page for page in pages)
    verified = Client().get("/verify/", {"no": stored.reference_no, "code": stored.verification_code})
    assert "data-self-test" in verified.content.decode()

    body = push()  # type: ignore[operator]
    real = NotaryCase.objects.get(application_ref=body["application_ref"])
    for party in real.parties.filter(role=PartyRole.BUYER):
        submitted_buyer(real, party.position)
    assert approve(notary, under_review(real)) == 302
    real.refresh_from_db()
    assert real.certificate_sequence == 1 and "自检" not in real.certificate_no, "a real case still starts the year"


def test_the_self_tests_seller_keeps_the_id_its_earlier_runs_gave_it() -> None:
    assert organisation_id(SELF_TEST_SELLER.name) == SELF_TEST_SELLER_ID


def resend(client: Client, case: NotaryCase) -> str:
    answer = client.post(f"/notary/review/{case.pk}/certificate/resend/", follow=True)
    assert answer.status_code == 200
    return answer.content.decode()


def test_a_certificate_the_filing_side_refused_is_sent_again_once_the_cause_is_fixed(
    reviewed: NotaryCase, office: NotaryOffice
) -> None:
    notary = staff(office, Role.NOTARY)
    assert approve(notary, reviewed) == 302
    assert cases_certify_pending(older_than=dt.timedelta(0), ctx=SYSTEM) == 1
    (sent,) = OutboxMessage.objects.filter(message_type="certificate.issued")
    page = notary.get(f"/notary/review/{reviewed.pk}/").content.decode()
    assert "正在发送至开发企业" in page and "重新发送公证书" not in page
    assert "无需重新发送" in resend(notary, reviewed), "nothing to resend while the first one is on its way"

    refusal = "公证书签章与登记的公证处证书不符 / the certificate's signer is not pinned for the office"
    OutboxMessage.objects.filter(pk=sent.pk).update(
        status=OutboxStatus.DELIVERED,
        delivered_at=dt.datetime.now(dt.UTC),
        remote_status="rejected",
        remote_note=refusal,
    )
    page = notary.get(f"/notary/review/{reviewed.pk}/").content.decode()
    assert "拒收了公证书" in page and refusal.split(" / ")[0] in page and "重新发送公证书" in page
    assert "已签章并由开发企业接收" not in page
    assert OutboxMessage.objects.filter(message_type="certificate.issued").count() == 1

    assert "公证书已重新发送" in resend(notary, reviewed)
    again = OutboxMessage.objects.filter(message_type="certificate.issued").exclude(pk=sent.pk).get()
    first, second = parse_envelope(bytes(sent.raw)), parse_envelope(bytes(again.raw))
    assert first.id != second.id and first.body["certificate"] == second.body["certificate"]
    reviewed.refresh_from_db()
    assert second.body["certificate_no"] == reviewed.certificate_no != ""
    assert second.attachment_bytes("certificate.pdf") == first.attachment_bytes("certificate.pdf")
    (event,) = AuditEvent.objects.filter(tag="notary.certificate.resent")
    assert event.data["previous_message"] == str(sent.pk) and refusal in event.data["previous_outcome"]
    assert "无需重新发送" in resend(notary, reviewed)
    assert OutboxMessage.objects.filter(message_type="certificate.issued").count() == 2


def test_only_a_refused_certificate_of_ones_own_office_is_resent(reviewed: NotaryCase, office: NotaryOffice) -> None:
    notary = staff(office, Role.NOTARY)
    assert approve(notary, reviewed) == 302
    assert cases_certify_pending(older_than=dt.timedelta(0), ctx=SYSTEM) == 1
    OutboxMessage.objects.filter(message_type="certificate.issued").update(status=OutboxStatus.FAILED)
    path = f"/notary/review/{reviewed.pk}/certificate/resend/"
    assert staff(NotaryOfficeFactory(), Role.NOTARY).post(path).status_code == 404
    assert staff(office, Role.NOTARY_CLERK).post(path).status_code in (403, 404)
    assert OutboxMessage.objects.filter(message_type="certificate.issued").count() == 1
    assert "未能送达" in notary.get(f"/notary/review/{reviewed.pk}/").content.decode()
    api_path = f"/api/notary/cases/{reviewed.pk}"
    assert notary.get(api_path).json()["certificate_delivery"] == "failed"
    answer = staff(office, Role.NOTARY_ADMIN).post(f"{api_path}/certificate/resend", content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["certificate_delivery"] == "sending"
    assert OutboxMessage.objects.filter(message_type="certificate.issued", status=OutboxStatus.PENDING).count() == 1
    refused = notary.post(f"{api_path}/certificate/resend", content_type="application/json")
    assert refused.status_code == 409 and refused.json()["code"] == "certificate_not_refused"


def test_a_notary_approves_through_the_api_once_confirmed(reviewed: NotaryCase, office: NotaryOffice) -> None:
    notary = staff(office, Role.NOTARY)
    path = f"/api/notary/cases/{reviewed.pk}/approve"
    unconfirmed = notary.post(path, {"confirmed": False}, content_type="application/json")
    assert unconfirmed.status_code == 422 and "confirmed" in unconfirmed.json()["fields"]
    reviewed.refresh_from_db()
    assert reviewed.status == CaseStatus.UNDER_REVIEW and not CertificateNumberCounter.objects.exists()

    answer = notary.post(path, {"confirmed": True}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == CaseStatus.CERTIFYING
    reviewed.refresh_from_db()
    assert reviewed.certificate_no and reviewed.approved_by is not None


def test_a_clerk_cannot_approve(reviewed: NotaryCase, office: NotaryOffice) -> None:
    clerk = staff(office, Role.NOTARY_CLERK)
    assert approve(clerk, reviewed) in (403, 404)
    reviewed.refresh_from_db()
    assert reviewed.status == CaseStatus.UNDER_REVIEW and reviewed.certificate_no == ""
    assert not CertificateNumberCounter.objects.exists()


def test_another_office_cannot_approve(reviewed: NotaryCase) -> None:
    other = NotaryOfficeFactory()
    assert approve(staff(other, Role.NOTARY), reviewed) == 404
    reviewed.refresh_from_db()
    assert reviewed.status == CaseStatus.UNDER_REVIEW


def test_a_case_lacking_papers_is_not_approved_and_takes_no_number(office: NotaryOffice, seller: Organisation) -> None:
    """A case without the seller's papers (an older push) or buyers' ID photos cannot be certified: approval
    says what is missing and leaves the number for the next case."""
    case = under_review(make_case(office, seller))
    notary = staff(office, Role.NOTARY)
    response = notary.post(f"/notary/review/{case.pk}/approve/", {"approve-confirmed": "on"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "营业执照" in page and "证件正面" in page
    case.refresh_from_db()
    assert case.status == CaseStatus.UNDER_REVIEW and case.certificate_no == ""
    assert not CertificateNumberCounter.objects.exists()


def test_approvals_take_consecutive_numbers_per_office_and_year(
    push: object, office: NotaryOffice, seller: Organisation
) -> None:
    notary = staff(office, Role.NOTARY)
    numbers = []
    for _ in range(3):
        body = push()  # type: ignore[operator]
        case = NotaryCase.objects.get(application_ref=body["application_ref"])
        for party in case.parties.filter(role=PartyRole.BUYER):
            submitted_buyer(case, party.position)
        under_review(case)
        assert approve(notary, case) == 302
        case.refresh_from_db()
        numbers.append(case.certificate_sequence)
    assert numbers == [1, 2, 3]


def add_seller_papers(case: NotaryCase) -> None:
    """The licence and the legal representative's ID, as a push carries them."""
    for name, (kind, _title) in SELLER_PAPERS.items():
        content = paper_picture((120, 130, len(name)))
        material = ReceivedMaterial(
            case=case,
            kind=kind,
            attachment_name=name,
            content_type="image/png",
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            received_at=case.received_at,
        )
        material.content.save(name, ContentFile(content), save=False)
        material.save()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_notaries_approving_at_once_get_distinct_consecutive_numbers(
    monkeypatch: pytest.MonkeyPatch, seller: Organisation
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")
    # The numbers are the point here; the certificates' signing is tested above.
    monkeypatch.setattr("ecancel.notary.services.approval._queue_certification", lambda case_id: None)
    office: NotaryOffice = NotaryOfficeFactory()
    cases = []
    for _ in range(6):
        case = make_case(office, seller)
        add_seller_papers(case)
        for position in (1, 2):
            submitted_buyer(case, position)
        cases.append(under_review(case))
    notaries = [UserFactory(organisation=office.organisation, role=Role.NOTARY) for _ in range(2)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def approve_half(notary: User, mine: list[NotaryCase]) -> None:
        try:
            start.wait()
            for case in mine:
                case_approve(case_id=case.pk, actor=notary, ctx=SYSTEM)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [
        threading.Thread(target=approve_half, args=(notaries[0], cases[0::2])),
        threading.Thread(target=approve_half, args=(notaries[1], cases[1::2])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    numbered = NotaryCase.objects.filter(pk__in=[c.pk for c in cases])
    assert sorted(numbered.values_list("certificate_sequence", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert len(set(numbered.values_list("certificate_no", flat=True))) == 6
    assert CertificateNumberCounter.objects.get(office=office).last == 6


def _office_and_seller_rows_free(case: NotaryCase) -> bool:
    """Whether another transaction could lock the office's and the seller's rows now (without waiting)."""
    answer: list[bool] = []

    def probe() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM accounts_organisation WHERE id IN (%s, %s) FOR NO KEY UPDATE NOWAIT",
                    [case.office.organisation_id, case.seller_id],
                )
            answer.append(True)
        except OperationalError:
            answer.append(False)
        finally:
            connection.close()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return answer[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("decide", ["approve", "refuse"])
def test_deciding_a_case_locks_the_case_not_its_office_or_seller(
    decide: str, monkeypatch: pytest.MonkeyPatch, seller: Organisation
) -> None:
    """Row locks taken with the case's joins would hold every other case of the office and of the seller."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")
    monkeypatch.setattr("ecancel.notary.services.approval._queue_certification", lambda case_id: None)
    office: NotaryOffice = NotaryOfficeFactory()
    case = make_case(office, seller)
    add_seller_papers(case)
    for position in (1, 2):
        submitted_buyer(case, position)
    case = under_review(case)
    notary = UserFactory(organisation=office.organisation, role=Role.NOTARY)
    with transaction.atomic():
        if decide == "approve":
            case_approve(case_id=case.pk, actor=notary, ctx=SYSTEM)
        else:
            case_refuse(case_id=case.pk, reason_code="other", reason_text="材料不齐", actor=notary, ctx=SYSTEM)
        assert _office_and_seller_rows_free(case)
