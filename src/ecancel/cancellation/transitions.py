"""Statuses of a cancellation application (注销申请), of its revoke requests (撤销申请), and the moves between them.

草稿 → 已推送（待公证处受理） → 待买受人认证 → 公证审核中 → 已出证 → 已注销.
A revoke is its own record beside the application: while it waits for the notary office the application keeps
its status (the office may still accept the case, or a buyer may still submit); a confirmed revoke makes the
application an editable draft again under a new version, a refused one leaves it where it is.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.transitions import HasStatus, Move, allowed, transition


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUSHED = "pushed", _("已推送（待公证处受理）")
    AWAITING_BUYERS = "awaiting_buyers", _("待买受人认证")
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
# Statuses in which the notary office holds a case of the application: a revoke can be asked for and answered.
AT_NOTARY = frozenset({S.PUSHED, S.AWAITING_BUYERS})

_PUSHED_REVOKE_FIRST = _("申请已推送公证处，不能修改；如需更正，请先撤销申请")
_PUSHED_CANNOT_ABANDON = _("申请已推送公证处，不能直接作废；请先撤销申请，待公证处确认后再作废")

MOVES: dict[str, dict[ApplicationStatus, ApplicationStatus]] = {
    # Editing keeps the status; it is a move only so that the guard and its refusal are the same as for any other.
    "edit": Move(
        {S.DRAFT: S.DRAFT, S.REFUSED: S.REFUSED},
        refused={S.PUSHED: _PUSHED_REVOKE_FIRST, S.AWAITING_BUYERS: _PUSHED_REVOKE_FIRST},
    ),
    "push": Move(
        {S.DRAFT: S.PUSHED, S.REFUSED: S.PUSHED},
        refused={
            S.PUSHED: _("申请已推送，正在等待公证处受理，不能重复推送"),
            S.AWAITING_BUYERS: _("申请已被公证处受理，不能重复推送；如需更正，请先撤销申请"),
        },
    ),
    "accept": {S.PUSHED: S.AWAITING_BUYERS},
    # Asking keeps the status: the revoke request (below) carries the wait for the notary office's answer.
    "request_revoke": Move(
        {S.PUSHED: S.PUSHED, S.AWAITING_BUYERS: S.AWAITING_BUYERS},
        refused={
            S.DRAFT: _("申请尚未推送公证处，无需撤销，可直接修改"),
            S.REFUSED: _("公证处已不予办理，申请已可修改，无需撤销"),
            S.UNDER_REVIEW: _("全部买受人已提交认证材料，公证处正在审核，不能撤销；如需更正，请联系公证处"),
        },
    ),
    "confirm_revoke": {S.PUSHED: S.DRAFT, S.AWAITING_BUYERS: S.DRAFT},
    "refuse": {S.PUSHED: S.REFUSED, S.AWAITING_BUYERS: S.REFUSED, S.UNDER_REVIEW: S.REFUSED},
    "all_buyers_submitted": {S.AWAITING_BUYERS: S.UNDER_REVIEW},
    "certify": {S.UNDER_REVIEW: S.CERTIFIED},
    "complete": {S.CERTIFIED: S.CANCELLED},
    "abandon": Move(
        {S.DRAFT: S.ABANDONED, S.REFUSED: S.ABANDONED},
        refused={S.PUSHED: _PUSHED_CANNOT_ABANDON, S.AWAITING_BUYERS: _PUSHED_CANNOT_ABANDON},
    ),
}

# Operator actions that wait while a revoke request is pending, whatever the application's status allows.
WAITS_FOR_REVOKE = frozenset({"edit", "push", "request_revoke", "abandon"})


def application_move(application: HasStatus, action: str) -> ApplicationStatus:
    """The status ``action`` takes the application to, or an ``InvalidTransition`` saying why not."""
    return transition(application, action, MOVES, ApplicationStatus)


def application_can(application: HasStatus, action: str) -> bool:
    """Whether the move table allows ``action`` from the application's status (pages offer only those)."""
    return allowed(application, action, MOVES)


class RevokeStatus(models.TextChoices):
    PENDING = "pending", _("等待公证处确认")
    CONFIRMED = "confirmed", _("公证处已撤销")
    REFUSED = "refused", _("公证处未同意撤销")
    # The case ended another way first (不予办理) before the office answered the revoke.
    LAPSED = "lapsed", _("已失效")


REVOKE_MOVES: dict[str, dict[RevokeStatus, RevokeStatus]] = {
    "confirm": {RevokeStatus.PENDING: RevokeStatus.CONFIRMED},
    "refuse": {RevokeStatus.PENDING: RevokeStatus.REFUSED},
    "lapse": {RevokeStatus.PENDING: RevokeStatus.LAPSED},
}


def revoke_move(revoke: HasStatus, action: str) -> RevokeStatus:
    return transition(revoke, action, REVOKE_MOVES, RevokeStatus)
