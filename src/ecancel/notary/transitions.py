"""Statuses of a notary case (公证案件) and the moves between them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.transitions import HasStatus, allowed, transition


class CaseStatus(models.TextChoices):
    # Opened by intake; the office's documents are being signed, then the QR goes to the seller (case.accepted).
    PREPARING = "preparing", _("受理中（文书制作中）")
    AWAITING_BUYERS = "awaiting_buyers", _("已收案（待买受人认证）")
    UNDER_REVIEW = "under_review", _("审核中")
    # Approved by a notary and numbered; the certificate is being signed, then it goes to the seller.
    CERTIFYING = "certifying", _("已核准（出证中）")
    CERTIFIED = "certified", _("已出证")
    REFUSED = "refused", _("不予办理")
    REVOKED = "revoked", _("已撤销")
    SUPERSEDED = "superseded", _("已被新版本取代")


# Statuses in which the case is still being worked on; a closed case's QR link is dead.
OPEN_STATUSES = frozenset(
    {CaseStatus.PREPARING, CaseStatus.AWAITING_BUYERS, CaseStatus.UNDER_REVIEW, CaseStatus.CERTIFYING}
)

CASE_MOVES: dict[str, dict[CaseStatus, CaseStatus]] = {
    # The office's documents are stored; the QR code goes to the seller with case.accepted.
    "accept": {CaseStatus.PREPARING: CaseStatus.AWAITING_BUYERS},
    # The seller withdrew the application before any buyer submitted.
    "revoke": {CaseStatus.PREPARING: CaseStatus.REVOKED, CaseStatus.AWAITING_BUYERS: CaseStatus.REVOKED},
    # A corrected version of the same application arrived while this case was still open.
    "supersede": {CaseStatus.PREPARING: CaseStatus.SUPERSEDED, CaseStatus.AWAITING_BUYERS: CaseStatus.SUPERSEDED},
    # Every buyer on the case has submitted: the notary reviews.
    "start_review": {CaseStatus.AWAITING_BUYERS: CaseStatus.UNDER_REVIEW},
    # The notary declines the reviewed case (不予办理); the seller may correct and push again as a new case.
    "refuse": {CaseStatus.UNDER_REVIEW: CaseStatus.REFUSED},
    # A notary approves: the certificate number is taken with this move, the certificate is signed after it.
    "approve": {CaseStatus.UNDER_REVIEW: CaseStatus.CERTIFYING},
    # The signed certificate is stored, the case archived and certificate.issued sent, in one transaction.
    "certify": {CaseStatus.CERTIFYING: CaseStatus.CERTIFIED},
}


def case_transition(case: HasStatus, action: str) -> CaseStatus:
    return transition(case, action, CASE_MOVES, CaseStatus)


def case_can(case: HasStatus, action: str) -> bool:
    """Whether the move table allows ``action`` from the case's status (pages offer only those)."""
    return allowed(case, action, CASE_MOVES)
