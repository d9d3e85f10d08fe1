"""我的: a buyer finds their applications from the phone they used or by a confirmed number, never by an id alone,
follows status and timeline, and gets one message per status change on the channels they chose."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from pytest_django import Settings

from ecancel.notary.models import CaseParty, PartyRole
from ecancel.notary.services.revoke import case_revoke
from ecancel.notary.services.submission import case_party_record_submission
from ecancel.notifications import channels
from ecancel.notifications.channels import OutgoingMessage
from ecancel.notifications.models import Notification
from tests.buyers.journey import CTX, Phone, case_for_buyers, qr
from tests.buyers.test_journey_pages import mainland_to_done

pytestmark = pytest.mark.django_db

Capture = Callable[..., AbstractContextManager[Any]]


@pytest.fixture(autouse=True)
def null_identity(settings: Settings) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {}


@pytest.fixture
def sent(settings: Settings) -> Iterator[list[OutgoingMessage]]:
    settings.ECANCEL_SMS_BACKEND = "memory"
    settings.ECANCEL_WECHAT_BACKEND = "memory"
    channels.sent_messages.clear()
    yield channels.sent_messages
    channels.sent_messages.clear()


def buyer(case: Any, position: int) -> CaseParty:
    return CaseParty.objects.get(case=case, role=PartyRole.BUYER, position=position)


def test_the_phone_that_submitted_sees_its_case_status_timeline_and_message(
    office: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    case = case_for_buyers(office)
    phone = Phone(django_capture_on_commit_callbacks)
    mainland_to_done(phone, qr(case))

    listing = phone.get("/b/mine/").content.decode()
    assert case.case_number in listing
    assert 'data-status="pending"' in listing and "等待其他买受人" in listing
    detail = phone.get(f"/b/mine/{case.pk}/").content.decode()
    assert "认证材料已提交" in detail  # in the timeline and as an in-app message
    assert Notification.objects.filter(recipient=f"buyer:{buyer(case, 1).pk}", event="buyer.submitted").count() == 1


def test_a_stranger_reaches_no_case_even_with_its_id(office: Any, django_capture_on_commit_callbacks: Capture) -> None:
    case = case_for_buyers(office)
    mainland_to_done(Phone(django_capture_on_commit_callbacks), qr(case))

    stranger = Phone(django_capture_on_commit_callbacks, ip="198.51.100.9")
    assert case.case_number not in stranger.get("/b/mine/").content.decode()
    answer = stranger.get(f"/b/mine/{case.pk}/")
    assert answer.status_code == 404 and case.case_number not in answer.content.decode()
    refused = stranger.post(f"/b/mine/{case.pk}/subscribe/", {"sms": "on", "phone": "13900001111"})
    assert refused.status_code == 404


def test_a_confirmed_phone_number_finds_the_buyers_cases_on_any_phone(
    office: Any, sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Capture
) -> None:
    case = case_for_buyers(office)
    number = buyer(case, 2).phone
    other_phone = Phone(django_capture_on_commit_callbacks, ip="198.51.100.10")

    wrong = other_phone.post("/b/mine/verify/", {"phone": number, "code": "000000"})
    assert wrong.status_code == 422 and case.case_number not in wrong.content.decode()

    asked = other_phone.post("/b/mine/code/", {"phone": number})
    assert asked.status_code == 200 and 'name="code"' in asked.content.decode()
    code = re.search(r"\d{6}", sent[-1].body)
    assert code is not None and sent[-1].event == "one_time_code"
    assert other_phone.post("/b/mine/verify/", {"phone": number, "code": code.group(0)})["Location"] == "/b/mine/"

    listing = other_phone.get("/b/mine/").content.decode()
    assert case.case_number in listing and 'data-status="pending"' in listing
    assert other_phone.get(f"/b/mine/{case.pk}/").status_code == 200
    # Forgetting the number hides the case again on this phone.
    other_phone.post("/b/mine/leave/")
    assert other_phone.get(f"/b/mine/{case.pk}/").status_code == 404


def test_a_subscribed_buyer_gets_one_sms_per_status_change(
    office: Any, sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Capture
) -> None:
    case = case_for_buyers(office)
    handoff = qr(case)
    first = Phone(django_capture_on_commit_callbacks)
    mainland_to_done(first, handoff, position=1)
    subscribed = first.post(f"/b/mine/{case.pk}/subscribe/", {"sms": "on", "phone": "13912345678"})
    assert subscribed["Location"] == f"/b/mine/{case.pk}/"

    # The other buyer submits (their phone journey is tested elsewhere): the case moves to review.
    with django_capture_on_commit_callbacks(execute=True):
        case_party_record_submission(party_id=buyer(case, 2).pk, verification="face", actor=None, ctx=CTX)

    to_first = [m for m in sent if m.address == "+8613912345678"]
    assert [m.event for m in to_first] == ["case.under_review"]
    listing = first.get("/b/mine/").content.decode()
    assert 'data-status="reviewing"' in listing
    notes = Notification.objects.filter(recipient=f"buyer:{buyer(case, 1).pk}").values_list("event", flat=True)
    assert sorted(notes) == ["buyer.submitted", "case.under_review"]


def test_a_revoked_case_shows_as_revoked_with_its_message(
    office: Any, sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Capture
) -> None:
    case = case_for_buyers(office)
    phone = Phone(django_capture_on_commit_callbacks)
    phone.scan(qr(case))
    phone.post("/b/choose/", {"buyer": 1})
    phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})
    phone.post(f"/b/mine/{case.pk}/subscribe/", {"sms": "on", "phone": "13912345678"})

    with django_capture_on_commit_callbacks(execute=True):
        case_revoke(case_id=case.pk, actor=None, ctx=CTX)

    detail = phone.get(f"/b/mine/{case.pk}/").content.decode()
    assert 'data-status="revoked"' in detail and "申请已撤销" in detail
    assert [m.event for m in sent if m.address == "+8613912345678"] == ["case.revoked"]


def test_subscribing_needs_a_valid_number_and_changes_nothing_otherwise(
    office: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    case = case_for_buyers(office)
    phone = Phone(django_capture_on_commit_callbacks)
    mainland_to_done(phone, qr(case))
    refused = phone.post(f"/b/mine/{case.pk}/subscribe/", {"sms": "on", "phone": "12"})
    assert refused.status_code == 422 and 'role="alert"' in refused.content.decode()
    assert 'name="sms" checked' not in phone.get(f"/b/mine/{case.pk}/").content.decode()
