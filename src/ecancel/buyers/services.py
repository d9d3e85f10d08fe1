"""Issuing, invalidating and resolving the hand-off tokens behind the buyers' QR code."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ecancel.audit.services import record_event
from ecancel.buyers.models import HandoffToken, InvalidationReason, LookupThrottle
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.notary.transitions import OPEN_STATUSES

if TYPE_CHECKING:
    from ecancel.accounts.models import User
    from ecancel.notary.models import NotaryCase

# Failed look-ups one address may make per window before it is told to wait.
LOOKUP_MAX_FAILURES = 20
LOOKUP_WINDOW = timedelta(minutes=10)
# Where no client address is known, every such request shares one bucket.
UNKNOWN_IP = "0.0.0.0"  # noqa: S104 - a bucket key, not a bind address


class HandoffStatus(StrEnum):
    VALID = "valid"
    INVALIDATED = "invalidated"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class IssuedHandoff:
    token: HandoffToken
    raw: str
    url: str


@dataclass(frozen=True)
class HandoffResolution:
    status: HandoffStatus
    expires_at: datetime | None = None


class TooManyLookups(DomainError):
    def __init__(self) -> None:
        super().__init__(
            zh="查询次数过多，请 10 分钟后再试，或重新扫描开发企业出示的二维码",
            en="Too many attempts; try again in 10 minutes, or scan the QR code the seller shows you again",
            code="too_many_attempts",
            http_status=429,
        )


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def handoff_url(raw: str) -> str:
    return f"{settings.ECANCEL_PUBLIC_URL}{reverse('buyers:handoff', args=[raw])}"


@transaction.atomic
def handoff_issue(*, case: NotaryCase, actor: User | None, ctx: RequestContext) -> IssuedHandoff:
    """A fresh 256-bit token for the case; any earlier live token of the case stops working."""
    now = timezone.now()
    _invalidate_live(case=case, reason=InvalidationReason.SUPERSEDED, now=now)
    raw = secrets.token_urlsafe(32)
    token = HandoffToken.objects.create(
        case=case,
        token_hash=token_digest(raw),
        expires_at=now + timedelta(days=case.office.handoff_days),
    )
    record_event(
        "buyers.handoff.issued",
        actor=actor,
        organisation=case.office.organisation,
        obj=token,
        data={"case": str(case.pk), "expires_at": token.expires_at},
        ctx=ctx,
    )
    return IssuedHandoff(token=token, raw=raw, url=handoff_url(raw))


@transaction.atomic
def handoff_revoke(*, case: NotaryCase, reason: InvalidationReason, actor: User | None, ctx: RequestContext) -> int:
    """Kill every live token of the case; the landing page then answers 已失效."""
    tokens = _invalidate_live(case=case, reason=reason, now=timezone.now())
    for token in tokens:
        record_event(
            "buyers.handoff.invalidated",
            actor=actor,
            organisation=case.office.organisation,
            obj=token,
            data={"case": str(case.pk), "reason": reason.value},
            ctx=ctx,
        )
    return len(tokens)


def _invalidate_live(*, case: NotaryCase, reason: InvalidationReason, now: datetime) -> list[HandoffToken]:
    tokens = list(HandoffToken.objects.select_for_update().filter(case=case, invalidated_at__isnull=True))
    for token in tokens:
        token.invalidated_at, token.invalidated_reason = now, reason
        token.save(update_fields=["invalidated_at", "invalidated_reason", "updated_at"])
    return tokens


def handoff_state(token: HandoffToken, *, now: datetime | None = None) -> HandoffStatus:
    """What a token stands for at ``now`` (default: the current time); a closed case's token is dead even if
    nobody revoked it."""
    if token.invalidated_at is not None or token.case.status not in OPEN_STATUSES:
        return HandoffStatus.INVALIDATED
    if token.expires_at <= (now or timezone.now()):
        return HandoffStatus.EXPIRED
    return HandoffStatus.VALID


def handoff_resolve(raw: str, *, now: datetime | None = None) -> HandoffResolution:
    """What a scanned link stands for at ``now`` (default: the current time)."""
    token = HandoffToken.objects.select_related("case").filter(token_hash=token_digest(raw)).first()
    if token is None:
        return HandoffResolution(HandoffStatus.UNKNOWN)
    return HandoffResolution(handoff_state(token, now=now), token.expires_at)


@transaction.atomic
def handoff_lookup(*, raw: str, ctx: RequestContext) -> HandoffResolution:
    """Resolve a token for a client, refusing addresses that keep trying tokens that do not exist."""
    ip = ctx.ip or UNKNOWN_IP
    now = timezone.now()
    throttle = LookupThrottle.objects.select_for_update().filter(ip=ip).first()
    if throttle is not None and throttle.window_started_at + LOOKUP_WINDOW <= now:
        throttle.window_started_at, throttle.failures = now, 0
    if throttle is not None and throttle.failures >= LOOKUP_MAX_FAILURES:
        raise TooManyLookups
    resolution = handoff_resolve(raw)
    if resolution.status is HandoffStatus.UNKNOWN:
        if throttle is None:
            # Two first failures from one address at once: the loser of the insert takes the winner's row.
            throttle, _created = LookupThrottle.objects.select_for_update().get_or_create(
                ip=ip, defaults={"window_started_at": now}
            )
        throttle.failures += 1
        throttle.save(update_fields=["window_started_at", "failures"])
        if throttle.failures == LOOKUP_MAX_FAILURES:
            record_event(
                "buyers.handoff.lookup_throttled",
                data={"failures": throttle.failures, "window_minutes": int(LOOKUP_WINDOW.total_seconds() // 60)},
                ctx=ctx,
                result="denied",
            )
    return resolution
