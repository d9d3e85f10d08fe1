"""Celery jobs of the exchange: the relay, run by beat every few seconds and kicked on commit."""

from __future__ import annotations

import time

from celery import shared_task
from django.conf import settings

from ecancel.exchange.checkpoints import audit_checkpoint_publish
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


@shared_task(name="ecancel.exchange.audit_checkpoint", ignore_result=True)
def audit_checkpoint() -> int:
    """Beat's hourly signed checkpoint of the audit chain, kept here and sent to the peers."""
    checkpoint, _sent = audit_checkpoint_publish()
    return checkpoint.rows
