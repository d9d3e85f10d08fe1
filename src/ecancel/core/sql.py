"""Look-ups written in SQL, for the few reads that run on almost every request.

Building and compiling a query through the ORM costs about half a millisecond of Python on a 2-core server, several
times what running the query costs; the API token behind every API call and the buyer's status poll (every 1.5 s per
waiting phone) cannot spend that. A read here is written once as plain SQL that PostgreSQL and SQLite both run; its
column list comes from the models, and each value goes through the ORM's own converters into model instances, so the
callers get what the ORM would have given them. Everything else reads through the ORM.
"""

from __future__ import annotations

import datetime
import functools
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.expressions import Col


@dataclass(frozen=True)
class Loaded:
    """One model a read loads: the alias its table has in the SQL, and the fields it selects besides the primary key
    (all of them when none are named; the others load on first use, as with ``QuerySet.only``)."""

    model: type[Model]
    alias: str
    fields: tuple[str, ...] = ()

    def selected(self) -> list[Field[Any, Any]]:
        wanted = set(self.fields)
        return [
            field
            for field in self.model._meta.concrete_fields
            if not wanted or field.primary_key or field.attname in wanted
        ]


def read_first(loads: Sequence[Loaded], rest: str, params: Sequence[Any]) -> tuple[Model | None, ...] | None:
    """The first row of ``SELECT <the loads' columns> <rest>`` as one instance per load, or None without a row.

    A load whose primary key came back NULL (a LEFT JOIN that matched nothing) gives None in its place.
    """
    on = connections[DEFAULT_DB_ALIAS]
    sql, selected = _statement(tuple(loads), rest, on.vendor)
    with on.cursor() as cursor:
        cursor.execute(sql, [_bound(value, on) for value in params])
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)
    instances: list[Model | None] = []
    for chosen in selected:
        converted = [_converted(field, next(values), on) for field in chosen.fields]
        if converted[chosen.pk_index] is None:
            instances.append(None)
        else:
            instances.append(chosen.load.model.from_db(on.alias, chosen.attnames, converted))
    return tuple(instances)


@dataclass(frozen=True)
class _Selected:
    load: Loaded
    fields: tuple[Field[Any, Any], ...]
    attnames: list[str]
    pk_index: int


@functools.lru_cache(maxsize=64)
def _statement(loads: tuple[Loaded, ...], rest: str, vendor: str) -> tuple[str, tuple[_Selected, ...]]:
    """A read's SQL and what it selects of each model, worked out once per process (``vendor`` keys the quoting)."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    selected = []
    for load in loads:
        fields = tuple(load.selected())
        pk_index = next(index for index, field in enumerate(fields) if field.primary_key)
        selected.append(_Selected(load, fields, [field.attname for field in fields], pk_index))
    columns = ", ".join(
        f"{chosen.load.alias}.{quote(_column(field))}" for chosen in selected for field in chosen.fields
    )
    return f"SELECT {columns} {rest}", tuple(selected)


def _column(field: Field[Any, Any]) -> str:
    assert field.column is not None, field  # a concrete field always has its column
    return field.column


def _bound(value: Any, on: BaseDatabaseWrapper) -> Any:
    """A parameter as the database's driver takes it (SQLite keeps UUIDs as hex text)."""
    if isinstance(value, uuid.UUID) and not on.features.has_native_uuid_field:
        return value.hex
    if isinstance(value, datetime.datetime):
        return on.ops.adapt_datetimefield_value(value)
    return value


Converters = tuple[Col, list[Callable[[Any, Any, Any], Any]]]
# Per connection (each thread has its own), the converters of each field read: looking them up took as long as
# running them.
_converters: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[Field[Any, Any], Converters]] = (
    weakref.WeakKeyDictionary()
)


def _converted(field: Field[Any, Any], value: Any, on: BaseDatabaseWrapper) -> Any:
    """A column's value as the ORM gives it: the backend's converters (UUIDs, aware datetimes), then the field's own
    (``from_db_value``: decryption)."""
    known = _converters.setdefault(on, {})
    if field not in known:
        # As the ORM selects the column: a foreign key's takes its target's type (``cached_col`` would not).
        column = field.get_col(field.model._meta.db_table)
        known[field] = (column, [*on.ops.get_db_converters(column), *column.get_db_converters(on)])
    column, converters = known[field]
    for converter in converters:
        value = converter(value, column, on)
    return value
