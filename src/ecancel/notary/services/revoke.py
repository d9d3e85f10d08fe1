"""Revoking a case: the seller's request (confirmed or refused) and the office's own decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation
from ecancel.audit.services import record_event
from ecancel.buyers.models import InvalidationReason
from ecancel.buyers.services import handoff_revoke
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, InvalidTransition, Joined
from ecancel.exchange.messages import CaseRevoked, RevokeRefused
from ecancel.exchange.services import outbox_put
from ecancel.notary.models import IntakeRefusal, NotaryCase
from ecancel.notary.transitions import CaseStatus, case_transition

if TYPE_CHECKING:
    from ecancel.accounts.models import User
from ecancel.notary.services.common import submitted_buyers, tell_buyers, tell_seller
from ecancel.notary.services.intake import refusal_send


@transaction.atomic
def case_revoke(*, case_id: UUID, actor: User | None, ctx: RequestContext) -> NotaryCase:
    """The seller withdrew: close the case, kill its QR link, confirm with case.revoked.

    Refused once any buyer has submitted: their evidence is part of a notarial record now.
    """
    case = (
        NotaryCase.objects.select_related("office__organisation", "seller")
        .select_for_update(of=("self",))
        .get(pk=case_id)
    )
    submitted = submitted_buyers(case)
    if submitted:
        raise InvalidTransition(
            _("买受人%(names)s已提交认证材料，公证处不能撤销该申请；如需更正，请联系公证处办理不予办理后重新申请"),
            params={"names": Joined(p.name for p in submitted)},
            code="buyer_submitted",
        )
    new_status = case_transition(case, "revoke")
    now = timezone.now()
    case.status, case.closed_at, case.closed_reason = new_status, now, "开发企业撤销申请"
    case.save(update_fields=["status", "closed_at", "closed_reason", "updated_at"])
    handoff_revoke(case=case, reason=InvalidationReason.REVOKED, actor=actor, ctx=ctx)
    record_event("notary.case.revoked", actor=actor, organisation=case.office.organisation, obj=case, ctx=ctx)
    tell_buyers(case, "case.revoked", ctx=ctx)
    _send_revoked(case=case)
    return case


@dataclass(frozen=True)
class RevokeRequest:
    message_id: UUID
    sender: Organisation
    recipient: Organisation
    application_ref: UUID
    version: int
    requested_by: str
    reason: str


@transaction.atomic
def revoke_request_handle(*, request: RevokeRequest, ctx: RequestContext) -> NotaryCase | None:
    """Answer a seller's revoke: case.revoked when the case could be closed, revoke.refused with the reason if not."""
    case = (
        NotaryCase.objects.filter(
            application_ref=request.application_ref,
            application_version=request.version,
            seller=request.sender,
            office__organisation=request.recipient,
        )
        .select_related("office__organisation")
        .first()
    )
    if case is None:
        _revoke_without_case(request=request, ctx=ctx)
        return None
    if case.status == CaseStatus.REVOKED:
        _send_revoked(case=case)
        return case
    record_event(
        "notary.case.revoke_requested",
        organisation=case.office.organisation,
        obj=case,
        data={"by": request.requested_by, "reason": request.reason},
        ctx=ctx,
    )
    try:
        return case_revoke(case_id=case.pk, actor=None, ctx=ctx)
    except DomainError as refusal:
        _refuse_revoke(request=request, reason=refusal.zh, ctx=ctx, case=case, code=refusal.code)
        return case


def _refuse_revoke(
    *, request: RevokeRequest, reason: str, ctx: RequestContext, case: NotaryCase | None = None, code: str = ""
) -> None:
    """Tell the seller why the revoke cannot happen (revoke.refused); the case stays as it was."""
    record_event(
        "notary.case.revoke_refused",
        organisation=request.recipient,
        obj=case,
        data={
            "application": str(request.application_ref),
            "version": request.version,
            "code": code or "case_not_found",
            "reason": reason,
        },
        ctx=ctx,
        result="denied",
    )
    outbox_put(
        sender=request.recipient,
        recipient=request.sender,
        body=RevokeRefused(
            application_ref=request.application_ref,
            version=request.version,
            case_ref=case.pk if case is not None else None,
            reason=reason,
            refused_at=timezone.now(),
        ),
    )


def _send_revoked(*, case: NotaryCase) -> None:
    """Confirm the revoke; sent again, unchanged, for a case already closed by an earlier request."""
    tell_seller(case, CaseRevoked, revoked_at=case.closed_at or timezone.now())


def _revoke_without_case(*, request: RevokeRequest, ctx: RequestContext) -> None:
    refused = IntakeRefusal.objects.filter(
        application_ref=request.application_ref,
        application_version=request.version,
        seller=request.sender,
        office__organisation=request.recipient,
    ).first()
    if refused is None:
        _refuse_revoke(
            request=request,
            reason=f"公证处未收到该申请第 {request.version} 版的材料，无可撤销的案件；请联系公证处核实",
            ctx=ctx,
        )
        return
    # The push was refused, so nothing is open: repeat the refusal, which returns the application to editing.
    record_event(
        "notary.intake.revoke_answered",
        organisation=request.recipient,
        obj=refused,
        data={"by": request.requested_by},
        ctx=ctx,
    )
    refusal_send(refusal=refused, sender=request.recipient)
