"""Round red organisation seals (电子印章 images), drawn from the organisation's name.

Drawn with Pillow in Noto Serif CJK SC Bold (the Song style of official seals) at three times the
requested size and scaled down, so edges are smooth; the same input always gives the same bytes.
"""

from __future__ import annotations

import functools
import io
import math
from pathlib import Path

from django.utils.translation import gettext_lazy as _
from fontTools.ttLib import TTCollection
from PIL import Image, ImageDraw, ImageFont

from ecancel.core.errors import ValidationFailed
from ecancel.documents.fonts import SERIF, find_font_files

SEAL_FONT_FILE = "NotoSerifCJK-Bold.ttc"
SEAL_RED = (214, 0, 28, 255)
# Transparent pixels carry the seal's colour too, so soft edges never darken when scaled or masked.
CLEAR = (*SEAL_RED[:3], 0)
SUPERSAMPLE = 3
MAX_NAME_LENGTH = 40
DEFAULT_SIZE_PX = 480


def seal_png(organisation_name: str, *, size_px: int = DEFAULT_SIZE_PX, bottom_text: str = "") -> bytes:
    """A transparent PNG: outer ring, the name along the upper arc, a star, optional text below it."""
    name = "".join(organisation_name.split())
    bottom = "".join(bottom_text.split())
    _check(name, bottom, size_px)
    big = size_px * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), CLEAR)
    draw = ImageDraw.Draw(image)
    centre = big / 2
    outer = big * 0.48
    ring = max(3, round(big * 0.034))
    draw.ellipse((centre - outer, centre - outer, centre + outer, centre + outer), outline=SEAL_RED, width=ring)
    _draw_arc_text(
        image, name, centre=centre, inner_radius=outer - ring - big * 0.025, size=big, max_span=215 if bottom else 240
    )
    _draw_star(draw, centre=(centre, centre - (big * 0.02 if bottom else 0)), radius=big * 0.15)
    if bottom:
        _draw_bottom_text(draw, bottom, centre=centre, size=big)
    small = image.reduce(SUPERSAMPLE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _check(name: str, bottom: str, size_px: int) -> None:
    if not name:
        raise ValidationFailed(_("印章上的机构名称不能为空"))
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(
            _("机构名称过长（最多 %(MAX_NAME_LENGTH)s 个字），无法刻入印章"),
            params={"MAX_NAME_LENGTH": MAX_NAME_LENGTH},
        )
    if not 64 <= size_px <= 2048:
        raise ValidationFailed(_("印章尺寸须在 64 到 2048 像素之间"))
    missing = sorted({ch for ch in name + bottom if ord(ch) not in _seal_charset()})
    if missing:
        raise ValidationFailed(_("印章字体中没有这些字：%(characters)s"), params={"characters": "".join(missing)})


@functools.cache
def cjk_face(file_name: str, family: str) -> tuple[Path, int]:
    """A Noto CJK collection file and the index of the named face (e.g. the SC one) within it."""
    path = find_font_files()[file_name]
    collection = TTCollection(str(path), lazy=True)
    try:
        for index, face in enumerate(collection.fonts):
            if face["name"].getDebugName(1) == family:
                return path, index
    finally:
        collection.close()
    raise LookupError(f"{path} has no {family} face")


def _seal_face() -> tuple[Path, int]:
    return cjk_face(SEAL_FONT_FILE, SERIF)


@functools.cache
def _seal_charset() -> frozenset[int]:
    path, index = _seal_face()
    collection = TTCollection(str(path), lazy=True)
    try:
        return frozenset(collection.fonts[index].getBestCmap())
    finally:
        collection.close()


@functools.cache
def _font(pixel_size: int) -> ImageFont.FreeTypeFont:
    path, index = _seal_face()
    return ImageFont.truetype(str(path), size=pixel_size, index=index)


def _char_tile(ch: str, pixel_size: int, *, squeeze: float) -> Image.Image:
    """One character in a square cell, narrowed as seal engravers do."""
    tile = Image.new("RGBA", (pixel_size, pixel_size), CLEAR)
    ImageDraw.Draw(tile).text((pixel_size / 2, pixel_size / 2), ch, font=_font(pixel_size), fill=SEAL_RED, anchor="mm")
    narrow = tile.resize((max(1, round(pixel_size * squeeze)), pixel_size), Image.Resampling.BILINEAR)
    cell = Image.new("RGBA", (pixel_size, pixel_size), CLEAR)
    cell.alpha_composite(narrow, ((pixel_size - narrow.width) // 2, 0))
    return cell


def _draw_arc_text(
    image: Image.Image, text: str, *, centre: float, inner_radius: float, size: int, max_span: float
) -> None:
    count = len(text)
    # Short names spread over a narrower arc; long ones use the whole upper arc and smaller characters.
    span = min(max_span, 27.0 * (count - 1))
    per_char = math.radians(span / (count - 1)) if count > 1 else 1.0
    pixel_size = max(8, round(min(size * 0.15, inner_radius * per_char * 0.92)))
    radius = inner_radius - pixel_size / 2
    step = span / (count - 1) if count > 1 else 0.0
    for i, ch in enumerate(text):
        angle = -span / 2 + i * step
        rotated = _char_tile(ch, pixel_size, squeeze=0.82).rotate(
            -angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=CLEAR
        )
        x = centre + radius * math.sin(math.radians(angle)) - rotated.width / 2
        y = centre - radius * math.cos(math.radians(angle)) - rotated.height / 2
        image.alpha_composite(rotated, (round(x), round(y)))


def _draw_star(draw: ImageDraw.ImageDraw, *, centre: tuple[float, float], radius: float) -> None:
    inner = radius * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else inner
        theta = math.radians(-90 + 36 * k)
        points.append((centre[0] + r * math.cos(theta), centre[1] + r * math.sin(theta)))
    draw.polygon(points, fill=SEAL_RED)


def _draw_bottom_text(draw: ImageDraw.ImageDraw, text: str, *, centre: float, size: int) -> None:
    pixel_size = round(min(size * 0.08, size * 0.44 / len(text)))
    font = _font(pixel_size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = centre - (right - left) / 2 - left
    y = centre + size * 0.27 - (bottom - top) / 2 - top
    draw.text((x, y), text, font=font, fill=SEAL_RED)
