"""Faces: exactly one confident face, 5-point aligned embeddings, a threshold from the settings."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image
from pytest_django import Settings

from ecancel.identity import faces
from tests.identity import makers
from tests.identity.engine_support import face_crop, face_models, jpeg

__all__ = ["face_models"]
pytestmark = pytest.mark.usefixtures("face_models")


def other_picture_of_the_same_face() -> np.ndarray:
    """Cropped differently, turned 5°, blurred and recompressed hard."""
    picture = Image.fromarray(face_crop()[10:240, 20:250]).rotate(5, resample=Image.Resampling.BILINEAR)
    return faces.load_image(jpeg(np.asarray(picture), quality=35))


def test_one_face_is_found_with_a_confident_score() -> None:
    found = faces.detect_faces(face_crop())
    assert len(found) == 1
    assert found[0].score >= faces.HOG_MIN_SCORE
    assert found[0].width >= faces.MIN_FACE_PIXELS


def test_embedding_is_128_numbers() -> None:
    image = face_crop()
    embedding = faces.face_embedding(image, faces.detect_faces(image)[0])
    assert embedding.shape == (128,)
    assert np.isfinite(embedding).all()


def test_the_same_person_matches() -> None:
    result = faces.compare_faces(face_crop(), other_picture_of_the_same_face())
    assert result.same_person, result
    assert result.reasons == ()
    assert result.distance < result.threshold == 0.5


def test_two_different_people_do_not_match() -> None:
    """The astronaut against Grace Hopper, even with the second photo taken badly."""
    result = faces.compare_faces(face_crop(), makers.phone_photo(makers.other_person()))
    assert not result.same_person
    assert result.reasons == ("mismatch",)
    assert result.distance > result.threshold


def test_the_threshold_comes_from_the_setting(settings: Settings) -> None:
    settings.ECANCEL_FACE_MATCH_THRESHOLD = 0.01
    result = faces.compare_faces(face_crop(), other_picture_of_the_same_face())
    assert result.threshold == 0.01
    assert not result.same_person
    assert result.reasons == ("mismatch",)


def test_no_face() -> None:
    blank = np.full((240, 240, 3), 180, dtype=np.uint8)
    result = faces.compare_faces(face_crop(), blank)
    assert not result.same_person
    assert result.reasons == ("no_face_b",)
    assert math.isnan(result.distance)


def test_too_dark() -> None:
    dark = (face_crop() * 0.05).astype(np.uint8)
    assert faces.compare_faces(dark, face_crop()).reasons == ("too_dark_a",)


def test_two_faces() -> None:
    two = np.concatenate([face_crop(), face_crop()], axis=1)
    assert faces.compare_faces(two, face_crop()).reasons == ("several_faces_a",)


def test_a_tiny_face_is_refused() -> None:
    small = np.asarray(Image.fromarray(face_crop()).resize((100, 100)))
    canvas = np.full((300, 300, 3), 200, dtype=np.uint8)
    canvas[100:200, 100:200] = small
    assert faces.compare_faces(canvas, face_crop()).reasons == ("face_too_small_a",)


def test_load_image_applies_exif_orientation() -> None:
    picture = Image.fromarray(np.zeros((20, 40, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    assert faces.load_image(buffer.getvalue()).shape == (40, 20, 3)


def test_load_image_refuses_what_is_not_an_image() -> None:
    with pytest.raises(faces.ImageUnusable) as caught:
        faces.load_image(b"%PDF-1.7 not a picture")
    assert caught.value.code == "unreadable_image"


def test_load_image_refuses_a_truncated_jpeg() -> None:
    with pytest.raises(faces.ImageUnusable):
        faces.load_image(jpeg(face_crop())[:2000])


def test_models_load_once_per_process() -> None:
    assert faces.load_models() is faces.load_models()


def test_model_files_are_the_5_point_ones() -> None:
    folder = faces.model_dir()
    assert (folder / "shape_predictor_5_face_landmarks.dat").is_file()
    assert not any("68" in name for name in faces.FACE_MODEL_FILES)
