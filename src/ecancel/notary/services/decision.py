"""The notary's decision on a reviewed case (manual 7.3): 不予办理 with a reason from the list the two sides share.

Approval, with the certificate it issues, is the other half of the decision and comes with the certificate work.
"""

from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Role, User
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import NotFound, PermissionRefused, field_error
from ecancel.exchange.messages import CaseRefused, RefusalReason
from ecancel.notary.models import NotaryCase
from ecancel.notary.services.common import tell_buyers, tell_seller
from ecancel.notary.transitions import case_transition
from ecancel.notifications.events import excerpt

REASON_TEXT_MAX = 1000


@transaction.atomic
def case_refuse(*, case_id: UUID, reason_code: str, reason_text: str, actor: User, ctx: RequestContext) -> NotaryCase:
    """不予办理: only a 公证员 of the case's office decides; the seller and every buyer are told why."""
    case = (
        NotaryCase.objects.select_for_update(of=("self",))
        .select_related("office__organisation")
        .filter(pk=case_id)
        .first()
    )
    if case is None or case.office.organisation_id != actor.organisation_id:
        raise NotFound(_("未找到该案件"))
    if not actor.has_role(Role.NOTARY):
        raise PermissionRefused(_("只有公证员可以决定不予办理，受理员不能"))
    if reason_code not in RefusalReason.values:
        raise field_error("reason_code", _("请从列表中选择不予办理的理由"))
    reason_text = reason_text.strip()
    if reason_code == RefusalReason.OTHER and not reason_text:
        raise field_error("reason_text", _("理由为「其他原因」时，请写明具体原因"))
    if len(reason_text) > REASON_TEXT_MAX:
        raise field_error("reason_text", _("说明不能超过%(limit)s字"), params={"limit": REASON_TEXT_MAX})
    case.status = case_transition(case, "refuse")
    with translation.override("zh-hans"):
        label = str(RefusalReason(reason_code).label)
    reason = reason_text or label
    # The case ends here: retention periods count from this moment (notary.services.retention).
    case.closed_at, case.closed_reason = timezone.now(), reason[:300]
    case.save(update_fields=["status", "closed_at", "closed_reason", "updated_at"])
    record_event(
        "notary.case.refused",
        actor=actor,
        organisation=case.office.organisation,
        obj=case,
        data={"case_number": case.case_number, "reason_code": reason_code, "reason": reason},
        ctx=ctx,
    )
    tell_seller(
        case,
        CaseRefused,
        code="refused",
        reason_code=reason_code,
        reason=reason,
        refused_at=timezone.now(),
        refused_by=str(actor),
    )
    tell_buyers(case, "case.refused", ctx=ctx, reason=label, note=excerpt(reason_text))
    return case
