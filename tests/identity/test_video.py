"""The 15-second video: each rule passes a good video and fails a bad one with its reason code."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from pytest_django import Settings

from ecancel.identity.video import SAMPLE_FPS, SILENCE_DBFS, analyse_video, probe_video
from tests.identity import makers

SMALL = (320, 240)  # detection runs at 320 px anyway; smaller videos keep the tests quick


def test_a_good_webm_with_a_moving_face_passes_and_matches_the_portrait() -> None:
    result = analyse_video(makers.make_video(15, size=SMALL), portrait=makers.portrait())
    assert result.passed, result.reasons
    assert (result.container, result.video_codec, result.audio_codec) == ("webm", "vp8", "opus")
    assert result.duration_s == pytest.approx(15, abs=0.1)
    assert result.audio_rms_db is not None and result.audio_rms_db > SILENCE_DBFS
    assert 28 <= result.sampled_frames <= 32
    assert result.frames_with_one_face == result.sampled_frames
    assert result.face_distance_median is not None and result.face_distance_median < 0.4


def test_a_good_mp4_passes_without_a_portrait() -> None:
    result = analyse_video(makers.make_video(14, size=SMALL, container="mp4"), portrait=None)
    assert result.passed, result.reasons
    assert (result.container, result.video_codec, result.audio_codec) == ("mp4", "h264", "aac")
    assert result.face_distance_median is None


@pytest.mark.parametrize(("seconds", "reason"), [(12.5, "too_short"), (17.5, "too_long")])
def test_length_outside_fifteen_plus_minus_two_seconds(seconds: float, reason: str) -> None:
    result = analyse_video(makers.make_video(seconds, size=SMALL, face="still"), portrait=None)
    assert result.reasons == (reason,)
    assert not result.passed
    assert result.sampled_frames <= (15 + 2) * SAMPLE_FPS + 1  # nothing past the window is decoded


def test_no_audio_track_and_a_silent_track() -> None:
    assert analyse_video(makers.make_video(15, size=SMALL, audio=False), portrait=None).reasons == ("no_audio",)
    silent = analyse_video(makers.make_video(15, size=SMALL, silent=True), portrait=None)
    assert silent.reasons == ("silent",)
    assert silent.audio_rms_db is not None and silent.audio_rms_db < SILENCE_DBFS


@pytest.mark.slow  # every frame without a face goes through the CNN detector as well as HOG
def test_no_face() -> None:
    result = analyse_video(makers.make_video(15, size=(160, 120), face="none"), portrait=None)
    assert result.reasons == ("no_face",)
    assert result.frames_with_one_face == 0


def test_several_faces() -> None:
    result = analyse_video(makers.make_video(15, size=(640, 360), face="pair"), portrait=None)
    assert result.reasons == ("several_faces",)


def test_a_face_further_from_the_portrait_than_the_threshold_is_a_mismatch(settings: Settings) -> None:
    """The astronaut is the only face shipped with a package, so "another person" is a stricter threshold."""
    settings.ECANCEL_FACE_MATCH_THRESHOLD = 0.01
    result = analyse_video(makers.make_video(15, size=SMALL, face="still"), portrait=makers.portrait())
    assert result.reasons == ("face_mismatch",)
    assert result.face_distance_median is not None and result.face_distance_median > 0.01


def test_a_portrait_without_a_face_cannot_confirm_the_person() -> None:
    blank = np.full((300, 240, 3), 200, dtype=np.uint8)
    result = analyse_video(makers.make_video(15, size=SMALL, face="still"), portrait=blank)
    assert result.reasons == ("face_mismatch",)


def test_the_length_is_found_when_the_container_records_none() -> None:
    """Chrome's MediaRecorder writes WebM without a duration; the packets still tell it."""
    data = makers.make_video(15, size=SMALL, face="still")
    unknown_length = data.replace(b"\x44\x89", b"\xec\x89", 1)  # Duration element id → an unknown, skipped element
    with av.open(io.BytesIO(unknown_length)) as container:
        assert container.duration is None
    assert probe_video(unknown_length).duration_s == pytest.approx(15, abs=0.1)
    assert analyse_video(unknown_length, portrait=None).duration_s == pytest.approx(15, abs=0.1)


@pytest.mark.parametrize(
    "data",
    [makers.to_jpeg(makers.portrait()), b"<html></html>", b"\x1aE\xdf\xa3" + bytes(64)],
    ids=["jpeg", "html", "broken-webm"],
)
def test_anything_but_an_accepted_video_is_the_wrong_type(data: bytes) -> None:
    result = analyse_video(data, portrait=None)
    assert (result.reasons, result.passed) == (("wrong_type",), False)
