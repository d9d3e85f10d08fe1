"""The local provider's face check: the live capture against the ID portrait and the first capture."""

from __future__ import annotations

import numpy as np
import pytest
from pytest_django import Settings

from ecancel.identity.messages import GENERAL_MESSAGE, reason_message
from ecancel.identity.providers.base import FaceCapture, FaceStart
from ecancel.identity.providers.local import LocalProvider
from ecancel.identity.providers.tencent import _FACE_FAILURES, _OCR_FAILURES
from ecancel.identity.uploads import REFUSALS, UploadRefused
from tests.identity.engine_support import face_crop, face_models, head_frames, jpeg

__all__ = ["face_models"]
pytestmark = pytest.mark.usefixtures("face_models")

provider = LocalProvider()
TURN = FaceStart(nonce="n", action="turn_left")
CAPTURE = FaceCapture(frames=tuple(jpeg(frame) for frame in head_frames("turn_left")))


def test_the_capture_matches_the_portrait_and_the_first_capture() -> None:
    outcome = provider.finish_face_check(
        start=TURN, capture=CAPTURE, reference=jpeg(face_crop()), previous=jpeg(face_crop(), quality=60)
    )
    assert outcome.decision == "passed", outcome
    assert set(outcome.scores) == {"yaw_change", "pitch_swing", "distance", "distance_previous"}
    assert outcome.portrait is not None


def test_a_portrait_without_a_face_makes_the_check_unusable_not_failed() -> None:
    wall = jpeg(np.full((200, 160, 3), 200, dtype=np.uint8))
    outcome = provider.finish_face_check(start=TURN, capture=CAPTURE, reference=wall, previous=None)
    assert (outcome.decision, outcome.reasons) == ("unusable", ("no_face_reference",))


def test_a_different_face_from_the_first_capture_fails(settings: Settings) -> None:
    settings.ECANCEL_FACE_MATCH_THRESHOLD = 1e-6
    outcome = provider.finish_face_check(start=TURN, capture=CAPTURE, reference=None, previous=None)
    assert (outcome.decision, outcome.reasons) == ("unusable", ("no_reference",))
    outcome = provider.finish_face_check(
        start=TURN, capture=CAPTURE, reference=jpeg(face_crop()), previous=jpeg(face_crop(), quality=30)
    )
    assert outcome.reasons == ("mismatch", "mismatch_previous")


def test_every_reason_code_has_plain_words() -> None:
    codes = {
        *_FACE_FAILURES.values(),
        *_OCR_FAILURES.values(),
        *(UploadRefused(code).code for code in REFUSALS),
        *("no_face_a", "several_faces_b", "too_dark_a", "face_too_small_b", "mismatch", "mismatch_previous"),
        *("no_face_reference", "several_faces_reference", "too_dark_reference", "face_too_small_reference"),
        *("too_few_frames", "no_motion", "action_not_done", "replayed_capture", "nonce_mismatch", "no_reference"),
        *("too_short", "too_long", "no_audio", "silent", "no_face", "several_faces", "face_mismatch", "video_reused"),
        *("document_expired", "number_mismatch", "name_mismatch", "wrong_document", "document_kind_unsupported"),
        *("number_invalid", "birth_mismatch", "sex_mismatch", "not_yet_valid", "mrz_unreadable", "mrz_invalid"),
        *("missing_name", "missing_number", "missing_valid_until"),
    }
    missing = sorted(code for code in codes if reason_message(code) == str(GENERAL_MESSAGE))
    assert missing == []
