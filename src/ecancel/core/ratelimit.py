"""One rate limiter for the whole system: counters every process shares, behind one small interface.

A ``Rule`` allows ``limit`` hits per key within a window that opens at the key's first hit. Callers name
the key (an address; a user name and an address) and decide what a hit is (a failure, a miss, a refusal).
The store is an adapter chosen by ``ECANCEL_RATE_LIMIT_BACKEND``: the database on the embedded default,
Redis where it is configured. Every method takes ``now`` (Unix seconds) so tests never wait on a clock.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from ecancel.core.backends import backend_class
from ecancel.core.errors import DomainError, Text


@dataclass(frozen=True)
class Rule:
    """``limit`` hits per key per ``window``; ``name`` keeps the keys of different rules apart."""

    name: str
    limit: int
    window: timedelta

    @property
    def window_seconds(self) -> int:
        return max(int(self.window.total_seconds()), 1)


@dataclass(frozen=True)
class Verdict:
    """Hits counted in the key's current window, and how long until that window closes."""

    count: int
    limit: int
    retry_after: int

    @property
    def exhausted(self) -> bool:
        """No hit is left: the next attempt is to be refused."""
        return self.count >= self.limit

    @property
    def left(self) -> int:
        return max(self.limit - self.count, 0)


class RateLimitBackend(Protocol):
    """A shared store of windows: ``(count, window start)`` per key."""

    def hit(self, key: str, *, window: int, now: float) -> tuple[int, float]:
        """Count one hit; a window that has run out starts again at ``now``."""
        ...

    def peek(self, key: str, *, window: int, now: float) -> tuple[int, float]:
        """The current window's count and start, without counting; (0, now) when none is open."""
        ...

    def reset(self, key: str) -> None: ...

    def reset_prefix(self, prefix: str) -> int:
        """Drop every key that starts with ``prefix``; returns how many."""
        ...

    def prune(self, *, now: float) -> int:
        """Forget windows that have closed; returns how many."""
        ...


class DatabaseBackend:
    """One row per key in the default database, updated under a row lock: shared by every process."""

    def hit(self, key: str, *, window: int, now: float) -> tuple[int, float]:
        from ecancel.core.models import RateLimitCounter

        with transaction.atomic():
            row = RateLimitCounter.objects.select_for_update().filter(key=key).first()
            if row is None:
                try:
                    with transaction.atomic():
                        RateLimitCounter.objects.create(key=key, window_start=now, expires_at=now + window, count=1)
                    return 1, now
                except IntegrityError:
                    # Two first hits at once: the loser of the insert counts on the winner's row.
                    row = RateLimitCounter.objects.select_for_update().get(key=key)
            if row.expires_at <= now:
                row.window_start, row.count = now, 0
            row.count += 1
            row.expires_at = row.window_start + window
            row.save(update_fields=["window_start", "expires_at", "count"])
            return row.count, row.window_start

    def peek(self, key: str, *, window: int, now: float) -> tuple[int, float]:
        from ecancel.core.models import RateLimitCounter

        row = RateLimitCounter.objects.filter(key=key, expires_at__gt=now).first()
        return (row.count, row.window_start) if row is not None else (0, now)

    def reset(self, key: str) -> None:
        from ecancel.core.models import RateLimitCounter

        RateLimitCounter.objects.filter(key=key).delete()

    def reset_prefix(self, prefix: str) -> int:
        from ecancel.core.models import RateLimitCounter

        removed, _ = RateLimitCounter.objects.filter(key__startswith=prefix).delete()
        return removed

    def prune(self, *, now: float) -> int:
        from ecancel.core.models import RateLimitCounter

        removed, _ = RateLimitCounter.objects.filter(expires_at__lte=now).delete()
        return removed


# Read the window, restart it if it has run out by the caller's clock, count: one atomic step in Redis.
_REDIS_HIT = """
local start = tonumber(redis.call('HGET', KEYS[1], 's'))
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
if (not start) or start + window <= now then
  redis.call('HSET', KEYS[1], 's', ARGV[1], 'c', 0)
  start = now
end
local count = redis.call('HINCRBY', KEYS[1], 'c', 1)
redis.call('EXPIRE', KEYS[1], window + 60)
return {count, tostring(start)}
"""


class RedisBackend:
    """A hash per key in Redis, for deployments with more than one machine; keys expire on their own."""

    PREFIX = "ecancel:ratelimit:"

    def __init__(self, url: str | None = None) -> None:
        import redis

        self._client = redis.Redis.from_url(url or settings.ECANCEL_RATE_LIMIT_REDIS_URL, socket_timeout=5)
        self._hit = self._client.register_script(_REDIS_HIT)

    def hit(self, key: str, *, window: int, now: float) -> tuple[int, float]:
        count, start = self._hit(keys=[self.PREFIX + key], args=[repr(now), window])
        return int(count), float(start)

    def peek(self, key: str, *, window: int, now: float) -> tuple[int, float]:
        start, count = self._client.hmget(self.PREFIX + key, ["s", "c"])
        if start is None or count is None or float(start) + window <= now:
            return 0, now
        return int(count), float(start)

    def reset(self, key: str) -> None:
        self._client.delete(self.PREFIX + key)

    def reset_prefix(self, prefix: str) -> int:
        # Keys are built from rule names, hex digests and addresses: no glob characters to escape.
        names = list(self._client.scan_iter(match=f"{self.PREFIX}{prefix}*", count=500))
        return int(self._client.delete(*names)) if names else 0

    def prune(self, *, now: float) -> int:
        return 0


class RateLimited(DomainError):
    """A limiter's answer to a person: what happened, when to come back (also as Retry-After), what else to do."""

    def __init__(
        self,
        verdict: Verdict,
        *,
        text: Text | None = None,
        then: Text = "",
        code: str = "rate_limited",
    ) -> None:
        minutes = max(math.ceil(verdict.retry_after / 60), 1)
        super().__init__(
            _("%(what)s，请 %(minutes)s 分钟后再试%(then)s") if minutes > 1 else _("%(what)s，请 1 分钟后再试%(then)s"),
            params={"what": text or _("尝试次数过多"), "minutes": minutes, "then": then},
            code=code,
            http_status=429,
        )
        self.retry_after = verdict.retry_after


def with_retry_after(response: HttpResponse, retry_after: int) -> HttpResponse:
    response["Retry-After"] = str(max(retry_after, 1))
    return response


def digest(value: str) -> str:
    """A fixed-length key part for free text a stranger typed (a user name)."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class RateLimiter:
    """Rules applied to keys in one backend, on one clock."""

    def __init__(self, backend: RateLimitBackend, clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self.clock = clock

    def hit(self, rule: Rule, key: str, *, now: float | None = None) -> Verdict:
        now = self.clock() if now is None else now
        count, start = self.backend.hit(f"{rule.name}:{key}", window=rule.window_seconds, now=now)
        return self._verdict(rule, count, start, now)

    def peek(self, rule: Rule, key: str, *, now: float | None = None) -> Verdict:
        now = self.clock() if now is None else now
        count, start = self.backend.peek(f"{rule.name}:{key}", window=rule.window_seconds, now=now)
        return self._verdict(rule, count, start, now)

    def reset(self, rule: Rule, key: str) -> None:
        self.backend.reset(f"{rule.name}:{key}")

    def reset_prefix(self, rule: Rule, prefix: str) -> int:
        return self.backend.reset_prefix(f"{rule.name}:{prefix}")

    def prune(self, *, now: float | None = None) -> int:
        return self.backend.prune(now=self.clock() if now is None else now)

    @staticmethod
    def _verdict(rule: Rule, count: int, start: float, now: float) -> Verdict:
        retry_after = max(math.ceil(start + rule.window_seconds - now), 1)
        return Verdict(count=count, limit=rule.limit, retry_after=retry_after)


@cache
def _backend(path: str, redis_url: str) -> RateLimitBackend:
    chosen = backend_class("ECANCEL_RATE_LIMIT_BACKEND", RateLimitBackend, value=path)
    backend: RateLimitBackend = chosen(redis_url) if chosen is RedisBackend else chosen()
    return backend


def clock() -> float:
    """The limiter's time in Unix seconds; tests replace it to move past a window without waiting."""
    return time.time()


def rate_limiter() -> RateLimiter:
    """The configured limiter; one backend (and so one Redis connection pool) per process."""
    backend = _backend(settings.ECANCEL_RATE_LIMIT_BACKEND, settings.ECANCEL_RATE_LIMIT_REDIS_URL)
    return RateLimiter(backend, clock=lambda: clock())
