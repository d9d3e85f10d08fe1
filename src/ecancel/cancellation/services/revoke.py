"""撤销申请: the operator asks the notary office to close the pushed case; the office answers by message."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.actors import Actor
from ecancel.cancellation.models import RevokeRequest
from ecancel.cancellation.services.common import (
    ApplicationId,
    audit_application,
    expect_version,
    locked_application,
    operator_move,
)
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition, field_error
from ecancel.exchange.messages import RevokeRequested
from ecancel.exchange.services import outbox_put


@transaction.atomic
def application_revoke(
    *,
    application_id: ApplicationId,
    expected_version: int | None = None,
    reason: str = "",
    actor: Actor,
    ctx: RequestContext,
) -> RevokeRequest:
    """撤销申请: allowed while no buyer has submitted; the notary office confirms (or refuses) by message."""
    application = locked_application(application_id, actor)
    expect_version(application, expected_version)
    operator_move(application, "request_revoke")
    submitted = list(application.applicants.filter(submitted_at__isnull=False).order_by("submitted_at"))
    push = application.pushes.get(version=application.version)
    if submitted:
        first = submitted[0]
        when = timezone.localtime(first.submitted_at).strftime("%Y-%m-%d %H:%M") if first.submitted_at else ""
        raise InvalidTransition(
            _(
                "买受人「%(value)s」已提交认证材料（%(when)s），不能撤销申请；如信息有误，"
                "请联系公证处（受理号 %(push_case_number)s）处理"
            ),
            code="buyer_submitted",
            params={
                "value": "」「".join(a.name for a in submitted),
                "when": when,
                "push_case_number": push.case_number,
            },
        )
    reason = reason.strip()
    if len(reason) > 500:
        raise field_error("reason", _("撤销原因不能超过500字"))
    requested_at = timezone.now()
    outbox_put(
        sender=application.seller,
        recipient=push.notary_office,
        body=RevokeRequested(
            application_ref=application.pk,
            version=application.version,
            case_ref=uuid.UUID(push.case_id) if push.case_id else None,
            reason=reason,
            requested_at=requested_at,
            requested_by=str(actor),
        ),
    )
    revoke = RevokeRequest.objects.create(
        application=application, push=push, reason=reason, requested_by=actor.user, requested_at=requested_at
    )
    audit_application(
        "cancellation.application.revoke_requested",
        application,
        actor=actor,
        ctx=ctx,
        data={"reason": reason, "case_number": push.case_number},
    )
    return revoke
