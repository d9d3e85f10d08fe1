"""Liveness: the server's action judged from 5-point head pose across frames."""

from __future__ import annotations

import pytest

from ecancel.identity import liveness
from tests.identity.engine_support import face_models, head_frames

__all__ = ["face_models"]
pytestmark = pytest.mark.usefixtures("face_models")


@pytest.mark.parametrize("action", ["turn_left", "turn_right", "nod"])
def test_the_asked_action_passes(action: str) -> None:
    result = liveness.judge_action(head_frames(action), action)
    assert result.passed, result
    assert result.reasons == ()
    assert result.best_frame is not None


@pytest.mark.parametrize("action", ["turn_left", "turn_right", "nod"])
def test_the_frame_compared_with_the_id_photo_is_one_with_the_head_at_rest(action: str) -> None:
    """A lowered head compares worse with the ID photo: a nodding buyer failed the face match now and then."""
    at_rest = {0, 1, 7}  # the frames of head_frames where the head has not moved
    assert liveness.judge_action(head_frames(action), action).best_frame in at_rest


@pytest.mark.parametrize(("performed", "asked"), [("turn_left", "turn_right"), ("turn_right", "turn_left")])
def test_the_other_direction_does_not_count(performed: str, asked: str) -> None:
    result = liveness.judge_action(head_frames(performed), asked)
    assert not result.passed
    assert result.reasons == ("action_not_done",)


def test_a_turn_is_not_a_nod() -> None:
    assert liveness.judge_action(head_frames("turn_left"), "nod").reasons == ("action_not_done",)


@pytest.mark.parametrize("action", liveness.ACTIONS)
def test_a_still_photo_held_to_the_camera_fails(action: str) -> None:
    result = liveness.judge_action(head_frames("still"), action)
    assert not result.passed
    assert result.reasons == ("no_motion",)


def test_too_few_frames() -> None:
    assert liveness.judge_action(head_frames("turn_left")[:2], "turn_left").reasons == ("too_few_frames",)


def test_frames_without_a_face() -> None:
    import numpy as np

    blank = [np.full((200, 200, 3), 128, dtype=np.uint8)] * 5
    assert liveness.judge_action(blank, "nod").reasons == ("no_face",)


def test_the_server_chooses_among_the_known_actions() -> None:
    assert {liveness.random_action() for _ in range(60)} == set(liveness.ACTIONS)


def test_an_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="blink"):
        liveness.judge_action(head_frames("still"), "blink")
