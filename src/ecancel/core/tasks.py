"""Housekeeping for shared core tables."""

from __future__ import annotations

from celery import shared_task

from ecancel.core.ratelimit import rate_limiter


@shared_task(name="ecancel.core.prune_rate_limits")
def prune_rate_limits() -> int:
    """Drop closed rate-limit windows, so addresses seen once do not pile up in the database."""
    return rate_limiter().prune()
