"""Reads of the audit log."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ecancel.audit.models import AuditEvent


def event_count_recent(*, tag: str, ip: str | None, within: timedelta) -> int:
    """How often this address did ``tag`` lately: the audit log doubles as a rate-limit counter."""
    return AuditEvent.objects.filter(tag=tag, ip=ip, occurred_at__gte=timezone.now() - within).count()
