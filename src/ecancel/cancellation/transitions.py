"""Statuses of a cancellation application (注销申请) and the moves between them.

草稿 → 已推送（待公证处受理） → 待买受人认证 → 公证审核中 → 已出证 → 已注销.
A revoke passes through 撤销中 until the notary office confirms; a confirmed revoke and a
refusal (不予办理) both make the application editable again under a new version.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.transitions import HasStatus, allowed, transition


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUSHED = "pushed", _("已推送（待公证处受理）")
    AWAITING_BUYERS = "awaiting_buyers", _("待买受人认证")
    REVOKING = "revoking", _("撤销中")
    UNDER_REVIEW = "under_review", _("公证审核中")
    REFUSED = "refused", _("不予办理")
    CERTIFIED = "certified", _("已出证")
    CANCELLED = "cancelled", _("已注销")
    ABANDONED = "abandoned", _("已作废")


S = ApplicationStatus

# Statuses in which the operator may change reason, applicants, agent and notary office.
EDITABLE = frozenset({S.DRAFT, S.REFUSED})
# Statuses that end an application; any other status keeps the contract's one open application slot.
CLOSED = frozenset({S.CANCELLED, S.ABANDONED})

MOVES: dict[str, dict[ApplicationStatus, ApplicationStatus]] = {
    # Editing keeps the status; it is a move only so that the guard and its refusal are the same as for any other.
    "edit": {S.DRAFT: S.DRAFT, S.REFUSED: S.REFUSED},
    "push": {S.DRAFT: S.PUSHED, S.REFUSED: S.PUSHED},
    "accept": {S.PUSHED: S.AWAITING_BUYERS},
    "request_revoke": {S.PUSHED: S.REVOKING, S.AWAITING_BUYERS: S.REVOKING},
    "confirm_revoke": {S.REVOKING: S.DRAFT},
    # The notary office keeps the case: back to where the application was before the revoke was asked for.
    "refuse_revoke": {S.REVOKING: S.AWAITING_BUYERS},
    "refuse_revoke_before_acceptance": {S.REVOKING: S.PUSHED},
    # Every buyer finished while the revoke was on its way: the office reviews.
    "refuse_revoke_after_submission": {S.REVOKING: S.UNDER_REVIEW},
    "refuse": {S.PUSHED: S.REFUSED, S.AWAITING_BUYERS: S.REFUSED, S.REVOKING: S.REFUSED, S.UNDER_REVIEW: S.REFUSED},
    "all_buyers_submitted": {S.AWAITING_BUYERS: S.UNDER_REVIEW},
    "certify": {S.UNDER_REVIEW: S.CERTIFIED},
    "complete": {S.CERTIFIED: S.CANCELLED},
    "abandon": {S.DRAFT: S.ABANDONED, S.REFUSED: S.ABANDONED},
}


def application_move(application: HasStatus, action: str) -> ApplicationStatus:
    """The status ``action`` takes the application to, or an ``InvalidTransition`` naming the current status."""
    return transition(application, action, MOVES, ApplicationStatus)


def application_can(application: HasStatus, action: str) -> bool:
    """Whether the move table allows ``action`` from the application's status (pages offer only those)."""
    return allowed(application, action, MOVES)
