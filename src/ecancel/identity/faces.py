"""Faces, offline: find them, align them on five landmarks, embed them, compare them.

Built on dlib and the model files shipped in ``face_recognition_models`` — nothing is fetched at
run time. Detection is dlib's HOG detector first (fast), then its CNN detector (``mmod``) as the
fallback for small, dark or compressed faces. Alignment uses the 5-point landmark model only: the
68-point model was trained on iBUG 300-W, whose licence forbids commercial use.

The models load once per process (``load_models``) and stay in a module-level cache: a Celery
worker pays the ~1 s load once, not per check.

Reason codes are stable (they map to the messages a buyer reads, see ``identity.messages``):
``no_face_a``/``_b``, ``several_faces_a``/``_b``, ``too_dark_a``/``_b``, ``face_too_small_a``/``_b``
and ``mismatch``. ``_a`` is the first image given, ``_b`` the second.
"""

from __future__ import annotations

import importlib.util
import io
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import dlib
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# dlib's own choice for its ResNet embedding is 0.6; ours is tighter, measured in docs/benchmarks.md.
DEFAULT_MATCH_THRESHOLD = 0.5

# HOG scores: a real frontal face scores above ~0.8, the false hits on clothing and hair found when
# the image is upsampled score around 0.1. The CNN detector's confidence is on its own scale.
HOG_MIN_SCORE = 0.5
CNN_MIN_CONFIDENCE = 0.6
DETECT_MAX_SIDE = 640  # larger images are scaled down before detection (faces stay above 80 px)
CNN_MAX_SIDE = 400  # the CNN detector costs ~7 ms per 10k pixels on one core
MIN_FACE_PIXELS = 48  # narrower faces carry too little detail for the embedding
DARK_MEAN_LUMA = 40.0  # mean brightness (0-255) under which a missing face is put down to darkness
EMBEDDING_SIZE = 128
CNN_DETECTOR_FILE = "mmod_human_face_detector.dat"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
EMBEDDER_FILE = "dlib_face_recognition_resnet_model_v1.dat"
FACE_MODEL_FILES = (CNN_DETECTOR_FILE, LANDMARKS_FILE, EMBEDDER_FILE)


class ImageUnusable(ValueError):
    """The bytes are not an image we can read; ``code`` says why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class FaceBox:
    """A face found in an image, in that image's pixel coordinates."""

    left: int
    top: int
    right: int
    bottom: int
    score: float

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


@dataclass(frozen=True)
class FaceComparison:
    distance: float  # L2 distance of the two embeddings; NaN when either side had no usable face
    threshold: float
    same_person: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class _Models:
    hog: dlib.fhog_object_detector
    cnn: dlib.cnn_face_detection_model_v1
    landmarks: dlib.shape_predictor
    embedder: dlib.face_recognition_model_v1


_models: _Models | None = None
_models_lock = threading.Lock()


def model_dir() -> Path:
    """The folder of dlib model files inside the installed ``face_recognition_models`` package.

    Found without importing the package: its ``__init__`` imports ``pkg_resources``, which recent
    setuptools no longer ships.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def load_models() -> _Models:
    """The dlib models, loaded on first use and kept for the life of the process."""
    global _models
    if _models is None:
        with _models_lock:
            if _models is None:
                folder = model_dir()
                _models = _Models(
                    hog=dlib.get_frontal_face_detector(),
                    cnn=dlib.cnn_face_detection_model_v1(str(folder / CNN_DETECTOR_FILE)),
                    landmarks=dlib.shape_predictor(str(folder / LANDMARKS_FILE)),
                    embedder=dlib.face_recognition_model_v1(str(folder / EMBEDDER_FILE)),
                )
    return _models


def match_threshold() -> float:
    """``ECANCEL_FACE_MATCH_THRESHOLD`` when Django is configured, else the measured default."""
    from django.conf import settings

    if settings.configured:
        return float(getattr(settings, "ECANCEL_FACE_MATCH_THRESHOLD", DEFAULT_MATCH_THRESHOLD))
    return DEFAULT_MATCH_THRESHOLD


def load_image(data: bytes) -> np.ndarray:
    """Decode an image into RGB ``uint8`` (height × width × 3), turned upright by its EXIF orientation."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                upright = ImageOps.exif_transpose(opened)
                rgb = upright.convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageUnusable("unreadable_image", str(exc)) from exc
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data surfaces on load
        raise ImageUnusable("unreadable_image", str(exc)) from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def mean_luma(image: np.ndarray) -> float:
    """Mean brightness (ITU-R BT.601 weights) on 0-255."""
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return float(image[..., :3].astype(np.float32).mean(axis=(0, 1)) @ weights)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """The array dlib needs: contiguous ``uint8`` with three channels (grey is spread, alpha dropped)."""
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3], dtype=np.uint8)


def _scaled(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The image shrunk so its longer side is at most ``max_side``, and the factor used."""
    height, width = image.shape[:2]
    factor = min(1.0, max_side / max(height, width))
    if factor == 1.0:
        return image, 1.0
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    shrunk = Image.fromarray(image).resize(size, Image.Resampling.BILINEAR)
    return np.asarray(shrunk), factor


def _box(rect: dlib.rectangle, score: float, factor: float, shape: tuple[int, ...]) -> FaceBox:
    height, width = shape[:2]
    return FaceBox(
        left=max(0, round(rect.left() / factor)),
        top=max(0, round(rect.top() / factor)),
        right=min(width, round((rect.right() + 1) / factor)),
        bottom=min(height, round((rect.bottom() + 1) / factor)),
        score=float(score),
    )


def detect_faces(image: np.ndarray) -> list[FaceBox]:
    """Confident faces in an RGB image, best first.

    HOG at the image's own scale, then HOG on a 2× upsampled image (small faces), then the CNN
    detector: each step runs only when the one before found nothing.
    """
    models = load_models()
    image = as_rgb(image)
    small, factor = _scaled(image, DETECT_MAX_SIDE)
    for upsample in (0, 1):
        rects, scores, _ = models.hog.run(small, upsample, 0.0)
        found = [_box(r, s, factor, image.shape) for r, s in zip(rects, scores, strict=True) if s >= HOG_MIN_SCORE]
        if found:
            return sorted(found, key=lambda box: box.score, reverse=True)
    tiny, tiny_factor = _scaled(image, CNN_MAX_SIDE)
    upsample = 1 if max(tiny.shape[:2]) < CNN_MAX_SIDE // 2 else 0
    hits = models.cnn(tiny, upsample)
    found = [_box(h.rect, h.confidence, tiny_factor, image.shape) for h in hits if h.confidence >= CNN_MIN_CONFIDENCE]
    return sorted(found, key=lambda box: box.score, reverse=True)


def _rect(box: FaceBox) -> dlib.rectangle:
    return dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)


def face_landmarks(image: np.ndarray, box: FaceBox) -> np.ndarray:
    """The five landmarks of a face as a 5×2 float array of (x, y).

    Order (dlib's 5-point model): 0-1 the outer and inner corner of the eye on the image's right,
    2-3 the outer and inner corner of the eye on the image's left, 4 the base of the nose.
    """
    shape = load_models().landmarks(as_rgb(image), _rect(box))
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(5)], dtype=np.float64)


def face_embedding(image: np.ndarray, box: FaceBox) -> np.ndarray:
    """The 128-d embedding of a face, aligned on its five landmarks."""
    models = load_models()
    image = as_rgb(image)
    shape = models.landmarks(image, _rect(box))
    return np.asarray(models.embedder.compute_face_descriptor(image, shape), dtype=np.float64)


def embedding_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def single_face(image: np.ndarray, *, side: str) -> tuple[FaceBox | None, tuple[str, ...]]:
    """The one face of an image, or the reasons it has none usable (codes suffixed with ``side``)."""
    faces = detect_faces(image)
    if not faces:
        code = "too_dark" if mean_luma(image) < DARK_MEAN_LUMA else "no_face"
        return None, (f"{code}_{side}",)
    if len(faces) > 1:
        return None, (f"several_faces_{side}",)
    face = faces[0]
    if min(face.width, face.height) < MIN_FACE_PIXELS:
        return None, (f"face_too_small_{side}",)
    return face, ()


def compare_faces(a: np.ndarray, b: np.ndarray, *, threshold: float | None = None) -> FaceComparison:
    """Whether the one face in ``a`` and the one face in ``b`` are the same person.

    Each image must hold exactly one confident face; otherwise the comparison fails with the
    reasons of both sides and no distance.
    """
    limit = match_threshold() if threshold is None else threshold
    a, b = as_rgb(a), as_rgb(b)
    face_a, reasons_a = single_face(a, side="a")
    face_b, reasons_b = single_face(b, side="b")
    if face_a is None or face_b is None:
        return FaceComparison(distance=float("nan"), threshold=limit, same_person=False, reasons=reasons_a + reasons_b)
    distance = embedding_distance(face_embedding(a, face_a), face_embedding(b, face_b))
    same = distance <= limit
    return FaceComparison(distance=distance, threshold=limit, same_person=same, reasons=() if same else ("mismatch",))
