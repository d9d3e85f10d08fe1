"""Statuses of units and filed contracts, and the moves between them."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.transitions import HasStatus, allowed


class UnitStatus(models.TextChoices):
    AVAILABLE = "available", _("可售")
    SIGNED = "signed", _("已签约")
    FILED = "filed", _("已备案")


class ContractStatus(models.TextChoices):
    FILED = "filed", _("已备案")
    CANCELLING = "cancelling", _("注销中")
    CANCELLED = "cancelled", _("已注销")


CONTRACT_MOVES: dict[str, dict[ContractStatus, ContractStatus]] = {
    "start_cancellation": {ContractStatus.FILED: ContractStatus.CANCELLING},
    "abandon_cancellation": {ContractStatus.CANCELLING: ContractStatus.FILED},
    "cancel_filing": {ContractStatus.CANCELLING: ContractStatus.CANCELLED},
}

UNIT_MOVES: dict[str, dict[UnitStatus, UnitStatus]] = {
    "sign": {UnitStatus.AVAILABLE: UnitStatus.SIGNED},
    "file": {UnitStatus.SIGNED: UnitStatus.FILED},
    "return_to_sale": {UnitStatus.FILED: UnitStatus.AVAILABLE},
}


def contract_can(contract: HasStatus, action: str) -> bool:
    """Whether the move table allows ``action`` from the contract's status (pages offer only those)."""
    return allowed(contract, action, CONTRACT_MOVES)
