"""The application's move table: every status is reachable, closed ones are final, and refusals name the status."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ecancel.cancellation.transitions import CLOSED, EDITABLE, MOVES, ApplicationStatus, application_move
from ecancel.core.errors import InvalidTransition
from ecancel.core.transitions import Move


@dataclass
class Thing:
    status: str


def test_every_status_is_reachable_from_draft() -> None:
    reached = {ApplicationStatus.DRAFT}
    frontier = [ApplicationStatus.DRAFT]
    while frontier:
        current = frontier.pop()
        for moves in MOVES.values():
            target = moves.get(current)
            if target is not None and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(ApplicationStatus)


def test_closed_statuses_are_final_and_editable_ones_can_be_pushed_and_abandoned() -> None:
    for moves in MOVES.values():
        assert not CLOSED & set(moves)
    assert set(MOVES["push"]) == EDITABLE == set(MOVES["abandon"]) == set(MOVES["edit"])


def test_revoke_only_while_the_notary_office_holds_the_case() -> None:
    assert set(MOVES["request_revoke"]) == {ApplicationStatus.PUSHED, ApplicationStatus.AWAITING_BUYERS}
    assert set(MOVES["confirm_revoke"]) == set(MOVES["request_revoke"])
    assert set(MOVES["confirm_revoke"].values()) == {ApplicationStatus.DRAFT}


def test_a_worded_refusal_is_never_for_a_status_the_move_allows() -> None:
    for action, moves in MOVES.items():
        if isinstance(moves, Move):
            assert not set(moves.refused) & set(moves), action
    with pytest.raises(ValueError, match="both allowed and refused"):
        Move({ApplicationStatus.DRAFT: ApplicationStatus.PUSHED}, refused={ApplicationStatus.DRAFT: "?"})


@pytest.mark.parametrize("status", [s for s in ApplicationStatus if s not in EDITABLE])
def test_push_refused_outside_editable_statuses(status: ApplicationStatus) -> None:
    with pytest.raises(InvalidTransition) as refused:
        application_move(Thing(status), "push")
    worded = MOVES["push"].refused.get(status) if isinstance(MOVES["push"], Move) else None
    assert refused.value.zh == str(worded) if worded else str(status.label) in refused.value.zh
    assert refused.value.http_status == 409
