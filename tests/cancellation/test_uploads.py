"""The power of attorney is judged by its content: PDF, JPEG or PNG, at most 10 MB."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ecancel.cancellation.uploads import MAX_BYTES, check_power_of_attorney
from ecancel.core.errors import ValidationFailed
from tests.cancellation.conftest import jpeg_bytes, pdf_bytes, png_bytes


def test_pdf_is_kept_as_is() -> None:
    data = pdf_bytes()
    checked = check_power_of_attorney(data)
    assert (checked.content, checked.content_type, checked.extension) == (data, "application/pdf", "pdf")


def test_images_are_re_encoded_without_exif() -> None:
    image = Image.new("RGB", (30, 20), (1, 2, 3))
    exif = Image.Exif()
    exif[0x010E] = "GPS here"  # ImageDescription
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    checked = check_power_of_attorney(out.getvalue())
    assert checked.content_type == "image/jpeg"
    assert b"GPS here" not in checked.content
    with Image.open(io.BytesIO(checked.content)) as again:
        assert again.size == (30, 20)
        assert not again.getexif()
    assert check_power_of_attorney(png_bytes()).content_type == "image/png"
    assert check_power_of_attorney(jpeg_bytes()).extension == "jpg"


def test_trailing_payload_after_png_is_dropped() -> None:
    checked = check_power_of_attorney(png_bytes() + b"<script>alert(1)</script>")
    assert b"<script>" not in checked.content


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "为空"),
        (b"GIF89a" + b"\0" * 50, "只能是PDF、JPEG或PNG"),
        (b"<html>%PDF-1.7</html>", "只能是PDF、JPEG或PNG"),
        (b"%PDF-1.7\nnot really a pdf", "已损坏"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "已损坏"),
        (b"\xff\xd8\xff\xe0" + b"junk" * 10, "已损坏"),
        (b"%PDF-" + b"0" * MAX_BYTES, "10MB"),
    ],
)
def test_refusals_say_what_is_wrong(data: bytes, expected: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_power_of_attorney(data)
    assert expected in refused.value.fields["power_of_attorney"].zh
