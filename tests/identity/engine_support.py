"""Test material for the identity engine: head movements made from the one face we have.

A turn or a nod is imitated with a piecewise-affine warp that moves the middle of the face (nose and
mouth) sideways or up and down while the face outline stays put — in 2-D landmarks that is what a
real head turn looks like. Frames are cropped around the face so the warps stay cheap.
"""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import pytest
import skimage.data
from PIL import Image
from skimage.transform import PiecewiseAffineTransform, warp

from ecancel.identity import faces

FACE_CROP = (slice(20, 276), slice(95, 351))  # 256 × 256 around the astronaut's face


@pytest.fixture(scope="session")
def face_models() -> None:
    """Load dlib's models once for the test session (the module-level cache keeps them)."""
    faces.load_models()


@cache
def face_crop() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[FACE_CROP])


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@cache
def _posed(dx: float, dy: float) -> np.ndarray:
    """The face with its centre moved by (dx, dy) face widths."""
    image = face_crop()
    box = faces.detect_faces(image)[0]
    cx, cy, width = (box.left + box.right) / 2, (box.top + box.bottom) / 2, box.width
    height, side = image.shape[:2]
    src: list[tuple[float, float]] = []
    dst: list[tuple[float, float]] = []
    for x in np.linspace(0, side - 1, 4):
        for y in np.linspace(0, height - 1, 4):
            src.append((x, y))
            dst.append((x, y))
    for angle in np.linspace(0, 2 * np.pi, 12, endpoint=False):
        point = (cx + 0.75 * width * np.cos(angle), cy + 0.8 * width * np.sin(angle))
        src.append(point)
        dst.append(point)
    for ox, oy, weight in ((0, 0.1, 1.0), (-0.2, -0.1, 0.6), (0.2, -0.1, 0.6), (0, 0.3, 0.8)):
        point = (cx + ox * width, cy + oy * width)
        src.append(point)
        dst.append((point[0] + weight * dx * width, point[1] + weight * dy * width))
    transform = PiecewiseAffineTransform.from_estimate(np.array(dst), np.array(src))
    assert transform, "warp estimation failed"
    return np.ascontiguousarray(warp(image, transform, preserve_range=True).astype(np.uint8))


def head_frames(action: str) -> list[np.ndarray]:
    """Eight frames of the head making ``action`` ("turn_left", "turn_right", "nod") or holding "still"."""
    steps = (0.0, 0.0, 0.07, 0.14, 0.2, 0.2, 0.1, 0.0)
    if action == "still":
        return [face_crop()] * len(steps)
    if action == "nod":
        return [_posed(0.0, step * 0.75) for step in steps]
    sign = 1.0 if action == "turn_left" else -1.0
    return [_posed(sign * step, 0.0) for step in steps]
