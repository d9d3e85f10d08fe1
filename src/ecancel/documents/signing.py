"""PAdES signatures with an RFC 3161 timestamp and a visible organisation seal.

Every signature is an incremental update, so a document can carry several (the seller's, then the
notary's) and each keeps covering the bytes it signed. The stamp's text is set in a small subset of
Noto Sans CJK, embedded in the file, so a PDF/A document stays PDF/A after signing.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy
from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import Image
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter, DeveloperExtension
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext

from ecancel.accounts.models import Organisation, OrganisationKind
from ecancel.core.errors import DomainError, ValidationFailed
from ecancel.documents.fonts import SANS
from ecancel.documents.pki.backends import organisation_signer, trust_roots
from ecancel.documents.pki.revocation import LocalFirstFetcherBackend
from ecancel.documents.seal import cjk_face, seal_png
from ecancel.documents.timestamps import timestamper

PDF_A2_VERSION = (1, 7)
Level = Literal["B-T", "B-LTA"]
LEVELS: tuple[Level, ...] = ("B-T", "B-LTA")

STAMP_FONT_FILE = "NotoSansCJK-Regular.ttc"
STAMP_TEXT = "电子签章　%(when)s"
STAMP_TIME_FORMAT = "%Y-%m-%d %H:%M"
# Every character the stamp can print: its fixed words, digits and the punctuation of the time.
STAMP_CHARACTERS = "电子签章　" + "0123456789-: "
STAMP_FONT_SIZE = 7
SEAL_PX = 400
# A company seals contracts with its 合同专用章; a notary office uses its office seal, name and star only.
SEAL_BOTTOM_TEXT: dict[str, str] = {OrganisationKind.DEVELOPER: "合同专用章"}
# Default place of the stamp: bottom right of the page, in points (1/72 inch).
STAMP_WIDTH, STAMP_HEIGHT, PAGE_MARGIN = 118, 132, 42


@dataclass(frozen=True)
class _StampFont(FontEngineFactory):
    """Hands pyHanko the stamp font from memory, so nothing is re-read or left open per signature."""

    data: bytes
    font_size: int

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: object = None) -> GlyphAccumulator:
        return GlyphAccumulator(
            writer=writer, font_handle=io.BytesIO(self.data), font_size=self.font_size, obj_stream=obj_stream
        )


class SigningCertificateUnverified(DomainError):
    """A B-LTA signature carries proof that its certificate was good; without it none is made at all."""

    def __init__(self, organisation: Organisation) -> None:
        super().__init__(
            text=gettext_lazy(
                "无法验证“%(organisation_name)s”的签名证书（暂时取不到吊销信息，"
                "或证书不受本系统信任），未签署长期验证签名，请稍后重试或联系系统管理员"
            ),
            code="signing_certificate_unverified",
            http_status=503,
            params={"organisation_name": organisation.name},
        )


class PdfA2Writer(IncrementalPdfFileWriter):
    """Keeps a signed PDF/A-2 file at PDF 1.7, as its XMP says. pyHanko marks a document that an
    ECDSA P-256 key signs as PDF 2.0 (ISO 32002); PAdES on PDF 1.7 (the ESIC extension pyHanko also
    adds) already covers ECDSA, and a PDF/A-2 file must not claim a later PDF version."""

    def ensure_output_version(self, version: tuple[int, int]) -> None:
        super().ensure_output_version(min(version, PDF_A2_VERSION))

    def register_extension(self, ext: DeveloperExtension) -> None:
        if _version(str(ext.base_version)) <= PDF_A2_VERSION:
            super().register_extension(ext)


def _version(name: str) -> tuple[int, int]:
    major, _, minor = name.lstrip("/").partition(".")
    return int(major), int(minor or 0)


def sign_pdf(
    pdf: bytes,
    *,
    organisation: Organisation,
    level: Level = "B-T",
    field_name: str = "Signature1",
    reason: str = "",
    location: str = "",
    page: int = 0,
    box: tuple[int, int, int, int] | None = None,
) -> bytes:
    """The PDF with one more signature by ``organisation``: PAdES B-T, or B-LTA with validation data
    and a document timestamp. ``box`` is (x1, y1, x2, y2) in points on ``page``; default bottom right."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    writer = _writer(pdf)
    _check_field(writer, field_name)
    field_box = box or _default_box(writer, page)
    lta = level == "B-LTA"
    fetchers = LocalFirstFetcherBackend()
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
        name=organisation.name,
        embed_validation_info=lta,
        use_pades_lta=lta,
        validation_context=_validation_context(fetchers) if lta else None,
    )
    pdf_signer = signers.PdfSigner(
        metadata,
        organisation_signer(organisation),
        timestamper=timestamper(),
        stamp_style=_stamp_style(organisation.name, SEAL_BOTTOM_TEXT.get(organisation.kind, "")),
        new_field_spec=fields.SigFieldSpec(field_name, on_page=page, box=field_box),
    )
    when = timezone.localtime().strftime(STAMP_TIME_FORMAT)
    try:
        output = pdf_signer.sign_pdf(writer, appearance_text_params={"when": when})
    except SigningError as exc:
        if lta:
            raise SigningCertificateUnverified(organisation) from exc
        raise
    finally:
        asyncio.run(fetchers.close())
    return output.getvalue()


def _writer(pdf: bytes) -> PdfA2Writer:
    try:
        return PdfA2Writer(io.BytesIO(pdf))
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(gettext_lazy("待签署的文件不是有效的 PDF")) from exc


def _check_field(writer: IncrementalPdfFileWriter, field_name: str) -> None:
    for name, value, _ in fields.enumerate_sig_fields(writer.prev, filled_status=None):
        if name == field_name and value is not None:
            raise ValidationFailed(
                gettext_lazy("签名域“%(field)s”已经签署，请换一个签名域名称"), params={"field": field_name}
            )


def _default_box(writer: IncrementalPdfFileWriter, page: int) -> tuple[int, int, int, int]:
    try:
        page_ref, _ = writer.find_page_for_modification(page)
    except (PdfError, IndexError) as exc:
        raise ValidationFailed(gettext_lazy("PDF 中没有第 %(value)s 页"), params={"value": page + 1}) from exc
    media_box = page_ref.get_object().get("/MediaBox")
    width = float(media_box[2]) if media_box is not None else 595.0
    right = int(width) - PAGE_MARGIN
    return (right - STAMP_WIDTH, PAGE_MARGIN, right, PAGE_MARGIN + STAMP_HEIGHT)


def _validation_context(fetchers: LocalFirstFetcherBackend) -> ValidationContext:
    """Revocation data for every certificate that names where to find it (the local CA's CRL is made
    in-process); a certificate whose CRL cannot be had stops a B-LTA signature rather than weakening it."""
    return ValidationContext(
        trust_roots=trust_roots(), allow_fetching=True, revocation_mode="hard-fail", fetcher_backend=fetchers
    )


def _stamp_style(organisation_name: str, bottom_text: str) -> TextStampStyle:
    text_band = STAMP_FONT_SIZE * 2
    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        border_width=0,
        background=PdfImage(_seal_image(organisation_name, bottom_text)),
        background_opacity=0.92,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins(left=0, right=0, top=0, bottom=text_band),
        ),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MIN,
            margins=layout.Margins(left=0, right=0, top=0, bottom=1),
        ),
        text_box_style=TextBoxStyle(
            font=_StampFont(data=stamp_font(), font_size=STAMP_FONT_SIZE),
            font_size=STAMP_FONT_SIZE,
            border_width=0,
        ),
    )


@functools.lru_cache(maxsize=256)
def _seal_image(organisation_name: str, bottom_text: str) -> Image.Image:
    image = Image.open(io.BytesIO(seal_png(organisation_name, size_px=SEAL_PX, bottom_text=bottom_text)))
    image.load()
    return image


def stamp_font() -> bytes:
    """The stamp's font: one face of the Noto CJK collection cut down to the stamp's characters,
    made once and kept under the keys directory."""
    return _stamp_font(str(settings.ECANCEL_KEYS_DIR))


@functools.cache
def _stamp_font(keys_dir: str) -> bytes:
    source, index = cjk_face(STAMP_FONT_FILE, SANS)
    digest = hashlib.sha256(f"{source.name}|{index}|{STAMP_CHARACTERS}".encode()).hexdigest()[:16]
    cached = Path(keys_dir) / "fonts" / f"stamp-{digest}.otf"
    if cached.is_file():
        return cached.read_bytes()
    data = _subset_face(source, index, STAMP_CHARACTERS)
    cached.parent.mkdir(parents=True, exist_ok=True)
    # A private temporary name, then an atomic rename: two processes may make it at the same time.
    handle, temporary = tempfile.mkstemp(dir=cached.parent, prefix=f".{cached.name}.")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, cached)
    return data


def _subset_face(collection: Path, index: int, characters: str) -> bytes:
    logging.getLogger("fontTools.subset").setLevel(logging.WARNING)
    font = TTFont(str(collection), fontNumber=index)
    try:
        options = subset.Options()
        options.name_IDs = ["*"]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=characters)
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
        return out.getvalue()
    finally:
        font.close()
