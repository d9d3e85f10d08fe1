"""The buyer's 15-second video, judged on the server: type, length, sound, one face, the right face.

Accepted by content: WebM with VP8/VP9 video and Opus audio, MP4 with H.264 and AAC. The length
comes from the packets themselves — Chrome's MediaRecorder writes WebM without a duration in the
header — by demuxing (no decoding) to the last packet's end.

The audio is decoded and its RMS level measured in dBFS (0 dB = full scale). A quiet room picked up
by a phone microphone sits around -60 to -70 dBFS, speech at arm's length around -20 to -35 dBFS;
``SILENCE_DBFS`` (-50) sits between them, so a muted or empty track is ``silent``.

Faces are looked for in frames sampled ``SAMPLE_FPS`` times a second (every frame is decoded, since
inter frames need their predecessors, but only sampled frames are converted), scaled down to
``DETECT_SIDE`` before detection. Only the first 15 + 2 seconds are decoded: a longer upload is
``too_long`` whatever follows, and work and memory stay bounded. One face must be in at least
``ONE_FACE_SHARE`` of the samples (a failing video is ``several_faces`` when more of its failing
samples show several faces than none, else ``no_face``); when a document portrait is given, a few
of those frames are embedded and their median distance to the portrait decides ``face_mismatch``
(a portrait without a usable face also counts as a mismatch: nothing confirms the person).

Reason codes are stable: ``wrong_type``, ``no_video``, ``too_short``, ``too_long``, ``no_audio``,
``silent``, ``no_face``, ``several_faces``, ``face_mismatch``.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from ecancel.identity import faces

ALLOWED_CODECS = {"webm": ({"vp8", "vp9"}, {"opus"}), "mp4": ({"h264"}, {"aac"})}
SILENCE_DBFS = -50.0
FLOOR_DBFS = -120.0  # digital silence is reported as this rather than minus infinity
SAMPLE_FPS = 2.0
DETECT_SIDE = 320
ONE_FACE_SHARE = 0.8
MATCH_FRAMES = 3
SAMPLE_SLACK = 0.005  # seconds: frame times are rounded, so a frame due at 0.5 s may be stamped 0.499


class VideoUnusable(ValueError):
    """The bytes are not a video we accept; ``code`` is ``wrong_type``, ``no_video`` or ``damaged``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class VideoProbe:
    container: str  # "webm" or "mp4"
    video_codec: str
    audio_codec: str | None
    width: int
    height: int
    duration_s: float


@dataclass(frozen=True)
class VideoAnalysis:
    container: str
    video_codec: str
    audio_codec: str | None
    duration_s: float
    has_audio: bool
    audio_rms_db: float | None
    sampled_frames: int
    frames_with_one_face: int
    face_distance_median: float | None
    reasons: tuple[str, ...]
    passed: bool


def _container_kind(fmt: av.ContainerFormat) -> str | None:
    names = set(fmt.name.split(","))
    if names & {"matroska", "webm"}:
        return "webm"
    if names & {"mov", "mp4"}:
        return "mp4"
    return None


def _open(data: bytes) -> av.container.InputContainer:
    try:
        return av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError) as exc:
        raise VideoUnusable("wrong_type", str(exc)) from exc


def _streams(container: av.container.InputContainer) -> tuple[str, VideoStream, AudioStream | None]:
    """The container kind and its first video and audio stream, checked against the allowed codecs."""
    kind = _container_kind(container.format)
    if kind is None:
        raise VideoUnusable("wrong_type", f"container {container.format.name}")
    if not container.streams.video:
        raise VideoUnusable("no_video", "no video stream")
    video = container.streams.video[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    video_codecs, audio_codecs = ALLOWED_CODECS[kind]
    if video.codec_context.name not in video_codecs:
        raise VideoUnusable("wrong_type", f"video codec {video.codec_context.name} in {kind}")
    if audio is not None and audio.codec_context.name not in audio_codecs:
        raise VideoUnusable("wrong_type", f"audio codec {audio.codec_context.name} in {kind}")
    return kind, video, audio


class _Span:
    """The earliest start and latest end of the packets seen, in seconds."""

    def __init__(self) -> None:
        self.start = math.inf
        self.end = -math.inf

    def add(self, packet: av.Packet) -> None:
        if packet.pts is None or packet.time_base is None:
            return
        base = Fraction(packet.time_base)
        self.start = min(self.start, float(packet.pts * base))
        self.end = max(self.end, float((packet.pts + (packet.duration or 0)) * base))

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start) if self.end > self.start else 0.0


def probe_video(data: bytes) -> VideoProbe:
    """Container, codecs, picture size and length, read by demuxing only; ``VideoUnusable`` if refused."""
    with _open(data) as container:
        kind, video, audio = _streams(container)
        span = _Span()
        try:
            for packet in container.demux(*[s for s in (video, audio) if s is not None]):
                span.add(packet)
        except (av.FFmpegError, ValueError) as exc:
            raise VideoUnusable("damaged", str(exc)) from exc
        return VideoProbe(
            container=kind,
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio is not None else None,
            width=video.codec_context.width,
            height=video.codec_context.height,
            duration_s=round(span.seconds, 3),
        )


def _upright(frame: av.VideoFrame, longest_side: int) -> np.ndarray:
    """The frame as RGB, scaled (by swscale) so its longer side is at most ``longest_side``, turned upright."""
    factor = min(1.0, longest_side / max(frame.width, frame.height))
    width = max(2, round(frame.width * factor))
    height = max(2, round(frame.height * factor))
    rgb = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    turns = round(getattr(frame, "rotation", 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


@dataclass(frozen=True)
class _Sample:
    picture: np.ndarray  # for the embedding, at most faces.DETECT_MAX_SIDE
    small: np.ndarray  # for detection, at most DETECT_SIDE


def _rms_dbfs(sum_squares: float, count: int) -> float | None:
    if count == 0:
        return None
    rms = math.sqrt(sum_squares / count)
    return round(max(FLOOR_DBFS, 20 * math.log10(rms)), 1) if rms > 0 else FLOOR_DBFS


def _samples(frame: av.AudioFrame) -> np.ndarray:
    """Samples of an audio frame as floats in [-1, 1], whatever the decoder's sample format."""
    values = frame.to_ndarray()
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(np.float64) / float(np.iinfo(values.dtype.name).max)
    return values.astype(np.float64)


def _due(frame: av.VideoFrame, next_sample: float) -> bool:
    return frame.time is not None and frame.time + SAMPLE_SLACK > next_sample


def _packet_time(packet: av.Packet) -> float:
    if packet.pts is None or packet.time_base is None:
        return 0.0
    return float(packet.pts * Fraction(packet.time_base))


@dataclass
class _Decoded:
    span: _Span
    frames: list[_Sample]
    audio_sum_squares: float = 0.0
    audio_count: int = 0


def _decode(
    container: av.container.InputContainer, video: VideoStream, audio: AudioStream | None, *, window: float
) -> _Decoded:
    """Demux to the end (for the length) but decode only the first ``window`` seconds (bounded work and memory)."""
    decoded = _Decoded(span=_Span(), frames=[])
    next_sample = -math.inf
    for packet in container.demux(*[s for s in (video, audio) if s is not None]):
        decoded.span.add(packet)
        if _packet_time(packet) > window:
            continue
        for frame in packet.decode():
            if isinstance(frame, av.AudioFrame):
                samples = _samples(frame)
                decoded.audio_sum_squares += float(np.square(samples).sum())
                decoded.audio_count += samples.size
            elif isinstance(frame, av.VideoFrame) and _due(frame, next_sample):
                decoded.frames.append(_Sample(_upright(frame, faces.DETECT_MAX_SIDE), _upright(frame, DETECT_SIDE)))
                next_sample = max(next_sample, frame.time or 0.0) + 1 / SAMPLE_FPS
    return decoded


def _face_reasons(frames: list[_Sample], portrait: np.ndarray | None) -> tuple[tuple[str, ...], int, float | None]:
    """Reasons about faces, the count of frames seen with exactly one face, and the median portrait distance.

    Detection stops as soon as more samples lack a single face than ``ONE_FACE_SHARE`` allows: the
    verdict can no longer change, and frames without a face are the slowest to search.
    """
    one_face: list[tuple[np.ndarray, faces.FaceBox]] = []
    several = none = 0
    allowed_misses = math.floor(len(frames) * (1 - ONE_FACE_SHARE))
    for sample in frames:
        found = faces.detect_faces(sample.small)
        if len(found) == 1:
            factor = sample.picture.shape[1] / sample.small.shape[1]
            one_face.append((sample.picture, _scaled_box(found[0], factor)))
        elif found:
            several += 1
        else:
            none += 1
        if several + none > allowed_misses:
            return ("several_faces" if several > none else "no_face",), len(one_face), None
    if not one_face:
        return ("no_face",), 0, None
    if portrait is None:
        return (), len(one_face), None
    median = _portrait_distance(one_face, portrait)
    mismatch = median is None or median > faces.match_threshold()
    return ("face_mismatch",) if mismatch else (), len(one_face), median


def _scaled_box(box: faces.FaceBox, factor: float) -> faces.FaceBox:
    return faces.FaceBox(
        left=round(box.left * factor),
        top=round(box.top * factor),
        right=round(box.right * factor),
        bottom=round(box.bottom * factor),
        score=box.score,
    )


def _portrait_distance(one_face: list[tuple[np.ndarray, faces.FaceBox]], portrait: np.ndarray) -> float | None:
    """Median distance between the portrait's face and a few evenly spread video frames; None without a face."""
    portrait = faces.as_rgb(portrait)
    found = faces.detect_faces(portrait)
    if not found:
        return None
    reference = faces.face_embedding(portrait, found[0])
    step = max(1, len(one_face) // MATCH_FRAMES)
    picked = one_face[step // 2 :: step][:MATCH_FRAMES]
    distances = [faces.embedding_distance(reference, faces.face_embedding(frame, box)) for frame, box in picked]
    return float(np.median(distances))


def analyse_video(
    data: bytes, *, portrait: np.ndarray | None, expected_seconds: float = 15, tolerance: float = 2
) -> VideoAnalysis:
    """Everything the server decides about a video; ``passed`` only when no reason was found."""
    try:
        with _open(data) as container:
            kind, video, audio = _streams(container)
            video_codec = video.codec_context.name
            audio_codec = audio.codec_context.name if audio is not None else None
            decoded = _decode(container, video, audio, window=expected_seconds + tolerance)
    except VideoUnusable as exc:
        return _refused(exc.code if exc.code == "no_video" else "wrong_type")
    except (av.FFmpegError, ValueError):
        return _refused("wrong_type")
    reasons: list[str] = []
    duration = round(decoded.span.seconds, 3)
    if duration < expected_seconds - tolerance:
        reasons.append("too_short")
    elif duration > expected_seconds + tolerance:
        reasons.append("too_long")
    level = _rms_dbfs(decoded.audio_sum_squares, decoded.audio_count)
    if audio is None or level is None:
        reasons.append("no_audio")
    elif level < SILENCE_DBFS:
        reasons.append("silent")
    face_reasons, with_one_face, median = _face_reasons(decoded.frames, portrait)
    reasons.extend(face_reasons)
    return VideoAnalysis(
        container=kind,
        video_codec=video_codec,
        audio_codec=audio_codec,
        duration_s=duration,
        has_audio=audio is not None and level is not None,
        audio_rms_db=level,
        sampled_frames=len(decoded.frames),
        frames_with_one_face=with_one_face,
        face_distance_median=median,
        reasons=tuple(reasons),
        passed=not reasons,
    )


def _refused(code: str) -> VideoAnalysis:
    return VideoAnalysis(
        container="",
        video_codec="",
        audio_codec=None,
        duration_s=0.0,
        has_audio=False,
        audio_rms_db=None,
        sampled_frames=0,
        frames_with_one_face=0,
        face_distance_median=None,
        reasons=(code,),
        passed=False,
    )
