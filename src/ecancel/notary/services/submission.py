"""The buyers' submissions: each one told to the seller, and the case moved to review once all are in and their
evidence is sealed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.buyers.models import Manifest
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.exchange.messages import BuyersSubmitted, BuyerStarted, BuyerSubmitted, StartedBuyer, SubmittedBuyer
from ecancel.notary.models import CaseParty, NotaryCase, PartyRole
from ecancel.notary.transitions import CaseStatus, case_transition

if TYPE_CHECKING:
    from ecancel.accounts.models import User
from ecancel.notary.services.common import submitted_buyers, tell_buyer, tell_buyers, tell_seller


@transaction.atomic
def case_party_record_start(*, party_id: UUID, started_at: datetime, ctx: RequestContext) -> None:
    """A buyer began on their phone: the seller's page shows them 进行中 (nothing changes on the case)."""
    case_id = CaseParty.objects.filter(pk=party_id, role=PartyRole.BUYER).values_list("case_id", flat=True).get()
    case = (
        NotaryCase.objects.select_related("office__organisation", "seller")
        .select_for_update(of=("self",))
        .get(pk=case_id)
    )
    party = CaseParty.objects.get(pk=party_id)
    if case.status != CaseStatus.AWAITING_BUYERS:
        raise InvalidTransition(
            _("案件状态为「%(status)s」，不再接受买受人办理"), params={"status": CaseStatus(case.status).label}
        )
    record_event(
        "notary.party.started",
        organisation=case.office.organisation,
        obj=party,
        data={"case": str(case.pk)},
        ctx=ctx,
    )
    tell_seller(case, BuyerStarted, buyer=StartedBuyer(position=party.position, started_at=started_at))


@transaction.atomic
def case_party_record_submission(
    *,
    party_id: UUID,
    verification: Literal["face", "document_video"],
    actor: User | None,
    ctx: RequestContext,
) -> CaseParty:
    """A buyer finished on their phone; once every buyer has, the case moves to review."""
    case_id = CaseParty.objects.filter(pk=party_id, role=PartyRole.BUYER).values_list("case_id", flat=True).get()
    # The case row is the lock every change of the case takes (revoke too), so a revoke and a submission
    # racing each other are decided one after the other; the party is read again under that lock.
    case = (
        NotaryCase.objects.select_related("office__organisation", "seller")
        .select_for_update(of=("self",))
        .get(pk=case_id)
    )
    party = CaseParty.objects.get(pk=party_id)
    if case.status != CaseStatus.AWAITING_BUYERS:
        raise InvalidTransition(
            _("案件状态为「%(status)s」，不再接受买受人提交"), params={"status": CaseStatus(case.status).label}
        )
    if party.submitted_at is not None:
        raise InvalidTransition(
            _("%(party_name)s已提交，不能重复提交"), code="already_submitted", params={"party_name": party.name}
        )
    party.submitted_at, party.verification = timezone.now(), verification
    party.save(update_fields=["submitted_at", "verification", "updated_at"])
    record_event(
        "notary.party.submitted",
        actor=actor,
        organisation=case.office.organisation,
        obj=party,
        data={"case": str(case.pk), "verification": verification},
        ctx=ctx,
    )
    submitted = SubmittedBuyer(
        position=party.position, name=party.name, verification=verification, submitted_at=party.submitted_at
    )
    tell_seller(case, BuyerSubmitted, buyer=submitted)
    tell_buyer(party, "buyer.submitted", ctx=ctx)
    _start_review_when_ready(case, ctx=ctx)
    return party


@transaction.atomic
def case_review_start(*, case_id: UUID, ctx: RequestContext) -> bool:
    """Move a case waiting for its buyers to review if it is ready now (a buyer's evidence was just sealed);
    False if it is not, or no longer waits for buyers."""
    case = (
        NotaryCase.objects.select_related("office__organisation", "seller")
        .select_for_update(of=("self",))
        .get(pk=case_id)
    )
    if case.status != CaseStatus.AWAITING_BUYERS:
        return False
    return _start_review_when_ready(case, ctx=ctx)


def _start_review_when_ready(case: NotaryCase, *, ctx: RequestContext) -> bool:
    """公证审核中 once every buyer has submitted and the evidence of each is sealed (the worker seals a buyer's
    manifest after the submission commits, and asks again then). The caller holds the case's row lock."""
    buyers = submitted_buyers(case)
    if not buyers or case.parties.filter(role=PartyRole.BUYER, submitted_at__isnull=True).exists():
        return False
    if Manifest.objects.filter(journey__case=case, sealed_at__isnull=True).exists():
        return False
    case.status = case_transition(case, "start_review")
    case.save(update_fields=["status", "updated_at"])
    record_event("notary.case.review_started", organisation=case.office.organisation, obj=case, ctx=ctx)
    tell_buyers(case, "case.under_review", ctx=ctx)
    tell_seller(
        case,
        BuyersSubmitted,
        buyers=[
            SubmittedBuyer.model_validate(
                {
                    "position": p.position,
                    "name": p.name,
                    "verification": p.verification,
                    "submitted_at": p.submitted_at,
                }
            )
            for p in buyers
        ],
        completed_at=max(p.submitted_at for p in buyers if p.submitted_at is not None),
    )
    return True
