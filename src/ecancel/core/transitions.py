"""Guarded state machines: every stateful app declares a table of allowed moves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import InvalidTransition, Joined

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
        raise InvalidTransition(
            _("当前状态为「%(status)s」，不能执行该操作（仅在%(allowed)s时可以）"),
            params={"status": current.label, "allowed": Joined(choices(s).label for s in moves)},
        )
    return target
