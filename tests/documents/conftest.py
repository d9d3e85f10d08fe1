"""Rendered samples shared by the document tests: each template is typeset once per session."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pytest
from pypdf import PdfReader

from ecancel.documents.render import RenderedDocument, render_document
from ecancel.documents.samples import SampleDocument, sample_documents

FIXED_TIME = dt.datetime(2026, 4, 10, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def samples() -> dict[str, SampleDocument]:
    return {s.template: s for s in sample_documents()}


@pytest.fixture(scope="session")
def rendered(samples: dict[str, SampleDocument]) -> dict[str, RenderedDocument]:
    return {name: render_document(name, s.data, images=s.images, timestamp=FIXED_TIME) for name, s in samples.items()}


def pdf_text(pdf: bytes) -> str:
    """All text of a PDF with whitespace removed (typst spaces CJK from Latin; tables wrap cells)."""
    reader = PdfReader(io.BytesIO(pdf))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def page_texts(pdf: bytes) -> Iterator[str]:
    for page in PdfReader(io.BytesIO(pdf)).pages:
        yield "".join(page.extract_text().split())
