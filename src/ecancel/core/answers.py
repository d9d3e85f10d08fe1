"""The answers of the busiest API reads, kept until a table they were read from changes.

Integrations poll the same few reads (the contract list, an application waiting for its QR code, the case list)
again and again, and building one costs several milliseconds of ORM and schema work for an answer that has not
changed. A read marked with ``api.answers.answer_cached`` keeps its 200 answer for the calling API token, path,
query and language, together with the version of every table its queries read (``TableWatch`` sees every
statement Django runs). A committed write to one of those tables, whatever made it (a service, a transition's
``filter().update()``, an exchange handler), gives the table a new version, so the next call builds the answer
again.

Versions are random, so a version that was evicted never matches an old answer. The version changes after the
commit, and the versions an answer is stored under are read before its queries run, so an answer is never stored
under versions newer than its data. A process that dies between a commit and the version change, or a write made
outside ecancel (``psql``), leaves answers at most ``ECANCEL_ANSWER_CACHE_SECONDS`` old: reads decide nothing, and
every change re-reads what it changes under its row lock. Answers are encrypted with the key ring, since they carry
buyers' names.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
import logging
import re
import secrets
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, cast

from django.apps import apps
from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

from ecancel.core.backends import backend_class
from ecancel.core.sealing import FileSeal, SealBroken

log = logging.getLogger(__name__)

# Sealed for its key: an answer copied under another caller's key does not open.
ANSWER_SEAL = FileSeal(b"AN1")


class StoreUnreachable(Exception):
    """The store did not answer (every backend raises this for its own transport's errors)."""


class AnswerStore(Protocol):
    """Where answers and table versions live: shared by every process and server of a deployment."""

    enabled: bool

    def versions(self, tables: Iterable[str]) -> dict[str, str]:
        """The current version of each table (one is made for a table that has none)."""
        ...

    def change(self, tables: Iterable[str]) -> None:
        """New versions for these tables: every answer read from them is stale."""
        ...

    def keep(self, key: str, answer: bytes, *, tables: dict[str, str], seconds: int) -> None:
        """Keep ``answer`` for ``seconds``, read from ``tables`` at the versions given."""
        ...

    def kept(self, key: str) -> bytes | None:
        """The answer kept under ``key`` while every table it was read from has the version it was read at."""
        ...


class NullAnswerStore:
    """No shared store (the one-machine default): every call builds its answer."""

    enabled = False

    def versions(self, tables: Iterable[str]) -> dict[str, str]:
        return {}

    def change(self, tables: Iterable[str]) -> None:
        return None

    def keep(self, key: str, answer: bytes, *, tables: dict[str, str], seconds: int) -> None:
        return None

    def kept(self, key: str) -> bytes | None:
        return None


# An answer and its tables' versions in one hash; the versions compared with the current ones inside Redis, so a
# kept answer costs one round trip.
_KEPT = """
local entry = redis.call('HMGET', KEYS[1], 'tables', 'answer')
if not entry[1] then return false end
local names, read_at = {}, {}
for name, version in pairs(cjson.decode(entry[1])) do
  names[#names + 1] = name
  read_at[#read_at + 1] = version
end
if #names > 0 then
  local now = redis.call('HMGET', KEYS[2], unpack(names))
  for i = 1, #names do
    if now[i] ~= read_at[i] then return false end
  end
end
return entry[2]
"""


class RedisAnswerStore:
    """Answers as expiring hashes, the versions in one hash, under a prefix naming this deployment's database."""

    enabled = True

    def __init__(self, url: str | None = None) -> None:
        import redis

        self._client = redis.Redis.from_url(url or settings.ECANCEL_RATE_LIMIT_REDIS_URL, socket_timeout=2)
        self._kept = self._client.register_script(_KEPT)
        database = settings.DATABASES["default"]
        place = f"{database.get('HOST', '')}:{database.get('PORT', '')}/{database['NAME']}"
        self._prefix = f"ecancel:answers:{hashlib.sha256(place.encode()).hexdigest()[:16]}:"
        self._versions = self._prefix + "versions"

    def versions(self, tables: Iterable[str]) -> dict[str, str]:
        names = list(tables)
        if not names:
            return {}
        with self._reaching():
            found = cast("list[bytes | None]", self._client.hmget(self._versions, names))
            if None in found:
                with self._client.pipeline() as pipe:
                    for name, version in zip(names, found, strict=True):
                        if version is None:
                            pipe.hsetnx(self._versions, name, _new_version())
                    pipe.hmget(self._versions, names)
                    found = pipe.execute()[-1]
        return {name: bytes(version or b"").decode() for name, version in zip(names, found, strict=True)}

    def change(self, tables: Iterable[str]) -> None:
        changed = {name: _new_version() for name in tables}
        if changed:
            with self._reaching():
                self._client.hset(self._versions, mapping=cast("dict[Any, Any]", changed))

    def keep(self, key: str, answer: bytes, *, tables: dict[str, str], seconds: int) -> None:
        with self._reaching(), self._client.pipeline() as pipe:
            pipe.hset(self._prefix + key, mapping={"tables": json.dumps(tables), "answer": answer})
            pipe.expire(self._prefix + key, seconds)
            pipe.execute()

    def kept(self, key: str) -> bytes | None:
        with self._reaching():
            return cast("bytes | None", self._kept(keys=[self._prefix + key, self._versions]))

    @contextlib.contextmanager
    def _reaching(self) -> Iterator[None]:
        import redis

        try:
            yield
        except redis.RedisError as exc:
            raise StoreUnreachable(f"Redis: {exc}") from exc


def _new_version() -> str:
    return secrets.token_hex(8)


def answer_store() -> AnswerStore:
    """The configured store; one per process (and so one Redis connection pool)."""
    return _store(settings.ECANCEL_ANSWER_CACHE_BACKEND, settings.ECANCEL_RATE_LIMIT_REDIS_URL)


@functools.cache
def _store(path: str, redis_url: str) -> AnswerStore:
    chosen = backend_class("ECANCEL_ANSWER_CACHE_BACKEND", AnswerStore, value=path)
    store: AnswerStore = chosen(redis_url) if chosen is RedisAnswerStore else chosen()
    return store


# --- which tables a statement touches ---------------------------------------------------------------------------

_reading: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("answer_reading", default=None)
_pending: weakref.WeakKeyDictionary[BaseDatabaseWrapper, set[str]] = weakref.WeakKeyDictionary()


@functools.cache
def _known_tables() -> tuple[str, ...]:
    return tuple(sorted({model._meta.db_table for model in apps.get_models(include_auto_created=True)}))


@functools.cache
def _table_pattern() -> re.Pattern[str]:
    longest_first = sorted(_known_tables(), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(name) for name in longest_first) + r")\b")


@functools.lru_cache(maxsize=4096)
def _tables_in(sql: str) -> tuple[frozenset[str], bool]:
    """The tables a statement names, and whether it only reads them (the same SQL text recurs with new params)."""
    tables = frozenset(_table_pattern().findall(sql))
    return tables, sql.lstrip()[:6].upper() == "SELECT"


class TableWatch:
    """A database execute wrapper: notes the tables a cached read's queries read, and gives every table a write
    touched a new version once its transaction commits (at once outside a transaction)."""

    def __init__(self, store: AnswerStore) -> None:
        self.store = store

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        result = execute(sql, params, many, context)
        tables, reads = _tables_in(sql)
        if not tables:
            return result
        if reads:
            reading = _reading.get()
            if reading is not None:
                reading.update(tables)
            return result
        on: BaseDatabaseWrapper = context["connection"]
        if not on.in_atomic_block:
            self._change(tables)
            return result
        _pending.setdefault(on, set()).update(tables)
        # One callback per write: a savepoint rolled back drops the callbacks made inside it, and the first that
        # runs after the commit changes every table the transaction wrote.
        on.on_commit(functools.partial(self._flush, on), robust=True)
        return result

    def _flush(self, on: BaseDatabaseWrapper) -> None:
        tables = _pending.pop(on, None)
        if tables:
            self._change(tables)

    def _change(self, tables: Iterable[str]) -> None:
        try:
            self.store.change(tables)
        except StoreUnreachable:
            log.exception(
                "answer cache: table versions not changed; answers may be up to %ss old",
                settings.ECANCEL_ANSWER_CACHE_SECONDS,
            )


def watch_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created``: every connection of a deployment with a shared store runs through ``TableWatch``."""
    store = answer_store()
    if store.enabled and not any(isinstance(w, TableWatch) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(TableWatch(store))


# --- keeping and finding answers ------------------------------------------------------------------------------------


def answer_key(*parts: object) -> str:
    """The key of an answer: a digest of everything it depends on besides the tables (caller, language, path)."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def kept_answer(store: AnswerStore, key: str) -> bytes | None:
    """The kept answer, opened, if every table it was read from still has the version it was read at."""
    sealed = store.kept(key)
    if sealed is None:
        return None
    try:
        return ANSWER_SEAL.open(sealed, name=key)
    except SealBroken:
        return None  # sealed under a key that has left the ring, or not for this key: build it again


class AnswerBuilding:
    """An answer being built: the versions of every table, read before its queries run, and the tables those queries
    read (noted by ``TableWatch`` from here until ``keep``)."""

    def __init__(self, store: AnswerStore, key: str) -> None:
        self.store, self.key = store, key
        self.before = store.versions(_known_tables())
        self.reading: set[str] = set()
        self._noting = _reading.set(self.reading)

    def keep(self, status: int, body: bytes | None) -> None:
        """Stop noting; keep a 200 answer under the versions its tables had before it was read."""
        _reading.reset(self._noting)
        if status != 200 or body is None or not self.reading:
            return
        tables = {name: self.before[name] for name in self.reading}
        try:
            self.store.keep(
                self.key,
                ANSWER_SEAL.seal(body, name=self.key),
                tables=tables,
                seconds=settings.ECANCEL_ANSWER_CACHE_SECONDS,
            )
        except StoreUnreachable:
            log.exception("answer cache: answer not kept")
