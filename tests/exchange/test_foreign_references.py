"""No organisation reaches another's case through the exchange, in one deployment hosting several of each.

An attacker holds a valid key (its own) and knows the victim's application reference. It sends every
message type naming that reference: as a second developer (pushes, re-pushes, revoke), as a notary office
the application was never pushed to, and — the answers the victim's own office sends back to the attacker
when it refuses — as the right office writing to the wrong company. None of it may change the victim's
application, its notary case, its QR link or its next version.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, Role
from ecancel.audit.models import AuditEvent
from ecancel.cancellation.models import Application, PushOutcome
from ecancel.cancellation.selectors import application_qr
from ecancel.cancellation.services.drafting import application_create, application_set_reason
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.services.revoke import application_revoke
from ecancel.cancellation.transitions import ApplicationStatus, RevokeStatus
from ecancel.core.context import RequestContext
from ecancel.exchange.models import InboxMessage
from ecancel.exchange.routing import route_to
from ecancel.exchange.services import inbox_accept, outbox_put
from ecancel.exchange.transitions import InboxStatus
from ecancel.notary.models import IntakeRefusal, NotaryCase
from ecancel.notary.transitions import CaseStatus
from tests.factories import DeveloperFactory, NotaryOfficeFactory, UserFactory, contract_with_buyers
from tests.messages import typed
from tests.notary.helpers import filing_pdfs, push_body, relay_until_idle, send

pytestmark = pytest.mark.django_db
CTX = RequestContext(ip="127.0.0.1", user_agent="pytest", via="test")
ANSWER_TYPES = (
    "case.revoked",
    "revoke.refused",
    "case.refused",
    "buyer.started",
    "buyer.submitted",
    "buyers.submitted",
)


class World:
    """Two developers and two notary offices, all hosted here; the victim has one application."""

    def __init__(self) -> None:
        self.victim = DeveloperFactory().organisation
        self.attacker = DeveloperFactory().organisation
        self.office = NotaryOfficeFactory().organisation
        self.rogue_office = NotaryOfficeFactory().organisation
        self.actor = Actor.staff(UserFactory(organisation=self.victim, role=Role.OPERATOR, password=None))
        contract = contract_with_buyers(2, seller=self.victim)
        self.application = application_create(contract_id=contract.pk, actor=self.actor, ctx=CTX)
        application_set_reason(application_id=self.application.pk, reason="mutual_agreement", actor=self.actor, ctx=CTX)

    def push(self) -> None:
        application_push(
            application_id=self.application.pk,
            notary_office_id=self.office.pk,
            expected_version=self.current().version,
            actor=self.actor,
            ctx=CTX,
        )

    def revoke(self) -> None:
        application_revoke(application_id=self.application.pk, reason="电话有误", actor=self.actor, ctx=CTX)

    def current(self) -> Application:
        return Application.objects.get(pk=self.application.pk)

    def case(self, version: int = 1) -> NotaryCase:
        return NotaryCase.objects.get(application_ref=self.application.pk, application_version=version)

    def qr_path(self) -> str:
        push = application_qr(self.current())
        assert push is not None, self.current().status
        return urlsplit(push.handoff_url).path


@pytest.fixture
def world(db: None) -> World:
    return World()


def qr_page(client: Client, path: str) -> int:
    return client.get(path).status_code


def deliver_only(
    sender: Organisation, recipient: Organisation, message_type: str, body: dict[str, Any]
) -> InboxMessage:
    """One message, signed with the sender's own key and received at once, leaving every other message queued."""
    with transaction.atomic():
        row = outbox_put(sender=sender, recipient=recipient, body=typed(message_type, body))
    raw = bytes(row.raw)
    headers = route_to(recipient).sign(sender=sender, message_id=row.pk, raw=raw, timestamp=int(time.time()))
    return inbox_accept(raw, headers)


def answer(message_type: str, world: World) -> dict[str, Any]:
    """A well-formed answer about the victim's current version and case."""
    application, case = world.current(), world.case()
    now = timezone.now().isoformat()
    common = {"application_ref": str(application.pk), "version": application.version, "case_ref": str(case.pk)}
    submitted = {"position": 1, "name": "买受人", "verification": "face", "submitted_at": now}
    extra: dict[str, dict[str, Any]] = {
        "case.revoked": {"case_no": case.case_number, "revoked_at": now},
        "revoke.refused": {"reason": "不同意撤销", "refused_at": now},
        "case.refused": {"case_no": case.case_number, "code": "refused", "reason": "不予办理", "refused_at": now},
        "buyer.started": {"case_no": case.case_number, "buyer": {"position": 1, "started_at": now}},
        "buyer.submitted": {"case_no": case.case_number, "buyer": submitted},
        "buyers.submitted": {
            "case_no": case.case_number,
            "buyers": [submitted, {**submitted, "position": 2}],
            "completed_at": now,
        },
    }
    return {**common, **extra[message_type]}


def test_a_developer_cannot_push_or_revoke_under_another_developers_reference(world: World, client: Client) -> None:
    world.push()
    relay_until_idle()
    first_case, link = world.case(), world.qr_path()
    assert first_case.status == CaseStatus.AWAITING_BUYERS and qr_page(client, link) == 302

    files = filing_pdfs(world.attacker)
    reference = world.application.pk
    attacks = [
        ("materials.pushed", world.office, {"version": 1}),
        ("materials.pushed", world.office, {"version": 2}),
        ("materials.pushed", world.office, {"version": 99}),
        ("materials.repushed", world.office, {"version": 2, "changes": []}),
        ("materials.repushed", world.rogue_office, {"version": 3, "changes": []}),
    ]
    for message_type, office, options in attacks:
        body = push_body(seller=world.attacker, office=office, files=files, application_ref=reference, **options)
        send(sender=world.attacker, recipient=office, message_type=message_type, body=body, attachments=files)
    for office in (world.office, world.rogue_office):
        send(
            sender=world.attacker,
            recipient=office,
            message_type="revoke.requested",
            body={
                "application_ref": str(reference),
                "version": 1,
                "requested_at": timezone.now().isoformat(),
                "requested_by": "攻击者",
            },
        )

    # The victim's case, its QR link and its application are as they were.
    assert list(NotaryCase.objects.filter(application_ref=reference)) == [first_case]
    first_case.refresh_from_db()
    assert first_case.status == CaseStatus.AWAITING_BUYERS
    assert qr_page(client, link) == 302
    application = world.current()
    assert (application.status, application.version) == (ApplicationStatus.AWAITING_BUYERS, 1)
    assert world.qr_path() == link
    assert not IntakeRefusal.objects.filter(application_ref=reference).exists()
    # Each push was refused back to the attacker and audited; the answers about a reference that is not the
    # attacker's are refused by its side too.
    refused = AuditEvent.objects.filter(tag="notary.intake.refused", data__code="foreign_application")
    assert refused.count() == len(attacks)
    answers = InboxMessage.objects.filter(recipient=world.attacker)
    assert sorted(answers.values_list("message_type", flat=True)) == ["case.refused"] * 5 + ["revoke.refused"] * 2
    assert set(answers.values_list("status", flat=True)) == {InboxStatus.REJECTED}

    # The victim carries on: revoke, correct, push version 2 — a new case and a new working link.
    world.revoke()
    relay_until_idle()
    assert (world.current().status, world.current().version) == (ApplicationStatus.DRAFT, 2)
    assert qr_page(client, link) == 410
    world.push()
    relay_until_idle()
    second = world.case(2)
    assert second.status == CaseStatus.AWAITING_BUYERS and second.previous_case == first_case
    assert world.current().status == ApplicationStatus.AWAITING_BUYERS
    assert qr_page(client, world.qr_path()) == 302


def test_answers_about_another_companys_application_change_nothing(world: World, client: Client) -> None:
    senders = [
        (world.rogue_office, world.victim),  # an office the application was never pushed to
        (world.rogue_office, world.attacker),
        (world.office, world.attacker),  # the right office, addressed to another company
    ]
    world.push()  # queued, not yet delivered: the application waits for case.accepted
    for sender, recipient in senders:
        row = deliver_only(sender, recipient, "case.accepted", answer_for_pending(world))
        assert row.status == InboxStatus.REJECTED, (sender, recipient)
    application = world.current()
    assert application.status == ApplicationStatus.PUSHED
    assert application.pushes.get().outcome == PushOutcome.PENDING

    relay_until_idle()
    link = world.qr_path()
    assert qr_page(client, link) == 302
    world.revoke()  # queued: its revoke request waits until the office answers
    for message_type in ANSWER_TYPES:
        for sender, recipient in senders:
            row = deliver_only(sender, recipient, message_type, answer(message_type, world))
            assert row.status == InboxStatus.REJECTED, (message_type, sender, recipient)
    application = world.current()
    assert (application.status, application.version) == (ApplicationStatus.AWAITING_BUYERS, 1)
    assert application.revoke_requests.get().status == RevokeStatus.PENDING
    assert application.notary_message == ""
    assert not application.applicants.filter(submitted_at__isnull=False).exists()
    assert not application.applicants.filter(started_at__isnull=False).exists()
    assert application.pushes.get().outcome == PushOutcome.ACCEPTED
    assert world.case().status == CaseStatus.AWAITING_BUYERS and qr_page(client, link) == 302
    rejected = AuditEvent.objects.filter(tag="exchange.message.rejected")
    assert rejected.count() == len(senders) * (len(ANSWER_TYPES) + 1)

    # The real answers still work: the revoke is confirmed and version 2 is accepted with a new link.
    relay_until_idle()
    assert (world.current().status, world.current().version) == (ApplicationStatus.DRAFT, 2)
    assert qr_page(client, link) == 410
    world.push()
    relay_until_idle()
    assert world.current().status == ApplicationStatus.AWAITING_BUYERS
    assert world.case(2).status == CaseStatus.AWAITING_BUYERS
    assert qr_page(client, world.qr_path()) == 302


def answer_for_pending(world: World) -> dict[str, Any]:
    """case.accepted for the pushed version before the office opened a case (the forged case is random)."""
    application, now = world.current(), timezone.now().isoformat()
    return {
        "application_ref": str(application.pk),
        "version": application.version,
        "case_ref": "00000000-0000-4000-8000-000000000001",
        "case_no": "(2026)伪造第0001号",
        "handoff_url": "http://127.0.0.1:8000/h/forged",
        "handoff_expires_at": now,
        "accepted_at": now,
    }
