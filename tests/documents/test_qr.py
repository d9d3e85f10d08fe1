"""QR codes decode back to what they carry: as PNG, as SVG, and printed on every certificate page."""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

import pytest
import typst
import zxingcpp
from PIL import Image

from ecancel.core.errors import ValidationFailed
from ecancel.documents import fonts
from ecancel.documents.qr import qr_png, qr_svg
from ecancel.documents.render import RenderedDocument
from ecancel.documents.samples import SampleDocument

HANDOFF = "http://127.0.0.1:8000/b/q/3vJ8yN1qk0bL2e7WZp4mXoRr9sT6uV5w"


def decoded(picture: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(picture) if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_png_decodes_back() -> None:
    png = qr_png(HANDOFF)
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG"
    assert decoded(picture) == [HANDOFF]


def test_png_scale_sets_the_module_size() -> None:
    small, large = (Image.open(io.BytesIO(qr_png(HANDOFF, scale=s))) for s in (4, 10))
    assert large.width == small.width * 10 // 4
    assert decoded(small) == [HANDOFF]


def test_svg_decodes_back_when_drawn() -> None:
    svg = qr_svg(HANDOFF)
    assert svg.startswith("<svg") and "viewBox" in svg and 'width="' not in svg.split(">")[0]
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "qr.svg").write_text(svg)
        (Path(root) / "main.typ").write_text(
            '#set page(width: 6cm, height: 6cm, margin: 0.5cm)\n#image("qr.svg", width: 100%)'
        )
        pages = typst.compile(
            str(Path(root) / "main.typ"),
            root=root,
            format="png",
            ppi=150,
            font_paths=[str(fonts.font_dir())],
            ignore_system_fonts=True,
        )
    assert isinstance(pages, bytes)
    assert decoded(Image.open(io.BytesIO(pages))) == [HANDOFF]


def test_empty_or_oversized_content_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        qr_png("")
    with pytest.raises(ValidationFailed):
        qr_svg("x" * 5000)


def test_every_certificate_page_carries_the_verification_qr(
    samples: dict[str, SampleDocument], rendered: dict[str, RenderedDocument]
) -> None:
    url = samples["certificate"].data["verification_url"]
    assert url.startswith("http://") and "/verify/?" in url
    with tempfile.TemporaryDirectory() as out:
        pdf = Path(out) / "certificate.pdf"
        pdf.write_bytes(rendered["certificate"].pdf)
        subprocess.run(["pdftoppm", "-r", "150", "-gray", "-png", str(pdf), str(Path(out) / "page")], check=True)
        pages = sorted(Path(out).glob("page-*.png"))
        assert len(pages) == rendered["certificate"].page_count
        for page in pages:
            with Image.open(page) as picture:
                assert decoded(picture) == [url], page.name
