"""Statuses of outgoing and incoming messages, and the moves between them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("发送失败")


class InboxStatus(models.TextChoices):
    APPLIED = "applied", _("已处理")
    REJECTED = "rejected", _("已拒绝")


OUTBOX_MOVES: dict[str, dict[OutboxStatus, OutboxStatus]] = {
    "deliver": {OutboxStatus.PENDING: OutboxStatus.DELIVERED},
    "give_up": {OutboxStatus.PENDING: OutboxStatus.FAILED},
    "requeue": {OutboxStatus.FAILED: OutboxStatus.PENDING},
}
