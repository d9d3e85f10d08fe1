"""Small makers shared by the notifications tests."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ecancel.core.context import RequestContext
from ecancel.notifications.models import Notification, Subscription
from ecancel.notifications.services import notify, subscription_set

CTX = RequestContext(ip="198.51.100.7", user_agent="pytest")
CASE = "(2026)中证受字第0001号"
PHONE = "139 1234 5678"
OPENID = "oAbCdEfGhIjKlMnOpQrStUv"


def subscribe(
    recipient: str = "party-1", *, channels: tuple[str, ...] = ("sms", "wechat"), **extra: Any
) -> Subscription:
    values: dict[str, Any] = {"phone": PHONE, "wechat_openid": OPENID, "language": "zh-hans"}
    values.update(extra)
    return subscription_set(recipient=recipient, topic=CASE, channels=channels, ctx=CTX, **values)


def status_changed(
    recipient: str = "party-1", *, event: str = "case.under_review", key: str = "case-1:under_review", **extra: Any
) -> Notification:
    """What a side's service does: notify inside its own transaction."""
    with transaction.atomic():
        return notify(
            recipient=recipient,
            topic=CASE,
            event=event,
            params={"case_ref": CASE},
            dedupe_key=key,
            ctx=CTX,
            **extra,
        )
