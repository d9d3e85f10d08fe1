"""What the notary office answered, applied to the seller's own application.

The exchange inbox calls these (through ``cancellation.handlers``) in the transaction that marks a message
applied; an answer about an older version is kept and not applied.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from ecancel.accounts.models import Organisation
from ecancel.cancellation.models import Applicant, Application, ApplicationPush, PushOutcome
from ecancel.cancellation.services.common import audit_application, guarded_move, seller_application
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition


@dataclass(frozen=True)
class NotaryAnswer:
    """Who answered whom, about which application version: taken from a verified exchange message."""

    notary_office: Organisation
    seller: Organisation
    application_id: uuid.UUID
    version: int
    message_id: str


def _audit_answer(
    tag: str, application: Application, answer: NotaryAnswer, ctx: RequestContext, data: dict[str, Any]
) -> None:
    """An answer is audited in the notary office's name, with the message it came in."""
    audit_application(
        tag,
        application,
        actor=None,
        ctx=ctx,
        data={**data, "message": answer.message_id},
        actor_label=answer.notary_office.name,
    )


def _reopen(application: Application, push: ApplicationPush, *, action: str, outcome: PushOutcome) -> None:
    """The pushed version is closed; the application is editable again as a new version, the buyers' progress cleared.

    The caller saves the application (status, version and whatever else it changed).
    """
    target = guarded_move(application, action)
    push.outcome, push.closed_at = outcome, timezone.now()
    push.save(update_fields=["outcome", "closed_at", "updated_at"])
    application.status, application.version = target, application.version + 1
    application.applicants.update(submitted_at=None)


def _answered(answer: NotaryAnswer, ctx: RequestContext) -> tuple[Application, ApplicationPush] | None:
    """The application and its current push, or None when the answer is about an older version (kept, not applied).

    Only an answer addressed to the application's seller, from the office that version was pushed to, is
    applied: any other (another company's reference, another office) is refused and changes nothing.
    """
    application = seller_application(answer.application_id, seller=answer.seller, lock=True)
    push = application.pushes.filter(version=answer.version).first()
    pushed_to = push.notary_office_id if push is not None else application.notary_office_id
    if pushed_to is None or answer.notary_office.pk != pushed_to:
        raise InvalidTransition(
            gettext_lazy("该公证处不是本申请推送的公证处，消息不予处理"),
            code="wrong_notary_office",
        )
    if answer.version != application.version or push is None:
        _audit_answer(
            "cancellation.application.stale_answer_ignored",
            application,
            answer,
            ctx,
            {"answer_version": answer.version},
        )
        return None
    return application, push


@transaction.atomic
def application_record_acceptance(
    *,
    answer: NotaryAnswer,
    case_ref: str,
    case_number: str,
    handoff_url: str,
    handoff_expires_at: dt.datetime,
    accepted_at: dt.datetime,
    ctx: RequestContext,
) -> Application | None:
    """case.accepted: the QR code is ready; the application waits for the buyers."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    if push.outcome != PushOutcome.PENDING:
        raise InvalidTransition(
            gettext_lazy("第%(version)s版已有公证处答复（%(outcome)s），重复受理不予处理"),
            params={"version": push.version, "outcome": PushOutcome(push.outcome).label},
        )
    # A revoke asked for before the acceptance arrived stays in progress; the case is still recorded.
    target = (
        application.status if application.status == ApplicationStatus.REVOKING else guarded_move(application, "accept")
    )
    push.outcome = PushOutcome.ACCEPTED
    push.case_id, push.case_number, push.handoff_url = case_ref, case_number, handoff_url
    push.handoff_expires_at, push.accepted_at = handoff_expires_at, accepted_at
    push.save(
        update_fields=[
            "outcome",
            "case_id",
            "case_number",
            "handoff_url",
            "handoff_expires_at",
            "accepted_at",
            "updated_at",
        ]
    )
    application.status = target
    application.save(update_fields=["status", "updated_at"])
    _audit_answer(
        "cancellation.application.accepted",
        application,
        answer,
        ctx,
        {"case_number": case_number, "expires_at": handoff_expires_at.isoformat()},
    )
    return application


@transaction.atomic
def application_record_revoked(*, answer: NotaryAnswer, ctx: RequestContext) -> Application | None:
    """case.revoked: the notary office closed the case and its QR; the application is an editable draft again."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    _reopen(application, push, action="confirm_revoke", outcome=PushOutcome.REVOKED)
    application.save(update_fields=["status", "version", "updated_at"])
    _audit_answer(
        "cancellation.application.revoked",
        application,
        answer,
        ctx,
        {"revoked_version": push.version, "case_number": push.case_number},
    )
    return application


@transaction.atomic
def application_record_revoke_refused(*, answer: NotaryAnswer, reason: str, ctx: RequestContext) -> Application | None:
    """revoke.refused: the case goes on; the operator reads why."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    applicants = list(application.applicants.all())
    if applicants and all(a.submitted_at for a in applicants):
        action = "refuse_revoke_after_submission"
    elif push.outcome == PushOutcome.ACCEPTED:
        action = "refuse_revoke"
    else:
        action = "refuse_revoke_before_acceptance"
    application.status = guarded_move(application, action)
    application.notary_message_code, application.notary_message = "revoke_refused", reason
    application.save(update_fields=["status", "notary_message_code", "notary_message", "updated_at"])
    _audit_answer("cancellation.application.revoke_refused", application, answer, ctx, {"reason": reason})
    return application


@transaction.atomic
def application_record_refusal(
    *, answer: NotaryAnswer, code: str, reason: str, ctx: RequestContext
) -> Application | None:
    """case.refused (不予办理, or materials that failed verification): editable again with the reason shown."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    _reopen(application, push, action="refuse", outcome=PushOutcome.REFUSED)
    application.notary_message_code, application.notary_message = code, reason
    application.save(update_fields=["status", "version", "notary_message_code", "notary_message", "updated_at"])
    _audit_answer(
        "cancellation.application.refused",
        application,
        answer,
        ctx,
        {"refused_version": push.version, "code": code, "reason": reason},
    )
    return application


def _record_applicant_progress(
    answer: NotaryAnswer, position: int, *, moment: str, at: dt.datetime, tag: str, ctx: RequestContext
) -> Applicant | None:
    """Keep the first time a buyer reached ``moment`` (``started_at`` or ``submitted_at``) on their phone."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, _push = found
    if application.status not in (ApplicationStatus.AWAITING_BUYERS, ApplicationStatus.REVOKING):
        raise InvalidTransition(
            gettext_lazy("申请当前状态为「%(status)s」，不接收买受人办理进度"),
            params={"status": ApplicationStatus(application.status).label},
        )
    applicant = application.applicants.filter(position=position).first()
    if applicant is None:
        raise InvalidTransition(gettext_lazy("本申请没有第%(position)s位申请人"), params={"position": position})
    if getattr(applicant, moment) is None:
        setattr(applicant, moment, at)
        applicant.save(update_fields=[moment, "updated_at"])
    _audit_answer(tag, application, answer, ctx, {"applicant": applicant.name, "position": position})
    return applicant


@transaction.atomic
def applicant_record_start(
    *, answer: NotaryAnswer, position: int, started_at: dt.datetime, ctx: RequestContext
) -> Applicant | None:
    """buyer.started: one buyer began on the phone; the operator's page shows them 进行中."""
    return _record_applicant_progress(
        answer, position, moment="started_at", at=started_at, tag="cancellation.applicant.started", ctx=ctx
    )


@transaction.atomic
def applicant_record_submission(
    *, answer: NotaryAnswer, position: int, submitted_at: dt.datetime, ctx: RequestContext
) -> Applicant | None:
    """buyer.submitted: one buyer finished on the phone; from now on a revoke is refused at once."""
    return _record_applicant_progress(
        answer, position, moment="submitted_at", at=submitted_at, tag="cancellation.applicant.submitted", ctx=ctx
    )


@transaction.atomic
def application_record_all_submitted(
    *, answer: NotaryAnswer, submitted: Sequence[tuple[int, dt.datetime]], ctx: RequestContext
) -> Application | None:
    """buyers.submitted: every buyer is done; the notary office reviews. During a revoke, only the progress is kept."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, _push = found
    target = (
        application.status
        if application.status == ApplicationStatus.REVOKING
        else guarded_move(application, "all_buyers_submitted")
    )
    for position, when in submitted:
        application.applicants.filter(position=position, submitted_at__isnull=True).update(submitted_at=when)
    application.status = target
    application.save(update_fields=["status", "updated_at"])
    _audit_answer(
        "cancellation.application.buyers_submitted", application, answer, ctx, {"positions": [p for p, _ in submitted]}
    )
    return application
