"""The seal image: drawn from the name, red and round, transparent around it, the same every time."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ecancel.core.errors import ValidationFailed
from ecancel.documents.seal import SEAL_RED, seal_png


def image(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def is_red(pixel: tuple[int, ...]) -> bool:
    r, g, b, a = pixel
    return a > 200 and r > 180 and g < 80 and b < 80


def test_seal_is_a_transparent_png_with_a_red_ring_and_star() -> None:
    picture = image(seal_png("中山市翠亨湾置业有限公司", size_px=400))

    assert picture.format == "PNG" and picture.mode == "RGBA" and picture.size == (400, 400)
    assert picture.getpixel((0, 0))[3] == 0 and picture.getpixel((399, 399))[3] == 0
    assert is_red(picture.getpixel((200, 200)))  # the star's centre
    assert is_red(picture.getpixel((200, 399 - 12)))  # the bottom of the ring
    assert is_red(picture.getpixel((10, 200)))  # the left of the ring
    opaque = [p[:3] for p in picture.get_flattened_data() if p[3] == 255]
    assert opaque and all(max(abs(c - s) for c, s in zip(p, SEAL_RED[:3], strict=True)) <= 2 for p in opaque)


def test_same_name_gives_the_same_bytes_and_other_names_other_seals() -> None:
    first = seal_png("广东省中山市中山公证处", bottom_text="公证专用章")

    assert first == seal_png("广东省中山市中山公证处", bottom_text="公证专用章")
    assert first != seal_png("广东省中山市中山公证处")
    assert first != seal_png("广东省中山市石岐公证处", bottom_text="公证专用章")


def test_the_name_is_drawn_along_the_upper_arc_not_across_the_middle() -> None:
    picture = image(seal_png("测试有限公司", size_px=300))
    top_band = sum(is_red(picture.getpixel((x, y))) for x in range(110, 190) for y in range(25, 70))
    bottom_band = sum(is_red(picture.getpixel((x, y))) for x in range(110, 190) for y in range(200, 260))

    assert top_band > 500
    assert bottom_band < top_band / 10


def test_rare_name_characters_are_drawn() -> None:
    plain = seal_png("吉房地产开发有限公司")

    assert seal_png("𠮷房地产开发有限公司") != plain
    assert seal_png("堃喆玥珺置业有限公司") != plain


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "不能为空"),
        ("   ", "不能为空"),
        ("笑脸😀有限公司", "没有这些字：😀"),
        ("很" * 41, "过长"),
    ],
)
def test_names_that_cannot_be_drawn_are_refused(name: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        seal_png(name)
    assert message in refused.value.zh


def test_size_is_bounded() -> None:
    with pytest.raises(ValidationFailed):
        seal_png("测试有限公司", size_px=10)
