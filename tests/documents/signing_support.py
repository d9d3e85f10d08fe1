"""Helpers for the signing and verification tests: small PDFs made here, tampering, a second CA."""

from __future__ import annotations

import io
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from ecancel.documents.pki.local_ca import LocalCA, SubjectInfo


def make_pdf(lines: tuple[str, ...] = ("Contract ZS2026000123", "Price 1580000.00"), pages: int = 2) -> bytes:
    """A plain A4 PDF whose first page shows ``lines`` in Helvetica."""
    writer = PdfWriter()
    for number in range(pages):
        page = writer.add_blank_page(595, 842)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        shown = lines if number == 0 else (f"Page {number + 1}",)
        text = " ".join(f"BT /F1 14 Tf 72 {760 - 24 * i} Td ({line}) Tj ET" for i, line in enumerate(shown))
        stream = DecodedStreamObject()
        stream.set_data(text.encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def flip_byte(pdf: bytes, marker: bytes) -> bytes:
    """The PDF with one bit changed inside the first occurrence of ``marker``."""
    position = pdf.index(marker) + len(marker) // 2
    changed = bytearray(pdf)
    changed[position] ^= 0x01
    return bytes(changed)


def append_page(pdf: bytes) -> bytes:
    """An incremental update that adds a page, as any PDF tool would."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def rewrite_text(pdf: bytes, old: str, new: str) -> bytes:
    """An incremental update that replaces text on the first page, leaving the signed bytes alone."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    page = writer.pages[0]
    contents = page.get_contents()
    assert contents is not None
    data = contents.get_data()
    assert old.encode() in data
    stream = DecodedStreamObject()
    stream.set_data(data.replace(old.encode(), new.encode()))
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_text(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def write_root_pem(ca: LocalCA, path: Path) -> Path:
    path.write_bytes(ca.root().certificate.public_bytes(serialization.Encoding.PEM))
    return path


def foreign_subject(name: str = "境外测试有限公司") -> SubjectInfo:
    return SubjectInfo(key="foreign-org", name=name, code="91440000FOREIGN01")


def retitle(pdf: bytes, title: str) -> bytes:
    """An incremental update that only rewrites the title in the document information dictionary."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def rewrite_xmp(pdf: bytes, old: str, new: str) -> bytes:
    """An incremental update that only replaces text in the XMP metadata stream."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    metadata = writer.root_object["/Metadata"].get_object()
    data = metadata.get_data()
    assert old.encode() in data
    stream = DecodedStreamObject()
    stream.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
    stream.set_data(data.replace(old.encode(), new.encode()))
    writer.root_object[NameObject("/Metadata")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_pdf_with_text_field(name: str = "price") -> bytes:
    """A one-page PDF with an empty text form field called ``name``."""
    writer = PdfWriter(io.BytesIO(make_pdf(pages=1)))
    field = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"),
            NameObject("/T"): TextStringObject(name),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (72, 600, 272, 620)]),
            NameObject("/F"): NumberObject(4),
            NameObject("/DA"): TextStringObject("/Helv 12 Tf 0 g"),
        }
    )
    reference = writer._add_object(field)
    writer.pages[0][NameObject("/Annots")] = ArrayObject([reference])
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): ArrayObject([reference])})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def fill_text_field(pdf: bytes, name: str, value: str) -> bytes:
    """An incremental update that fills a text form field, as a PDF viewer would."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.update_page_form_field_values(writer.pages[0], {name: value}, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
