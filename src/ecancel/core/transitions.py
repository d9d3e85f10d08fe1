"""Guarded state machines: every stateful app declares a table of allowed moves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeVar

from django.db import models

from ecancel.core.errors import InvalidTransition

S = TypeVar("S", bound=models.TextChoices)


class HasStatus(Protocol):
    status: str


def allowed(obj: HasStatus, action: str, table: Mapping[str, Mapping[S, S]]) -> bool:
    """Whether the table lets ``obj`` make ``action`` from its current status: what pages ask before offering it."""
    return obj.status in table[action]


def transition(obj: HasStatus, action: str, table: Mapping[str, Mapping[S, S]], choices: type[S]) -> S:
    """The status ``action`` moves ``obj`` to, or a refusal naming the current status."""
    moves = table.get(action)
    if moves is None:
        raise ValueError(f"unknown action {action!r}")
    current = choices(obj.status)
    target = moves.get(current)
    if target is None:
        allowed = "、".join(str(choices(s).label) for s in moves)
        raise InvalidTransition(
            f"当前状态为「{current.label}」，不能执行该操作（仅在{allowed}时可以）",
            f"Not possible while the status is '{current.value}' (allowed from: {', '.join(moves)})",
        )
    return target
