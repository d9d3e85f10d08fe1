"""The power of attorney upload: its type decided by content, never by the name or the browser's claim."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import NoReturn

from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from ecancel.core.errors import Text, field_error

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
FIELD = "power_of_attorney"


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    content_type: str
    extension: str


def _refuse(text: Text) -> NoReturn:
    raise field_error(FIELD, text)


def _check_pdf(data: bytes) -> CheckedFile:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                _refuse(_("授权委托书PDF已加密，请上传未加密的文件"))
            pages = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise field_error(FIELD, _("授权委托书PDF已损坏，无法打开")) from exc
    if pages < 1:
        _refuse(_("授权委托书PDF没有页面"))
    return CheckedFile(data, "application/pdf", "pdf")


def _check_image(data: bytes, fmt: str) -> CheckedFile:
    """Decode fully and re-encode: drops EXIF/GPS and anything smuggled after the image data."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
        with probe:
            if probe.format != fmt:
                _refuse(_("授权委托书图片格式与内容不符"))
            width, height = probe.size
            if width * height > MAX_PIXELS:
                _refuse(_("授权委托书图片像素过大（上限4000万像素）"))
            probe.load()
            image = probe.convert("RGB") if fmt == "JPEG" else probe.convert("RGBA")
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise field_error(FIELD, _("授权委托书图片已损坏，无法打开")) from exc
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, format="JPEG", quality=90)
        return CheckedFile(out.getvalue(), "image/jpeg", "jpg")
    image.save(out, format="PNG", optimize=True)
    return CheckedFile(out.getvalue(), "image/png", "png")


def check_power_of_attorney(data: bytes) -> CheckedFile:
    """The file as it will be stored, or a refusal saying what is wrong with it."""
    if not data:
        _refuse(_("授权委托书文件为空"))
    if len(data) > MAX_BYTES:
        _refuse(_("授权委托书文件不能超过10MB"))
    if data.startswith(b"%PDF-"):
        return _check_pdf(data)
    if data.startswith(b"\xff\xd8\xff"):
        return _check_image(data, "JPEG")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _check_image(data, "PNG")
    raise field_error(
        FIELD,
        _("授权委托书只能是PDF、JPEG或PNG文件"),
    )
