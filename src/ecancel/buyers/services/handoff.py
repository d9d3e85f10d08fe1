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
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.buyers.models import HandoffToken, InvalidationReason
from ecancel.core.context import RequestContext
from ecancel.core.ratelimit import RateLimited, Rule, Verdict, rate_limiter
from ecancel.notary.transitions import OPEN_STATUSES

if TYPE_CHECKING:
    from ecancel.accounts.models import User
    from ecancel.notary.models import NotaryCase

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


class TooManyLookups(RateLimited):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(
            verdict,
            text=_("此网络地址打开无效链接的次数过多"),
            then=_("；也可重新扫描开发企业出示的二维码"),
            code="too_many_attempts",
        )


def handoff_miss_rule() -> Rule:
    return Rule("handoff-miss", settings.ECANCEL_HANDOFF_MAX_MISSES, settings.ECANCEL_HANDOFF_MISS_WINDOW)


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


def handoff_lookup(*, raw: str, ctx: RequestContext, now: float | None = None) -> HandoffResolution:
    """Resolve a token for a client, refusing addresses that keep trying tokens that do not exist.

    Only misses count and a token that exists always resolves: many buyers may share one carrier-NAT
    address, and one of them mistyping links must not stop the others' valid QR codes.
    """
    resolution = handoff_resolve(raw)
    if resolution.status is not HandoffStatus.UNKNOWN:
        return resolution
    limiter, ip = rate_limiter(), ctx.ip or UNKNOWN_IP
    earlier = limiter.peek(handoff_miss_rule(), ip, now=now)
    if earlier.exhausted:
        raise TooManyLookups(earlier)
    misses = limiter.hit(handoff_miss_rule(), ip, now=now)
    if misses.count == misses.limit:
        record_event(
            "buyers.handoff.lookup_throttled",
            data={"failures": misses.count, "window_minutes": int(handoff_miss_rule().window.total_seconds() // 60)},
            ctx=ctx,
            result="denied",
        )
    return resolution
