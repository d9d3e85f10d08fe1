"""The offline provider (the default): dlib faces, 5-point liveness, rapidocr + mrz reading, PyAV video.

Nothing is fetched at run time; every model ships in an installed package and loads once per process.
"""

from __future__ import annotations

import io
from datetime import date
from importlib.metadata import version

import dlib
import numpy as np
from PIL import Image

from ecancel.identity import faces, liveness
from ecancel.identity.providers.base import Decision, DocumentKind, FaceCapture, FaceStart, Outcome

FACE_MODEL = "dlib HOG/mmod + shape_predictor_5_face_landmarks + dlib_face_recognition_resnet_model_v1"
PORTRAIT_JPEG_QUALITY = 92


def _versions(*packages: str) -> str:
    return "; ".join(f"{name} {version(name)}" for name in packages)


def face_model_version() -> str:
    return f"dlib {dlib.__version__}; face_recognition_models {version('face_recognition_models')}"


def _decision(reasons: tuple[str, ...], *, unusable: frozenset[str] = frozenset()) -> Decision:
    if not reasons:
        return "passed"
    return "unusable" if any(reason in unusable for reason in reasons) else "failed"


def jpeg(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(faces.as_rgb(image)).save(buffer, "JPEG", quality=PORTRAIT_JPEG_QUALITY)
    return buffer.getvalue()


REFERENCE_UNUSABLE = frozenset(
    f"{code}_reference" for code in ("no_face", "several_faces", "too_dark", "face_too_small")
)


def _renamed(reasons: tuple[str, ...], other: str) -> list[str]:
    """Codes of a live-capture comparison: ``_a`` is the capture (suffix dropped), ``_b`` becomes ``other``."""
    renamed = []
    for code in reasons:
        if code.endswith("_a"):
            renamed.append(code.removesuffix("_a"))
        elif code.endswith("_b"):
            renamed.append(f"{code.removesuffix('_b')}_{other}")
        else:
            renamed.append(code if other == "reference" else f"{code}_{other}")
    return renamed


def _capture_frames(capture: FaceCapture) -> list[np.ndarray]:
    if capture.video is not None:
        return liveness.frames_from_video(capture.video)
    return [faces.load_image(frame) for frame in capture.frames]


class LocalProvider:
    """dlib + rapidocr + PyAV on this machine; the decision and every threshold are ours."""

    name = "local"

    def start_face_check(self, *, action: str, nonce: str, return_url: str, name: str, id_number: str) -> FaceStart:
        return FaceStart(nonce=nonce, action=action, capture_seconds=3.0)

    def finish_face_check(
        self, *, start: FaceStart, capture: FaceCapture, reference: bytes | None, previous: bytes | None
    ) -> Outcome:
        model = f"{FACE_MODEL}; liveness: 5-point head pose"
        model_version = face_model_version()
        threshold = faces.match_threshold()
        try:
            frames = _capture_frames(capture)
            reference_image = faces.load_image(reference) if reference is not None else None
            previous_image = faces.load_image(previous) if previous is not None else None
        except (faces.ImageUnusable, ValueError, OSError) as exc:
            code = getattr(exc, "code", "unreadable_capture")
            return Outcome("unusable", (code,), model, model_version, threshold=threshold)
        if reference_image is None:
            return Outcome("unusable", ("no_reference",), model, model_version, threshold=threshold)
        if start.action not in liveness.ACTIONS:
            return Outcome("unusable", ("no_action",), model, model_version, threshold=threshold)
        live = liveness.judge_action(frames, start.action)
        scores: dict[str, float] = {"yaw_change": live.yaw_change, "pitch_swing": live.pitch_swing}
        details = {"action": live.action, "frames": live.frames, "frames_with_face": live.frames_with_face}
        if not live.passed or live.best_frame is None:
            return Outcome("failed", live.reasons, model, model_version, scores, threshold, details)
        best = frames[live.best_frame]
        reasons: list[str] = []
        against_reference = faces.compare_faces(best, reference_image, threshold=threshold)
        scores["distance"] = against_reference.distance
        reasons.extend(_renamed(against_reference.reasons, "reference"))
        if previous_image is not None:
            against_previous = faces.compare_faces(best, previous_image, threshold=threshold)
            scores["distance_previous"] = against_previous.distance
            reasons.extend(_renamed(against_previous.reasons, "previous"))
        outcome_reasons = tuple(dict.fromkeys(reasons))
        return Outcome(
            _decision(outcome_reasons, unusable=REFERENCE_UNUSABLE),
            outcome_reasons,
            model,
            model_version,
            scores,
            threshold,
            details,
            portrait=jpeg(best),
        )

    def read_document(
        self,
        *,
        kind: DocumentKind,
        image: bytes,
        today: date,
        expected_name: str | None = None,
        expected_number: str | None = None,
    ) -> Outcome:
        from ecancel.identity.reading import read_document

        model = "rapidocr PP-OCR + mrz"
        model_version = _versions("rapidocr", "onnxruntime", "mrz")
        try:
            picture = faces.load_image(image)
        except faces.ImageUnusable as exc:
            return Outcome("unusable", (exc.code,), model, model_version)
        reading = read_document(
            kind, picture, expected_name=expected_name, expected_number=expected_number, today=today
        )
        portrait = None
        if reading.portrait_box is not None:
            left, top, right, bottom = reading.portrait_box
            portrait = jpeg(picture[top:bottom, left:right])
        return Outcome(
            "passed" if reading.passed else "failed",
            reading.reasons,
            model,
            model_version,
            details={"kind": kind, "fields": dict(reading.fields), "checks": dict(reading.checks)},
            portrait=portrait,
        )

    def check_video(self, *, video: bytes, text: str, portrait: bytes | None) -> Outcome:
        from ecancel.identity.video import analyse_video

        model = "PyAV demux + audio RMS + dlib faces"
        model_version = f"{_versions('av')}; {face_model_version()}"
        threshold = faces.match_threshold()
        try:
            portrait_image = faces.load_image(portrait) if portrait is not None else None
        except faces.ImageUnusable as exc:
            return Outcome("unusable", (exc.code,), model, model_version, threshold=threshold)
        analysis = analyse_video(video, portrait=portrait_image)
        scores: dict[str, float] = {"duration_s": analysis.duration_s}
        if analysis.audio_rms_db is not None:
            scores["audio_rms_db"] = analysis.audio_rms_db
        if analysis.face_distance_median is not None:
            scores["distance"] = analysis.face_distance_median
        details = {
            "container": analysis.container,
            "video_codec": analysis.video_codec,
            "audio_codec": analysis.audio_codec,
            "sampled_frames": analysis.sampled_frames,
            "frames_with_one_face": analysis.frames_with_one_face,
            "text": text,
        }
        decision = _decision(analysis.reasons, unusable=frozenset({"wrong_type", "no_video"}))
        return Outcome(decision, analysis.reasons, model, model_version, scores, threshold, details)

    def compare(self, *, image_a: bytes, image_b: bytes) -> Outcome:
        model, model_version = FACE_MODEL, face_model_version()
        threshold = faces.match_threshold()
        try:
            first, second = faces.load_image(image_a), faces.load_image(image_b)
        except faces.ImageUnusable as exc:
            return Outcome("unusable", (exc.code,), model, model_version, threshold=threshold)
        result = faces.compare_faces(first, second, threshold=threshold)
        scores = {} if np.isnan(result.distance) else {"distance": result.distance}
        decision: Decision = "passed" if result.same_person else "failed"
        return Outcome(decision, result.reasons, model, model_version, scores, threshold)
