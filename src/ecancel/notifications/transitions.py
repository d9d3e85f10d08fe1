"""Statuses of a message to an external channel, and the moves between them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


DELIVERY_MOVES: dict[str, dict[DeliveryStatus, DeliveryStatus]] = {
    # A sending row is claimed again only once its lease ran out: the process that claimed it died.
    "claim": {DeliveryStatus.PENDING: DeliveryStatus.SENDING, DeliveryStatus.SENDING: DeliveryStatus.SENDING},
    "sent": {DeliveryStatus.SENDING: DeliveryStatus.SENT},
    "retry": {DeliveryStatus.SENDING: DeliveryStatus.PENDING},
    "give_up": {DeliveryStatus.SENDING: DeliveryStatus.FAILED, DeliveryStatus.PENDING: DeliveryStatus.FAILED},
}
