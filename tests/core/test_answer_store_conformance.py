"""Every answer store keeps the ``AnswerStore`` contract: versions stay put until a table changes, and a change
gives the named tables, and only them, versions never seen before."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest
import redis
from pytest_django import Settings

from ecancel.core.answers import AnswerStore, NullAnswerStore, RedisAnswerStore, StoreUnreachable, answer_store


@pytest.fixture
def redis_store(redis_url: str, db: None) -> Iterator[AnswerStore]:
    yield RedisAnswerStore(redis_url)
    redis.Redis.from_url(redis_url).flushall()


def test_versions_stay_until_a_table_changes_and_then_are_new(redis_store: AnswerStore) -> None:
    assert redis_store.enabled
    first = redis_store.versions(["filing_filedcontract", "filing_buyerparty"])
    assert redis_store.versions(["filing_buyerparty", "filing_filedcontract"]) == first
    seen = set(first.values())

    for _ in range(3):
        redis_store.change(["filing_buyerparty"])
        now = redis_store.versions(["filing_filedcontract", "filing_buyerparty"])
        assert now["filing_filedcontract"] == first["filing_filedcontract"]
        assert now["filing_buyerparty"] not in seen
        seen.add(now["filing_buyerparty"])


def test_an_answer_is_kept_while_every_table_it_was_read_from_keeps_its_version(
    redis_store: AnswerStore, redis_url: str
) -> None:
    assert redis_store.kept("k") is None
    tables = redis_store.versions(["filing_filedcontract", "filing_buyerparty"])
    redis_store.keep("k", b"sealed\x00answer", tables=tables, seconds=60)
    assert redis_store.kept("k") == b"sealed\x00answer"

    redis_store.change(["accounts_organisation"])  # not read by it
    assert redis_store.kept("k") == b"sealed\x00answer"
    redis_store.change(["filing_buyerparty"])
    assert redis_store.kept("k") is None

    redis_store.keep("stale", b"answer", tables={"filing_filedcontract": "an older version"}, seconds=60)
    assert redis_store.kept("stale") is None
    client = redis.Redis.from_url(redis_url)
    (name,) = [key for key in client.scan_iter() if key.endswith(b":k")]
    assert 0 < client.ttl(name) <= 60


def test_the_null_store_keeps_nothing() -> None:
    store = NullAnswerStore()
    assert not store.enabled
    store.keep("k", b"sealed answer", tables={}, seconds=60)
    store.change(["filing_filedcontract"])
    assert store.kept("k") is None
    assert store.versions(["filing_filedcontract"]) == {}


def test_an_unreachable_redis_is_one_kind_of_error(db: None) -> None:
    store = RedisAnswerStore("redis://127.0.0.1:9/0")  # nothing listens there
    for call in (
        lambda: store.versions(["filing_filedcontract"]),
        lambda: store.change(["filing_filedcontract"]),
        lambda: store.kept("k"),
        lambda: store.keep("k", b"sealed answer", tables={}, seconds=60),
    ):
        with pytest.raises(StoreUnreachable):
            call()


class NeverChanges(NullAnswerStore):
    """Keeps answers, but a table's version never moves: every answer would be served for ever."""

    enabled = True

    def __init__(self) -> None:
        self.answers: dict[str, bytes] = {}

    def versions(self, tables: Iterable[str]) -> dict[str, str]:
        return dict.fromkeys(tables, "v1")

    def keep(self, key: str, answer: bytes, *, tables: dict[str, str], seconds: int) -> None:
        self.answers[key] = answer

    def kept(self, key: str) -> bytes | None:
        return self.answers.get(key)


def test_the_contract_catches_a_store_whose_versions_never_change(redis_url: str) -> None:
    with pytest.raises(AssertionError):
        test_versions_stay_until_a_table_changes_and_then_are_new(NeverChanges())
    with pytest.raises(AssertionError):
        test_an_answer_is_kept_while_every_table_it_was_read_from_keeps_its_version(NeverChanges(), redis_url)


def test_the_setting_chooses_the_store(settings: Settings, redis_url: str) -> None:
    assert isinstance(answer_store(), NullAnswerStore)  # no Redis: nothing kept
    settings.ECANCEL_ANSWER_CACHE_BACKEND = "ecancel.core.answers.RedisAnswerStore"
    settings.ECANCEL_RATE_LIMIT_REDIS_URL = redis_url
    assert isinstance(answer_store(), RedisAnswerStore)
