"""Reads for the buyer's 我的 page: their notifications, their subscriptions, the cases found by phone number."""

from __future__ import annotations

from ecancel.notifications.contacts import normalise_phone, phone_digest
from ecancel.notifications.models import Notification, Subscription

INBOX_LIMIT = 50


def notifications_for(recipient: str, *, limit: int = INBOX_LIMIT) -> list[Notification]:
    """The recipient's in-app notifications, newest first (one query)."""
    return list(Notification.objects.filter(recipient=recipient).order_by("-created_at")[:limit])


def notifications_unread_count(recipient: str) -> int:
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).count()


def subscription_get(*, recipient: str, topic: str) -> Subscription | None:
    """The recipient's active subscription to ``topic``, if any."""
    return Subscription.objects.filter(recipient=recipient, topic=topic, active=True).first()


def subscriptions_for_phone(phone: str) -> list[Subscription]:
    """Active subscriptions that gave this number (any form ``normalise_phone`` accepts): after
    ``one_time_code_verify`` proved the number, which recipients and topics are the buyer's."""
    digest = phone_digest(normalise_phone(phone))
    return list(Subscription.objects.filter(phone_digest=digest, active=True).order_by("-created_at"))
