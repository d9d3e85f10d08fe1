"""Test material for the identity engine: dlib's models loaded once, JPEG frames, and (from
``ecancel.identity.specimens``) head movements made from the one face we have."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ecancel.identity import faces
from ecancel.identity.specimens import face_crop, head_frames

__all__ = ["face_crop", "face_models", "head_frames", "jpeg"]


@pytest.fixture(scope="session")
def face_models() -> None:
    """Load dlib's models once for the test session (the module-level cache keeps them)."""
    faces.load_models()


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
