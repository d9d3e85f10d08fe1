"""How large an image the OCR's text detector should search: documents read correctly and CPU, side by side.

    uv run python benchmarks/ocr_detection.py [--sides 0,1280,960,800]

Every document the engine reads (ID card front and back, passport data page, the three permits) is rendered
(``tests/identity/makers.py``) and distorted the ways phones distort it: blur, glare, JPEG, rotation, enlarged like a
full-size photo, or small in a larger scene. Each is read with the expected name and number, once per detection side
(0: the engine's own default, which enlarges the shorter side to 736 pixels), in this one process, one OCR thread.
Prints Markdown for docs/benchmarks.md: documents read correctly, the ones that were not, and CPU seconds in all.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

from measure import django_in_process

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 12, 4)


def _in_scene(image: np.ndarray, scale: int) -> np.ndarray:
    """The document as a small part of a larger photo (a card on a table), left of centre."""
    height, width = image.shape[:2]
    scene = np.full((height * scale, width * scale, 3), (120, 110, 100), dtype=np.uint8)
    top, left = (height * scale - height) // 2, (width * scale - width) // 3
    scene[top : top + height, left : left + width] = image
    return scene


def _variants() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    from PIL import Image
    from tests.identity import makers

    def enlarged(image: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(image).resize((image.shape[1] * 3, image.shape[0] * 3), Image.BICUBIC))

    return {
        "plain": lambda image: image,
        "phone": makers.phone_photo,
        "blur": makers.blurred,
        "blur2": lambda image: makers.blurred(image, 2.0),
        "jpeg35": makers.recompressed,
        "glare": makers.with_glare,
        "rotated4": lambda image: makers.rotated(image, 4),
        "rotated-6": lambda image: makers.rotated(image, -6),
        "enlarged3": enlarged,
        "phone_enlarged3": lambda image: enlarged(makers.phone_photo(image)),
        "scene2": lambda image: _in_scene(image, 2),
        "scene3": lambda image: _in_scene(image, 3),
        "phone_scene2": lambda image: _in_scene(makers.phone_photo(image), 2),
    }


def _documents() -> list[tuple[str, np.ndarray, str | None, str | None]]:
    from tests.identity import makers
    from tests.identity.test_reading import PERMITS

    front, passport = makers.IdCardFront(), makers.Passport()
    documents = [
        ("id_card_front", makers.render_id_card_front(front), front.name, front.number),
        ("id_card_back", makers.render_id_card_back(), None, None),
        ("passport", makers.render_passport_page(passport), None, passport.number),
    ]
    documents += [(p.kind, makers.render_permit(p), p.latin_name, p.number) for p in PERMITS]
    return documents


def _read_all(side: int) -> tuple[int, list[str], float]:
    from rapidocr import RapidOCR

    from ecancel.identity import reading

    params = reading.ocr_params(1, side or 960)
    if not side:
        params = {key: value for key, value in params.items() if not key.startswith("Det.")}
    reading._engine = RapidOCR(params=params)
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    variants = _variants()
    missed: list[str] = []
    cpu = 0.0
    read = 0
    for kind, image, name, number in _documents():
        for label, distort in variants.items():
            photo = distort(image)
            began = time.process_time()
            result = reading.read_document(kind, photo, expected_name=name, expected_number=number, today=TODAY)
            cpu += time.process_time() - began
            read += 1
            if not result.passed:
                missed.append(f"{kind}/{label} ({', '.join(result.reasons)})")
    return read, missed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", default="0,1280,960,800", help="detection sides to compare; 0 = engine default")
    args = parser.parse_args()
    django_in_process(ROOT)
    print("| detection side | read correctly | CPU s (all) | not read |")
    print("|---|---|---|---|")
    for side in (int(value) for value in args.sides.split(",")):
        read, missed, cpu = _read_all(side)
        label = str(side) if side else "engine default (shorter side ≥ 736)"
        print(f"| {label} | {read - len(missed)}/{read} | {cpu:.1f} | {'; '.join(missed) or '—'} |", flush=True)


if __name__ == "__main__":
    main()
