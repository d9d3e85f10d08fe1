"""Statuses of units and filed contracts, and the moves between them."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.transitions import HasStatus, Move, allowed


class UnitStatus(models.TextChoices):
    AVAILABLE = "available", _("可售")
    SIGNED = "signed", _("已签约")
    FILED = "filed", _("已备案")


class ContractStatus(models.TextChoices):
    FILED = "filed", _("已备案")
    CANCELLING = "cancelling", _("注销中")
    CANCELLED = "cancelled", _("已注销")


C, U = ContractStatus, UnitStatus

CONTRACT_MOVES: dict[str, dict[ContractStatus, ContractStatus]] = {
    "start_cancellation": Move(
        {C.FILED: C.CANCELLING},
        refused={
            C.CANCELLING: _("该合同已在办理注销，不能重复发起"),
            C.CANCELLED: _("该合同的备案已注销，不能再次注销"),
        },
    ),
    "abandon_cancellation": Move(
        {C.CANCELLING: C.FILED},
        refused={
            C.FILED: _("该合同没有正在办理的注销，无需放弃"),
            C.CANCELLED: _("该合同的备案已注销，不能放弃注销"),
        },
    ),
    "cancel_filing": Move(
        {C.CANCELLING: C.CANCELLED},
        refused={
            C.FILED: _("该合同尚未发起注销申请，不能注销备案"),
            C.CANCELLED: _("该合同的备案已注销，不能重复注销"),
        },
    ),
}

UNIT_MOVES: dict[str, dict[UnitStatus, UnitStatus]] = {
    "sign": Move(
        {U.AVAILABLE: U.SIGNED},
        refused={U.SIGNED: _("该房源已签约，不能再次签约"), U.FILED: _("该房源已有备案合同，不能再次签约")},
    ),
    "file": Move(
        {U.SIGNED: U.FILED},
        refused={U.AVAILABLE: _("该房源尚未签约，不能备案"), U.FILED: _("该房源已备案，不能重复备案")},
    ),
    "return_to_sale": Move(
        {U.FILED: U.AVAILABLE},
        refused={
            U.AVAILABLE: _("该房源已是可售状态"),
            U.SIGNED: _("该房源的合同尚未备案，不能通过注销备案恢复可售"),
        },
    ),
}


def contract_can(contract: HasStatus, action: str) -> bool:
    """Whether the move table allows ``action`` from the contract's status (pages offer only those)."""
    return allowed(contract, action, CONTRACT_MOVES)
