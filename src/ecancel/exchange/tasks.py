"""Celery jobs of the exchange: the relay, run by beat every few seconds and kicked on commit."""

from __future__ import annotations

import time

from celery import shared_task
from django.conf import settings

from ecancel.exchange.services import relay_due


@shared_task(name="ecancel.exchange.tasks.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Relay rounds until nothing more is delivered or the time budget is spent."""
    deadline = time.monotonic() + float(settings.ECANCEL_EXCHANGE_RELAY_BUDGET)
    total = 0
    while time.monotonic() < deadline:
        delivered = relay_due(limit=settings.ECANCEL_EXCHANGE_RELAY_BATCH)
        total += delivered
        if delivered == 0:
            break
    return total
