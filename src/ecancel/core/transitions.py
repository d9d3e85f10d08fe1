"""Guarded state machines: every stateful app declares a table of allowed moves.

A table maps each action to the statuses it may start from and where each goes. Where people often try an action
from a status that does not allow it, the table itself carries the sentence that tells them why (a :class:`Move`
with ``refused``), so the rule and its wording cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import InvalidTransition, Joined, Text

S = TypeVar("S", bound=models.TextChoices)


class HasStatus(Protocol):
    status: str


class Move(dict[S, S]):
    """One action's moves (from → to), with why it is refused from the statuses listed in ``refused``."""

    def __init__(self, moves: Mapping[S, S], *, refused: Mapping[S, Text] | None = None) -> None:
        super().__init__(moves)
        self.refused: dict[S, Text] = dict(refused or {})
        both = set(self.refused) & set(moves)
        if both:
            raise ValueError(f"statuses both allowed and refused: {sorted(both)}")


def allowed(obj: HasStatus, action: str, table: Mapping[str, Mapping[S, S]]) -> bool:
    """Whether the table lets ``obj`` make ``action`` from its current status: what pages ask before offering it."""
    return obj.status in table[action]


def transition(obj: HasStatus, action: str, table: Mapping[str, Mapping[S, S]], choices: type[S]) -> S:
    """The status ``action`` moves ``obj`` to, or a refusal saying why (the table's words, or where it is allowed)."""
    moves = table.get(action)
    if moves is None:
        raise ValueError(f"unknown action {action!r}")
    current = choices(obj.status)
    target = moves.get(current)
    if target is not None:
        return target
    worded = moves.refused.get(current) if isinstance(moves, Move) else None
    if worded is not None:
        raise InvalidTransition(worded)
    raise InvalidTransition(
        _("当前状态为「%(status)s」，不能执行该操作（仅在%(allowed)s时可以）"),
        params={"status": current.label, "allowed": Joined(choices(s).label for s in moves)},
    )
