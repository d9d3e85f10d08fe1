"""Liveness from a short capture: did the head make the move the server asked for?

The server picks the action (``turn_left``, ``turn_right`` or ``nod``) at random when the check starts;
the page records a few seconds of camera frames; here the head pose of every sampled frame is read
from dlib's five landmarks and the action is judged on how the pose moves across the frames:

- yaw: how far the base of the nose sits from the midpoint between the eyes, along the eye line, in
  inter-ocular distances (0 looking straight; positive when the nose moves to the image's right, which
  is the subject's left in an unmirrored camera frame);
- pitch: the same offset across the eye line (larger when the head tips back, smaller on a nod down).

A photo held to the camera makes no move (its pose stays put) and fails; blinks are not used — judging
them needs eyelid landmarks, which only the non-commercial 68-point model has.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np

from ecancel.identity.faces import as_rgb, detect_faces, face_landmarks

Action = Literal["turn_left", "turn_right", "nod"]
ACTIONS: tuple[Action, ...] = ("turn_left", "turn_right", "nod")

TURN_MIN_YAW = 0.08  # yaw change from the starting pose that counts as a turn (a still face jitters ~0.01)
NOD_MIN_PITCH = 0.08  # pitch swing that counts as a nod
STILL_MAX_POSE = 0.02  # pose range under which nothing moved
MIN_FRAMES = 4
MIN_FACE_SHARE = 0.6  # at least this share of frames must show exactly one face
SAMPLE_FPS = 5.0
MAX_FRAMES = 40


def random_action() -> Action:
    """The action a new face check asks for, chosen by the server."""
    return secrets.choice(ACTIONS)


@dataclass(frozen=True)
class HeadPose:
    yaw: float
    pitch: float


@dataclass(frozen=True)
class LivenessResult:
    action: str
    passed: bool
    reasons: tuple[str, ...]
    frames: int
    frames_with_face: int
    yaw_change: float  # toward the asked side for a turn, from the starting pose
    pitch_swing: float
    best_frame: int | None  # index of the most frontal frame with one face, for the face comparison


def head_pose(landmarks: np.ndarray) -> HeadPose:
    """Yaw and pitch ratios from dlib's five landmarks (see the module docstring)."""
    eye_right = landmarks[0:2].mean(axis=0)
    eye_left = landmarks[2:4].mean(axis=0)
    across = eye_right - eye_left
    spacing = float(np.linalg.norm(across))
    if spacing == 0.0:
        return HeadPose(yaw=0.0, pitch=0.0)
    unit = across / spacing
    down = np.array([-unit[1], unit[0]])
    offset = landmarks[4] - (eye_right + eye_left) / 2
    return HeadPose(yaw=float(offset @ unit) / spacing, pitch=float(offset @ down) / spacing)


def frames_from_video(data: bytes, *, fps: float = SAMPLE_FPS, max_frames: int = MAX_FRAMES) -> list[np.ndarray]:
    """RGB frames sampled from a video at about ``fps`` per second (PyAV; WebM or MP4)."""
    frames: list[np.ndarray] = []
    next_time = 0.0
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            when = float(frame.time) if frame.time is not None else next_time
            if when + 1e-6 < next_time:
                continue
            frames.append(frame.to_ndarray(format="rgb24"))
            next_time = when + 1.0 / fps
            if len(frames) >= max_frames:
                break
    return frames


def _most_frontal(poses: Sequence[tuple[int, HeadPose]]) -> int | None:
    """The frame facing the camera most squarely: least yaw, and pitch nearest the level start (the head at rest;
    a nod's lowered frames compare worse with the ID photo, so they are not picked for that)."""
    if not poses:
        return None
    level = float(np.median([pose.pitch for _, pose in poses[:2]]))
    return min(poses, key=lambda item: abs(item[1].yaw) + abs(item[1].pitch - level))[0]


def judge_action(frames: Sequence[np.ndarray], action: str) -> LivenessResult:
    """Whether the frames show one face making ``action``; reasons are stable codes."""
    if action not in ACTIONS:
        raise ValueError(f"unknown liveness action {action!r}")
    poses: list[tuple[int, HeadPose]] = []
    several = 0
    for index, frame in enumerate(frames):
        image = as_rgb(frame)
        found = detect_faces(image)
        if len(found) == 1:
            poses.append((index, head_pose(face_landmarks(image, found[0]))))
        elif len(found) > 1:
            several += 1

    def result(passed: bool, reasons: tuple[str, ...], yaw: float = 0.0, pitch: float = 0.0) -> LivenessResult:
        return LivenessResult(action, passed, reasons, len(frames), len(poses), yaw, pitch, _most_frontal(poses))

    if len(frames) < MIN_FRAMES:
        return result(False, ("too_few_frames",))
    if len(poses) < MIN_FACE_SHARE * len(frames):
        return result(False, ("several_faces",) if several >= len(frames) - len(poses) - several else ("no_face",))
    yaws = np.array([pose.yaw for _, pose in poses])
    pitches = np.array([pose.pitch for _, pose in poses])
    start_yaw = float(np.median(yaws[:2]))
    toward = 1.0 if action == "turn_left" else -1.0
    yaw_change = float(np.max((yaws - start_yaw) * toward))
    pitch_swing = float(pitches.max() - pitches.min())
    pose_range = max(float(yaws.max() - yaws.min()), pitch_swing)
    if pose_range < STILL_MAX_POSE:
        return result(False, ("no_motion",), yaw_change, pitch_swing)
    done = pitch_swing >= NOD_MIN_PITCH if action == "nod" else yaw_change >= TURN_MIN_YAW
    return result(done, () if done else ("action_not_done",), yaw_change, pitch_swing)
