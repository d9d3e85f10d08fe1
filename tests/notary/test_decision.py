"""不予办理 from the review page (issue 13, item 4): only a notary of the office decides, with a reason from the
shared list; the case closes, the seller is told by message and the buyers by notification."""

from __future__ import annotations

import pytest
from django.test import Client

from ecancel.accounts.models import NotaryOffice, Organisation, Role
from ecancel.audit.models import AuditEvent
from ecancel.exchange.envelope import parse_envelope
from ecancel.exchange.models import OutboxMessage
from ecancel.notary.models import NotaryCase, PartyRole
from ecancel.notary.transitions import OPEN_STATUSES, CaseStatus
from ecancel.notifications.models import Notification
from tests.conftest import logged_in_client
from tests.factories import NotaryOfficeFactory, UserFactory
from tests.notary.helpers import make_case
from tests.notary.review_data import under_review

pytestmark = pytest.mark.django_db


def staff(office: NotaryOffice, role: str) -> Client:
    return logged_in_client(UserFactory(organisation=office.organisation, role=role))


@pytest.fixture
def case(office: NotaryOffice, seller: Organisation) -> NotaryCase:
    return under_review(make_case(office, seller))


def refuse(client: Client, case: NotaryCase, **fields: str) -> int:
    data = {"reason_code": "identity_mismatch", "reason_text": "买受人1的人像与证件不符", "confirmed": "on", **fields}
    return client.post(f"/notary/review/{case.pk}/refuse/", data).status_code


def test_a_notary_refuses_and_the_seller_and_buyers_are_told(case: NotaryCase, office: NotaryOffice) -> None:
    notary = staff(office, Role.NOTARY)
    page = notary.get(f"/notary/review/{case.pk}/").content.decode()
    assert 'id="decision"' in page and "身份核验不一致" in page
    assert refuse(notary, case) == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.REFUSED and case.status not in OPEN_STATUSES
    assert case.closed_at is not None, "the case ended: its retention periods count from here"
    (sent,) = OutboxMessage.objects.filter(message_type="case.refused")
    body = parse_envelope(bytes(sent.raw)).body
    assert (body["code"], body["reason_code"], body["reason"]) == (
        "refused",
        "identity_mismatch",
        "买受人1的人像与证件不符",
    )
    assert AuditEvent.objects.filter(tag="notary.case.refused").count() == 1
    told = Notification.objects.filter(event="case.refused")
    assert told.count() == case.parties.filter(role=PartyRole.BUYER).count() > 0
    assert "已决定不予办理" in notary.get(f"/notary/review/{case.pk}/").content.decode()
    assert refuse(notary, case) == 409, "a refused case cannot be refused again"


def test_buyers_read_the_chosen_reason_in_their_own_language(case: NotaryCase, office: NotaryOffice) -> None:
    assert refuse(staff(office, Role.NOTARY), case, reason_code="document_invalid", reason_text="") == 302
    notification = Notification.objects.filter(event="case.refused").first()
    assert notification is not None
    title, body = notification.rendered("en")
    shown = (title + body).replace(case.case_number, "")  # the case number is a reference, not text
    assert not any("\u4e00" <= c <= "\u9fff" for c in shown), body
    assert notification.rendered("zh-hans")[1].endswith("理由：身份证件无效或已过期。")


def test_a_long_explanation_over_several_lines_still_refuses(case: NotaryCase, office: NotaryOffice) -> None:
    written = "买受人1的人像与证件不符。\r\n" + "请携带原件到公证处面签。" * 60
    assert refuse(staff(office, Role.NOTARY), case, reason_text=written) == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.REFUSED
    (sent,) = OutboxMessage.objects.filter(message_type="case.refused")
    assert parse_envelope(bytes(sent.raw)).body["reason"] == written.strip(), "the seller gets every word"
    body = Notification.objects.filter(event="case.refused").first().rendered("zh-hans")[1]  # type: ignore[union-attr]
    assert "\n" not in body and body.endswith("…") and "买受人1的人像与证件不符。 请携带原件" in body


@pytest.mark.parametrize(
    ("fields", "field_error"),
    [
        ({"reason_code": "other", "reason_text": ""}, "请写明具体原因"),
        ({"reason_code": "whatever"}, "reason_code"),
        ({"confirmed": ""}, "请勾选确认后再提交"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    case: NotaryCase, office: NotaryOffice, fields: dict[str, str], field_error: str
) -> None:
    notary = staff(office, Role.NOTARY)
    data = {"reason_code": "identity_mismatch", "reason_text": "", "confirmed": "on", **fields}
    response = notary.post(f"/notary/review/{case.pk}/refuse/", data)
    assert response.status_code in (400, 422)
    if not field_error.isascii():
        assert field_error in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.UNDER_REVIEW
    assert not OutboxMessage.objects.filter(message_type="case.refused").exists()


def test_only_a_notary_of_the_owning_office_decides(case: NotaryCase, office: NotaryOffice) -> None:
    clerk = staff(office, Role.NOTARY_CLERK)
    assert refuse(clerk, case) in (403, 404)
    assert refuse(staff(office, Role.NOTARY_ADMIN), case) == 403
    assert refuse(staff(NotaryOfficeFactory(), Role.NOTARY), case) == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.UNDER_REVIEW
