"""Identity test data made on the spot: permits, phone-like distortions, face pairs, and (from
``ecancel.identity.specimens``) the ID card, passport page and video the self-test sends too.

Nothing is downloaded. Besides the specimens' astronaut, a second face for different-person pairs is the
Grace Hopper portrait matplotlib ships.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

import matplotlib.cbook
import numpy as np
from PIL import Image, ImageFilter

from ecancel.identity.specimens import (
    CJK_BOLD_FONT,
    CJK_FONT,
    INK,
    LABEL,
    MONO_FONT,
    IdCardFront,
    Passport,
    astronaut,
    card_canvas,
    font,
    make_video,
    paste_portrait,
    portrait,
    render_id_card_back,
    render_id_card_front,
    render_passport_page,
    rotated,
    td3_lines,
    to_jpeg,
)

__all__ = [
    "IdCardFront",
    "Passport",
    "Permit",
    "astronaut",
    "blurred",
    "make_video",
    "other_person",
    "phone_photo",
    "portrait",
    "recompressed",
    "render_id_card_back",
    "render_id_card_front",
    "render_passport_page",
    "render_permit",
    "rotated",
    "same_person_pair",
    "td3_lines",
    "to_jpeg",
    "to_png",
    "with_glare",
]


@cache
def other_person() -> np.ndarray:
    """A second real face, Grace Hopper's portrait as matplotlib ships it, for different-person pairs."""
    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    with Image.open(path) as picture:
        return np.asarray(picture.convert("RGB")).copy()


def to_png(image: np.ndarray | Image.Image) -> bytes:
    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


PermitKind = Literal["hk_macau_permit", "taiwan_permit", "foreign_permanent_residence"]
PERMIT_TITLES = {
    "hk_macau_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证",
    "foreign_permanent_residence": "中华人民共和国外国人永久居留身份证",
}


@dataclass(frozen=True)
class Permit:
    kind: PermitKind
    name: str
    latin_name: str
    number: str
    birth: date
    sex: str
    valid_from: date
    valid_to: date


def render_permit(permit: Permit) -> np.ndarray:
    """A permit card: title, names, birth date, sex, validity, number, portrait on the left."""
    card, draw = card_canvas((232, 240, 234))
    draw.text((40, 28), PERMIT_TITLES[permit.kind], font=font(CJK_BOLD_FONT, 34), fill=INK)
    paste_portrait(card, (40, 110, 250, 366))
    label, text = font(CJK_FONT, 24), font(CJK_FONT, 30)
    draw.text((290, 100), "姓名", font=label, fill=LABEL)
    draw.text((370, 94), permit.name, font=font(CJK_BOLD_FONT, 34), fill=INK)
    draw.text((370, 140), permit.latin_name, font=font(MONO_FONT, 28), fill=INK)
    draw.text((290, 196), "出生日期", font=label, fill=LABEL)
    draw.text((410, 192), f"{permit.birth:%Y.%m.%d}", font=text, fill=INK)
    draw.text((620, 196), "性别", font=label, fill=LABEL)
    draw.text((690, 192), permit.sex, font=text, fill=INK)
    draw.text((290, 256), "有效期限", font=label, fill=LABEL)
    draw.text((410, 252), f"{permit.valid_from:%Y.%m.%d}-{permit.valid_to:%Y.%m.%d}", font=text, fill=INK)
    draw.text((290, 316), "证件号码", font=label, fill=LABEL)
    draw.text((410, 310), permit.number, font=font(MONO_FONT, 36), fill=INK)
    return np.asarray(card)


# Phone-like distortions.


def blurred(image: np.ndarray, radius: float = 1.2) -> np.ndarray:
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))


def recompressed(image: np.ndarray, quality: int = 35) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(to_jpeg(image, quality))).convert("RGB"))


def with_glare(image: np.ndarray, centre: tuple[float, float] = (0.3, 0.3), strength: float = 0.45) -> np.ndarray:
    """A soft white highlight, as a ceiling light on a laminated card leaves."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    cx, cy = centre[0] * width, centre[1] * height
    spread = 0.18 * max(width, height)
    light = strength * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * spread**2))
    lit = image.astype(np.float32) + (255.0 - image.astype(np.float32)) * light[..., None]
    return lit.clip(0, 255).astype(np.uint8)


def phone_photo(image: np.ndarray) -> np.ndarray:
    """Rotation, blur, glare and low JPEG quality together."""
    return recompressed(with_glare(blurred(rotated(image, 3.0), 0.8)), quality=45)


def same_person_pair() -> tuple[np.ndarray, np.ndarray]:
    """Two different-looking pictures of one face: the portrait, and a cropped, turned, blurred, recompressed one."""
    base = astronaut()
    other = recompressed(blurred(rotated(base[10:330, 90:370], 6.0), 1.0), quality=40)
    return portrait(), other
