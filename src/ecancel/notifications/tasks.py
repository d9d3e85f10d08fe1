"""Celery jobs of the notifications: send one delivery after commit, and beat's sweep of due ones."""

from __future__ import annotations

import time
from uuid import UUID

from celery import shared_task
from django.conf import settings

from ecancel.notifications.services.delivery import deliveries_send_due, delivery_send


@shared_task(name="ecancel.notifications.send_delivery", ignore_result=True)
def send_delivery(delivery_id: str) -> bool:
    """Queued after the commit that created the delivery."""
    return delivery_send(delivery_id=UUID(delivery_id))


@shared_task(name="ecancel.notifications.send_due", ignore_result=True)
def send_due() -> int:
    """Retries whose time has come and deliveries a dead process left, until none is left or the budget is spent."""
    deadline = time.monotonic() + float(settings.ECANCEL_NOTIFY_SWEEP_BUDGET)
    total = 0
    while time.monotonic() < deadline:
        sent = deliveries_send_due(limit=settings.ECANCEL_NOTIFY_SWEEP_BATCH)
        total += sent
        if sent == 0:
            break
    return total
