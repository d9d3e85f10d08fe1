"""Push, revoke, the notary office's answers and the buyers' submissions, in any order, with duplicates.

The filing side is the real one: its services, its exchange inbox (signed envelopes) and its database. The
notary office is a small reference model that answers as the real office does (accept, buyers submit, refuse,
revoke unless a buyer has submitted), so Hypothesis can interleave the two sides freely; the office's messages
reach the filing side in the order they were sent (the relay keeps one application's messages in order), and
any of them may arrive again at any time (a retry).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, User
from ecancel.audit.models import AuditEvent
from ecancel.cancellation.models import Application, PushOutcome, RevokeRequest
from ecancel.cancellation.selectors import application_get, application_qr
from ecancel.cancellation.services.drafting import application_create, application_set_reason
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.services.revoke import application_revoke
from ecancel.cancellation.transitions import MOVES, REVOKE_MOVES, RevokeStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.exchange.envelope import parse_envelope
from ecancel.exchange.errors import DuplicateMessage
from ecancel.exchange.models import InboxMessage, OutboxMessage
from ecancel.exchange.routing import route_to
from ecancel.exchange.services import inbox_accept, outbox_put
from ecancel.exchange.transitions import InboxStatus
from tests.factories import contract_with_buyers
from tests.messages import typed

CTX = RequestContext(ip="127.0.0.1", user_agent="pytest", via="test")
BUYERS = (1, 2)
APPLICATION_MOVES = {(before, after) for moves in MOVES.values() for before, after in moves.items()}
REVOKE_STEPS = {(before, after) for moves in REVOKE_MOVES.values() for before, after in moves.items()}


@dataclass
class OfficeCase:
    """The reference office's case of one pushed version."""

    version: int
    ref: uuid.UUID = field(default_factory=uuid.uuid4)
    status: str = "preparing"  # preparing, awaiting, under_review, revoked, refused, superseded
    submitted: set[int] = field(default_factory=set)

    @property
    def open(self) -> bool:
        return self.status in {"preparing", "awaiting", "under_review"}


class RevokeMachine(RuleBasedStateMachine):
    developer: Organisation
    office: Organisation
    operator: User

    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a transaction rolled back at its end, marked as a test case's own (as Django's
        # TestCase marks its), so that signing, which refuses to run inside a caller's transaction, still runs.
        self.atomic = transaction.atomic()
        self.atomic._from_testcase = True  # type: ignore[attr-defined]
        self.atomic.__enter__()
        self.actor = Actor.staff(self.operator)
        contract = contract_with_buyers(len(BUYERS), seller=self.developer)
        self.application_id = application_create(contract_id=contract.pk, actor=self.actor, ctx=CTX).pk
        application_set_reason(application_id=self.application_id, reason="mutual_agreement", actor=self.actor, ctx=CTX)
        self.cases: dict[int, OfficeCase] = {}
        self.read_from_filing = 0
        self.to_filing: list[OutboxMessage] = []  # sent by the office, in order
        self.delivered = 0
        self.ended: set[int] = set()  # versions whose case.revoked or case.refused the filing side received
        self.last = self._observe()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- what the filing side looks like ------------------------------------------------------------------------

    def application(self) -> Application:
        return application_get(seller=self.developer, application_id=self.application_id)

    def _observe(self) -> tuple[str, dict[uuid.UUID, str]]:
        application = Application.objects.get(pk=self.application_id)
        revokes = dict(RevokeRequest.objects.filter(application=application).values_list("pk", "status"))
        return application.status, revokes

    # --- the operator -------------------------------------------------------------------------------------------

    @rule()
    def operator_pushes(self) -> None:
        before = Application.objects.get(pk=self.application_id)
        try:
            application_push(
                application_id=self.application_id, notary_office_id=self.office.pk, actor=self.actor, ctx=CTX
            )
        except DomainError:
            after = Application.objects.get(pk=self.application_id)
            assert (after.status, after.version) == (before.status, before.version), "a refused push changed it"

    @rule(reason=st.sampled_from(["", "电话有误"]))
    def operator_revokes(self, reason: str) -> None:
        before = self._observe()
        try:
            application_revoke(application_id=self.application_id, reason=reason, actor=self.actor, ctx=CTX)
        except DomainError:
            assert self._observe() == before, "a refused revoke changed something"

    # --- the notary office --------------------------------------------------------------------------------------

    def _send(self, message_type: str, case: OfficeCase, **fields: Any) -> None:
        body = {"application_ref": str(self.application_id), "version": case.version, **fields}
        self.to_filing.append(outbox_put(sender=self.office, recipient=self.developer, body=typed(message_type, body)))

    @rule()
    def office_reads_what_the_filing_side_sent(self) -> None:
        sent = list(
            OutboxMessage.objects.filter(sender=self.developer, recipient=self.office).order_by("created_at", "pk")
        )
        for row in sent[self.read_from_filing :]:
            body = parse_envelope(bytes(row.raw)).body
            version = body["version"]
            if row.message_type in {"materials.pushed", "materials.repushed"}:
                for case in self.cases.values():
                    if case.open:
                        case.status = "superseded"
                self.cases[version] = OfficeCase(version)
            elif row.message_type == "revoke.requested":
                case = self.cases.get(version)
                now = timezone.now().isoformat()
                if case is not None and case.open and not case.submitted:
                    case.status = "revoked"
                    self._send("case.revoked", case, case_ref=str(case.ref), case_no=f"C{version}", revoked_at=now)
                elif case is not None:
                    self._send("revoke.refused", case, case_ref=str(case.ref), reason="买受人已提交", refused_at=now)
        self.read_from_filing = len(sent)

    def _open_case(self, status: str) -> OfficeCase | None:
        return next((c for c in self.cases.values() if c.status == status), None)

    @precondition(lambda self: self._open_case("preparing") is not None)
    @rule()
    def office_accepts(self) -> None:
        case = self._open_case("preparing")
        assert case is not None
        case.status = "awaiting"
        now = timezone.now()
        self._send(
            "case.accepted",
            case,
            case_ref=str(case.ref),
            case_no=f"C{case.version}",
            handoff_url=f"http://127.0.0.1:8000/h/{case.ref.hex}",
            handoff_expires_at=(now + dt.timedelta(days=7)).isoformat(),
            accepted_at=now.isoformat(),
        )

    @precondition(lambda self: self._open_case("awaiting") is not None)
    @rule(position=st.sampled_from(BUYERS))
    def buyer_submits(self, position: int) -> None:
        case = self._open_case("awaiting")
        assert case is not None
        if position in case.submitted:
            return
        case.submitted.add(position)
        now = timezone.now().isoformat()
        buyer = {"position": position, "name": f"买受人{position}", "verification": "face", "submitted_at": now}
        self._send("buyer.submitted", case, case_ref=str(case.ref), case_no=f"C{case.version}", buyer=buyer)
        if case.submitted == set(BUYERS):
            case.status = "under_review"
            everyone = [{**buyer, "position": p, "name": f"买受人{p}"} for p in sorted(case.submitted)]
            self._send(
                "buyers.submitted",
                case,
                case_ref=str(case.ref),
                case_no=f"C{case.version}",
                buyers=everyone,
                completed_at=now,
            )

    @precondition(lambda self: any(c.open for c in self.cases.values()))
    @rule()
    def office_refuses(self) -> None:
        case = next(c for c in self.cases.values() if c.open)
        case.status = "refused"
        self._send(
            "case.refused",
            case,
            case_ref=str(case.ref),
            case_no=f"C{case.version}",
            reason="材料不全",
            refused_at=timezone.now().isoformat(),
        )

    # --- the wire -----------------------------------------------------------------------------------------------

    def _deliver(self, row: OutboxMessage) -> InboxMessage:
        raw = bytes(row.raw)
        headers = route_to(self.developer).sign(
            sender=self.office, message_id=row.pk, raw=raw, timestamp=int(time.time())
        )
        try:
            return inbox_accept(raw, headers)
        except DuplicateMessage as duplicate:
            return duplicate.existing

    @precondition(lambda self: self.delivered < len(self.to_filing))
    @rule()
    def next_message_arrives(self) -> None:
        row = self.to_filing[self.delivered]
        received = self._deliver(row)
        self.delivered += 1
        if row.message_type in {"case.revoked", "case.refused"}:
            self.ended.add(parse_envelope(bytes(row.raw)).body["version"])
        assert received.status == InboxStatus.APPLIED, (received.message_type, received.reason)

    @precondition(lambda self: self.delivered > 0)
    @rule(data=st.data())
    def an_old_message_arrives_again(self, data: st.DataObject) -> None:
        row = self.to_filing[data.draw(st.integers(0, self.delivered - 1))]
        before = self._observe()
        events = AuditEvent.objects.count()
        received = self._deliver(row)
        assert received.pk == row.pk
        assert self._observe() == before, "a message applied twice"
        assert AuditEvent.objects.filter(data__message=str(row.pk)).count() <= 1
        assert AuditEvent.objects.count() - events <= 1, "only the duplicate's note may be written"

    # --- what must always hold ----------------------------------------------------------------------------------

    @invariant()
    def statuses_move_only_along_the_tables(self) -> None:
        status, revokes = self._observe()
        previous_status, previous_revokes = self.last
        assert status == previous_status or (previous_status, status) in APPLICATION_MOVES, (previous_status, status)
        for pk, revoke_status in revokes.items():
            before = previous_revokes.get(pk, RevokeStatus.PENDING)
            assert revoke_status == before or (before, revoke_status) in REVOKE_STEPS, (before, revoke_status)
        assert sum(s == RevokeStatus.PENDING for s in revokes.values()) <= 1
        self.last = (status, revokes)

    @invariant()
    def at_most_one_live_case(self) -> None:
        application = self.application()
        live = [p for p in application.pushes.all() if p.outcome in {PushOutcome.PENDING, PushOutcome.ACCEPTED}]
        assert len(live) <= 1
        assert all(p.version == application.version for p in live)
        assert sum(c.open for c in self.cases.values()) <= 1

    @invariant()
    def a_revoked_case_has_no_qr(self) -> None:
        application = self.application()
        qr = application_qr(application)
        if qr is None:
            return
        assert qr.version not in self.ended, "the QR of a case the office has closed"
        assert self.cases[qr.version].status != "preparing"
        assert application.revoke_pending is None

    @invariant()
    def every_message_is_applied_once(self) -> None:
        ids = [str(row.pk) for row in self.to_filing[: self.delivered]]
        assert InboxMessage.objects.filter(pk__in=ids).count() == len(ids)
        assert InboxMessage.objects.exclude(status=InboxStatus.APPLIED).count() == 0


@pytest.mark.slow
@pytest.mark.django_db
def test_push_revoke_and_answers_in_any_order(
    developer: Organisation, notary_office: Organisation, operator: User
) -> None:
    RevokeMachine.developer, RevokeMachine.office, RevokeMachine.operator = developer, notary_office, operator
    run_state_machine_as_test(
        RevokeMachine,
        settings=settings(
            max_examples=120,
            stateful_step_count=30,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
