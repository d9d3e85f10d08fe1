"""Every rate-limit store through the ``RateLimitBackend`` protocol: the database (SQLite, or PostgreSQL in the
PostgreSQL run) and Redis (a redis-server this module starts on 127.0.0.1), on a clock the test passes in. Stores
that never limit or never forget are run through the same tests, which must fail on them."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from pytest_django import Settings

from ecancel.core.models import RateLimitCounter
from ecancel.core.ratelimit import (
    DatabaseBackend,
    RateLimitBackend,
    RateLimited,
    RateLimiter,
    RedisBackend,
    Rule,
    rate_limiter,
)

pytestmark = pytest.mark.postgres
RULE = Rule("test", limit=3, window=timedelta(minutes=10))
START = 1_700_000_000.0


@pytest.fixture(params=["database", "redis"])
def limiter(request: pytest.FixtureRequest) -> RateLimiter:
    backend: RateLimitBackend
    if request.param == "database":
        request.getfixturevalue("db")
        backend = DatabaseBackend()
    else:
        backend = RedisBackend(request.getfixturevalue("redis_url"))
        backend._client.flushdb()
    return RateLimiter(backend, clock=lambda: START)


def test_hits_count_up_to_the_limit_and_peeking_counts_nothing(limiter: RateLimiter) -> None:
    assert limiter.peek(RULE, "a").count == 0
    verdicts = [limiter.hit(RULE, "a", now=START + n) for n in range(3)]
    assert [v.count for v in verdicts] == [1, 2, 3]
    assert [v.exhausted for v in verdicts] == [False, False, True]
    assert verdicts[0].left == 2
    peeked = limiter.peek(RULE, "a", now=START + 10)
    assert (peeked.count, peeked.exhausted) == (3, True)
    assert limiter.peek(RULE, "a", now=START + 10).count == 3


def test_the_window_opens_at_the_first_hit_and_closes_on_the_callers_clock(limiter: RateLimiter) -> None:
    limiter.hit(RULE, "a", now=START)
    limiter.hit(RULE, "a", now=START + 300)
    assert limiter.peek(RULE, "a", now=START + 300).retry_after == 300
    assert limiter.peek(RULE, "a", now=START + 599.5).count == 2
    assert limiter.peek(RULE, "a", now=START + 600).count == 0
    fresh = limiter.hit(RULE, "a", now=START + 600)
    assert (fresh.count, fresh.retry_after) == (1, 600)


def test_the_default_clock_is_used_without_now(limiter: RateLimiter) -> None:
    limiter.hit(RULE, "a")
    assert limiter.peek(RULE, "a", now=START + 1).count == 1
    assert limiter.peek(RULE, "a", now=START + 600).count == 0


def test_keys_and_rules_are_kept_apart(limiter: RateLimiter) -> None:
    other_rule = Rule("other", limit=3, window=timedelta(minutes=10))
    limiter.hit(RULE, "a")
    assert limiter.peek(RULE, "b").count == 0
    assert limiter.peek(other_rule, "a").count == 0


def test_reset_and_reset_by_prefix(limiter: RateLimiter) -> None:
    for key in ("user1:198.51.100.1", "user1:198.51.100.2", "user10:198.51.100.1", "user2:198.51.100.1"):
        limiter.hit(RULE, key)
    limiter.reset(RULE, "user2:198.51.100.1")
    assert limiter.peek(RULE, "user2:198.51.100.1").count == 0
    assert limiter.reset_prefix(RULE, "user1:") == 2
    assert limiter.peek(RULE, "user1:198.51.100.1").count == 0
    assert limiter.peek(RULE, "user10:198.51.100.1").count == 1


def test_ipv6_keys(limiter: RateLimiter) -> None:
    limiter.hit(RULE, "2001:db8::1")
    assert limiter.peek(RULE, "2001:db8::1").count == 1
    assert limiter.peek(RULE, "2001:db8::").count == 0


def test_a_refusal_says_when_to_come_back_in_both_languages(limiter: RateLimiter) -> None:
    for _ in range(3):
        verdict = limiter.hit(RULE, "a", now=START + 30)
    refusal = RateLimited(verdict)
    assert refusal.http_status == 429 and refusal.retry_after == 600
    assert refusal.zh == "尝试次数过多，请 10 分钟后再试"
    assert refusal.en == "Too many attempts; try again in 10 minutes"


class NeverLimits:
    """Forgets every hit."""

    def hit(self, key: str, *, window: int, now: float) -> tuple[int, float]:
        return 1, now

    def peek(self, key: str, *, window: int, now: float) -> tuple[int, float]:
        return 0, now

    def reset(self, key: str) -> None:
        return None

    def reset_prefix(self, prefix: str) -> int:
        return 0

    def prune(self, *, now: float) -> int:
        return 0


class NeverForgets(NeverLimits):
    """Counts for ever: a window never closes."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, key: str, *, window: int, now: float) -> tuple[int, float]:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key], START

    def peek(self, key: str, *, window: int, now: float) -> tuple[int, float]:
        return self.counts.get(key, 0), START


@pytest.mark.parametrize(
    ("store", "contract"),
    [
        (NeverLimits, test_hits_count_up_to_the_limit_and_peeking_counts_nothing),
        (NeverLimits, test_reset_and_reset_by_prefix),
        (NeverLimits, test_ipv6_keys),
        (NeverForgets, test_the_window_opens_at_the_first_hit_and_closes_on_the_callers_clock),
        (NeverForgets, test_the_default_clock_is_used_without_now),
    ],
)
def test_the_contract_catches_a_broken_store(store: type[RateLimitBackend], contract: Any) -> None:
    with pytest.raises(AssertionError):
        contract(RateLimiter(store(), clock=lambda: START))


@pytest.mark.django_db
def test_pruning_drops_closed_windows_from_the_database() -> None:
    limiter = RateLimiter(DatabaseBackend(), clock=lambda: START)
    limiter.hit(RULE, "old", now=START)
    limiter.hit(RULE, "new", now=START + 500)
    assert limiter.prune(now=START + 600) == 1
    assert list(RateLimitCounter.objects.values_list("key", flat=True)) == ["test:new"]


@pytest.mark.django_db
def test_the_setting_chooses_the_backend(settings: Settings, redis_url: str) -> None:
    assert isinstance(rate_limiter().backend, DatabaseBackend)
    settings.ECANCEL_RATE_LIMIT_BACKEND = "ecancel.core.ratelimit.RedisBackend"
    settings.ECANCEL_RATE_LIMIT_REDIS_URL = redis_url
    limiter = rate_limiter()
    assert isinstance(limiter.backend, RedisBackend)
    limiter.hit(RULE, "chosen")
    assert limiter.peek(RULE, "chosen").count == 1


@pytest.mark.django_db(transaction=True)
def test_first_hits_at_once_share_one_database_counter() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the insert race needs PostgreSQL (SQLite serialises writers)")
    attempts = 4
    start = threading.Barrier(attempts)
    errors: list[BaseException] = []

    def attempt() -> None:
        start.wait()
        try:
            DatabaseBackend().hit("race:198.51.100.7", window=600, now=START)
        except BaseException as error:  # noqa: BLE001 - any error is the failure being tested
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert RateLimitCounter.objects.get(key="race:198.51.100.7").count == attempts
