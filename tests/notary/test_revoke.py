"""Revoke (撤销申请) on the notary side, and the buyers' submissions that make it impossible."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.audit.models import AuditEvent
from ecancel.buyers.models import HandoffToken, InvalidationReason
from ecancel.buyers.services import IssuedHandoff, handoff_issue
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.exchange.messages import RevokeRequested
from ecancel.notary.models import IntakeRefusal, NotaryCase, PartyRole
from ecancel.notary.services.revoke import case_revoke
from ecancel.notary.services.submission import case_party_record_submission
from ecancel.notary.transitions import CaseStatus
from tests.factories import NotaryOfficeFactory
from tests.notary.helpers import make_case, send, sent

pytestmark = pytest.mark.django_db
CTX = RequestContext.system("test")


@pytest.fixture
def case_with_qr(office: NotaryOffice, seller: Organisation) -> tuple[NotaryCase, IssuedHandoff]:
    case = make_case(office, seller)
    return case, handoff_issue(case=case, actor=None, ctx=CTX)


def request_revoke(seller: Organisation, office: NotaryOffice, application_ref: Any, version: int = 1) -> None:
    send(
        sender=seller,
        recipient=office.organisation,
        message_type=RevokeRequested.TYPE,
        body={
            "application_ref": str(application_ref),
            "version": version,
            "reason": "买受人证件号码录入错误",
            "requested_at": timezone.now().isoformat(),
            "requested_by": "黄晓珺",
        },
    )


def submit(case: NotaryCase, position: int) -> None:
    party = case.parties.get(role=PartyRole.BUYER, position=position)
    case_party_record_submission(party_id=party.pk, verification="face", actor=None, ctx=CTX)


def test_revoke_closes_the_case_kills_the_qr_and_confirms(
    case_with_qr: tuple[NotaryCase, IssuedHandoff], seller: Organisation, office: NotaryOffice, client: Client
) -> None:
    case, handoff = case_with_qr
    assert client.get(f"/h/{handoff.raw}")["Location"] == "/b/"

    request_revoke(seller, office, case.application_ref)

    case.refresh_from_db()
    assert case.status == CaseStatus.REVOKED and case.closed_at is not None
    token = HandoffToken.objects.get(pk=handoff.token.pk)
    assert token.invalidated_reason == InvalidationReason.REVOKED and token.invalidated_at is not None
    (confirmation,) = sent(office.organisation, "case.revoked")
    assert confirmation["case_ref"] == str(case.pk) and confirmation["case_no"] == case.case_number
    assert confirmation["application_ref"] == str(case.application_ref)
    assert not sent(office.organisation, "revoke.refused")
    assert AuditEvent.objects.filter(tag="notary.case.revoked", object_id=str(case.pk)).exists()

    page = client.get(f"/h/{handoff.raw}")
    assert page.status_code == 410 and "二维码已失效" in page.content.decode()


def test_revoke_is_refused_once_a_buyer_has_submitted(
    case_with_qr: tuple[NotaryCase, IssuedHandoff], seller: Organisation, office: NotaryOffice, client: Client
) -> None:
    case, handoff = case_with_qr
    submit(case, 1)
    buyer = case.parties.get(position=1, role=PartyRole.BUYER)
    (progress,) = sent(office.organisation, "buyer.submitted")
    assert progress["buyer"]["position"] == 1 and progress["buyer"]["name"] == buyer.name

    request_revoke(seller, office, case.application_ref)

    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_BUYERS and case.closed_at is None
    (refusal,) = sent(office.organisation, "revoke.refused")
    assert buyer.name in refusal["reason"] and "不能撤销" in refusal["reason"]
    assert refusal["case_ref"] == str(case.pk)
    assert not sent(office.organisation, "case.revoked")
    assert AuditEvent.objects.filter(tag="notary.case.revoke_refused", result="denied").exists()
    assert client.get(f"/h/{handoff.raw}")["Location"] == "/b/"


def test_all_buyers_submitted_starts_review_and_tells_the_seller(
    case_with_qr: tuple[NotaryCase, IssuedHandoff], seller: Organisation, office: NotaryOffice
) -> None:
    case, _ = case_with_qr
    submit(case, 1)
    assert not sent(office.organisation, "buyers.submitted")
    submit(case, 2)
    case.refresh_from_db()
    assert case.status == CaseStatus.UNDER_REVIEW
    (done,) = sent(office.organisation, "buyers.submitted")
    assert [b["position"] for b in done["buyers"]] == [1, 2] and done["case_no"] == case.case_number

    request_revoke(seller, office, case.application_ref)
    (refusal,) = sent(office.organisation, "revoke.refused")
    assert "审核中" in refusal["reason"] or "已提交" in refusal["reason"]
    case.refresh_from_db()
    assert case.status == CaseStatus.UNDER_REVIEW


def test_submission_rules(case_with_qr: tuple[NotaryCase, IssuedHandoff]) -> None:
    case, _ = case_with_qr
    submit(case, 1)
    with pytest.raises(InvalidTransition) as twice:
        submit(case, 1)
    assert "不能重复提交" in twice.value.zh
    with pytest.raises(InvalidTransition) as refused:
        case_revoke(case_id=case.pk, actor=None, ctx=CTX)
    assert refused.value.code == "buyer_submitted"


def test_no_submission_after_revoke(case_with_qr: tuple[NotaryCase, IssuedHandoff]) -> None:
    case, _ = case_with_qr
    case_revoke(case_id=case.pk, actor=None, ctx=CTX)
    with pytest.raises(InvalidTransition) as refused:
        submit(case, 1)
    assert "已撤销" in refused.value.zh
    with pytest.raises(InvalidTransition):
        case_revoke(case_id=case.pk, actor=None, ctx=CTX)


def test_a_repeated_revoke_is_confirmed_again(
    case_with_qr: tuple[NotaryCase, IssuedHandoff], seller: Organisation, office: NotaryOffice
) -> None:
    case, _ = case_with_qr
    request_revoke(seller, office, case.application_ref)
    request_revoke(seller, office, case.application_ref)
    assert len(sent(office.organisation, "case.revoked")) == 2
    assert not sent(office.organisation, "revoke.refused")


def test_revoke_of_an_unknown_application_is_refused_with_the_reason(
    seller: Organisation, office: NotaryOffice
) -> None:
    request_revoke(seller, office, uuid.uuid4(), version=3)
    (refusal,) = sent(office.organisation, "revoke.refused")
    assert "未收到该申请第 3 版" in refusal["reason"]


def test_revoke_of_a_refused_push_repeats_the_refusal(seller: Organisation, office: NotaryOffice) -> None:
    refused = IntakeRefusal.objects.create(
        office=office,
        seller=seller,
        application_ref=uuid.uuid4(),
        application_version=1,
        source_message_id=uuid.uuid4(),
        contract_no="ZS2026000123",
        code="materials_invalid",
        reason="收到的材料未通过核验",
    )
    request_revoke(seller, office, refused.application_ref)
    (message,) = sent(office.organisation, "case.refused")
    assert message["code"] == "materials_invalid" and message["reason"] == refused.reason


def test_revoke_at_another_office_does_not_repeat_this_offices_refusal(
    seller: Organisation, office: NotaryOffice
) -> None:
    refused = IntakeRefusal.objects.create(
        office=office,
        seller=seller,
        application_ref=uuid.uuid4(),
        application_version=1,
        source_message_id=uuid.uuid4(),
        contract_no="ZS2026000124",
        code="materials_invalid",
        reason="收到的材料未通过核验",
    )
    elsewhere = NotaryOfficeFactory()
    request_revoke(seller, elsewhere, refused.application_ref)
    assert not sent(elsewhere.organisation, "case.refused")
    (refusal,) = sent(elsewhere.organisation, "revoke.refused")
    assert "未收到该申请第 1 版" in refusal["reason"]


def race(case: NotaryCase, *, revoke: bool) -> dict[str, str]:
    """The first buyer submitting from two tabs (and the seller revoking) at once: each outcome, "ok" or a code."""
    party_id = case.parties.get(position=1).pk
    results: dict[str, str] = {}
    actions: dict[str, Callable[[], object]] = {
        "submit": lambda: case_party_record_submission(party_id=party_id, verification="face", actor=None, ctx=CTX),
        "submit_again": lambda: case_party_record_submission(
            party_id=party_id, verification="face", actor=None, ctx=CTX
        ),
    }
    if revoke:
        actions["revoke"] = lambda: case_revoke(case_id=case.pk, actor=None, ctx=CTX)
    start = threading.Barrier(len(actions))

    def attempt(name: str) -> None:
        start.wait()
        try:
            actions[name]()
            results[name] = "ok"
        except InvalidTransition as refusal:
            results[name] = refusal.code
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(name,)) for name in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("revoke", [False, True], ids=["two_tabs", "two_tabs_and_revoke"])
def test_racing_submissions_and_revoke_have_one_winner(
    office: NotaryOffice, seller: Organisation, revoke: bool
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")
    for _ in range(5):
        case = make_case(office, seller, buyers=2)
        results = race(case, revoke=revoke)
        case.refresh_from_db()
        submitted_at = case.parties.get(position=1).submitted_at
        submissions = [results["submit"], results["submit_again"]].count("ok")
        progress = [m for m in sent(office.organisation, "buyer.submitted") if m["case_ref"] == str(case.pk)]
        assert len(progress) == submissions
        if results.get("revoke") == "ok":
            assert case.status == CaseStatus.REVOKED and submissions == 0 and submitted_at is None
        else:
            assert results.get("revoke", "buyer_submitted") == "buyer_submitted", results
            assert case.status == CaseStatus.AWAITING_BUYERS and submissions == 1 and submitted_at is not None
