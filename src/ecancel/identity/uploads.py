"""Every file a buyer sends for identity checks, made safe before anything else reads it.

The type is decided by the content (``filetype`` reads the magic bytes), never by the file name or
the browser's claim. Images are fully decoded and re-encoded upright: EXIF (and its GPS position),
comments and anything appended after the image data — a ZIP or HTML tail making a polyglot — are
left behind. Videos are opened with PyAV: a container that does not open, has no picture or carries
codecs other than VP8/VP9 + Opus (WebM) or H.264 + AAC (MP4) is refused. Stored names are chosen by
the server (``identity.evidence``), so nothing here keeps the name the buyer gave.

Refusals carry a stable ``code`` (``empty``, ``too_large``, ``wrong_type``, ``truncated``,
``bomb``, ``too_many_pixels``, ``damaged``, ``no_video``, ``wrong_codec``) and a Chinese message
with the English beside it.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Literal

import filetype
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from ecancel.core.errors import FieldMessage, ValidationFailed
from ecancel.identity.video import VideoUnusable, probe_video

UploadKind = Literal["photo", "signature", "video"]

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
MAX_VIDEO_BYTES = 50 * 1024 * 1024
JPEG_QUALITY = 92

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG"}
VIDEO_TYPES = {"video/webm": "webm", "video/mp4": "mp4", "video/x-matroska": "webm"}

# code (with "/image" or "/video" where the message differs) -> the message, rendered where it is shown
REFUSALS: dict[str, Promise] = {
    "empty": _("文件为空，请重新上传"),
    "too_large/image": _("图片不能超过10MB"),
    "too_large/video": _("视频不能超过50MB"),
    "wrong_type/image": _("只能上传JPEG或PNG图片"),
    "wrong_type/video": _("只能上传WebM或MP4视频"),
    "truncated": _("文件不完整，请重新上传"),
    "bomb": _("图片解压后过大，已拒绝"),
    "too_many_pixels": _("图片像素过大（上限4000万像素）"),
    "damaged/image": _("图片已损坏，无法打开"),
    "damaged/video": _("视频已损坏，无法打开"),
    "no_video": _("文件中没有视频画面"),
    "wrong_codec": _("视频编码不受支持（WebM须为VP8/VP9+Opus，MP4须为H.264+AAC）"),
}


class UploadRefused(ValidationFailed):
    """A refused upload; ``code`` is stable (``too_large``, ``wrong_type``, ``truncated``, ``bomb``...)."""

    def __init__(self, code: str, *, field: str = "file") -> None:
        message = REFUSALS[code]
        super().__init__(message, fields={field: FieldMessage(message)})
        # The public code drops the "/image" or "/video" the message table needs.
        self.code = code.partition("/")[0]


@dataclass(frozen=True)
class CleanFile:
    """The bytes to store (re-encoded for images), what they are, and their fingerprint."""

    content: bytes
    media_type: str
    extension: str
    sha256: str
    width: int | None
    height: int | None
    duration_s: float | None


def sanitize_upload(data: bytes, *, kind: UploadKind) -> CleanFile:
    """The file as it will be stored, or ``UploadRefused`` saying what is wrong with it."""
    if not data:
        raise UploadRefused("empty")
    if kind == "video":
        return _clean_video(data)
    return _clean_image(data, keep_transparency=kind == "signature")


def _clean_image(data: bytes, *, keep_transparency: bool) -> CleanFile:
    if len(data) > MAX_IMAGE_BYTES:
        raise UploadRefused("too_large/image")
    guessed = filetype.guess_mime(data)
    pillow_format = IMAGE_TYPES.get(guessed or "")
    if pillow_format is None:
        raise UploadRefused("wrong_type/image")
    image = _decode(data, pillow_format)
    has_alpha = keep_transparency and ("A" in image.getbands() or "transparency" in image.info)
    pixels = image.convert("RGBA" if has_alpha and pillow_format == "PNG" else "RGB")
    pixels.info.clear()  # Pillow writes a carried-over comment, ICC profile or text chunk back out
    out = io.BytesIO()
    if pillow_format == "JPEG":
        pixels.save(out, format="JPEG", quality=JPEG_QUALITY)
        media_type, extension = "image/jpeg", "jpg"
    else:
        pixels.save(out, format="PNG", optimize=True)
        media_type, extension = "image/png", "png"
    content = out.getvalue()
    return CleanFile(
        content=content,
        media_type=media_type,
        extension=extension,
        sha256=hashlib.sha256(content).hexdigest(),
        width=image.width,
        height=image.height,
        duration_s=None,
    )


def _decode(data: bytes, pillow_format: str) -> Image.Image:
    """Fully decoded and turned upright; a warning about a decompression bomb counts as a bomb."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=[pillow_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadRefused("bomb") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadRefused("damaged/image") from exc
    with opened:
        width, height = opened.size
        if width * height > MAX_IMAGE_PIXELS:
            raise UploadRefused("too_many_pixels")
        try:
            opened.load()
            return ImageOps.exif_transpose(opened)
        except OSError as exc:
            # Pillow reports a file cut short as "image file is truncated" / "broken data stream".
            code = "truncated" if "truncated" in str(exc) or "broken" in str(exc) else "damaged/image"
            raise UploadRefused(code) from exc
        except (SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise UploadRefused("damaged/image") from exc


def _clean_video(data: bytes) -> CleanFile:
    if len(data) > MAX_VIDEO_BYTES:
        raise UploadRefused("too_large/video")
    container = VIDEO_TYPES.get(filetype.guess_mime(data) or "")
    if container is None:
        raise UploadRefused("wrong_type/video")
    try:
        probe = probe_video(data)
    except VideoUnusable as exc:
        code = {"no_video": "no_video", "wrong_type": "wrong_codec"}.get(exc.code, "damaged/video")
        raise UploadRefused(code) from exc
    if probe.container != container:
        raise UploadRefused("wrong_type/video")
    return CleanFile(
        content=data,
        media_type=f"video/{probe.container}",
        extension=probe.container,
        sha256=hashlib.sha256(data).hexdigest(),
        width=probe.width,
        height=probe.height,
        duration_s=probe.duration_s,
    )
