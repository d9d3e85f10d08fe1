"""QR codes for the buyer hand-off link and the certificate's verification link.

Always a full QR symbol (never a Micro QR, which phone cameras do not read) with error level M or
better and the standard four-module quiet zone, so a print or a screen photo still scans.
"""

from __future__ import annotations

import io

import segno
from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import ValidationFailed

MAX_DATA_LENGTH = 1024
QUIET_ZONE = 4


def _symbol(data: str) -> segno.QRCode:
    if not data or len(data) > MAX_DATA_LENGTH:
        raise ValidationFailed(
            _("二维码内容不能为空，且不超过 %(MAX_DATA_LENGTH)s 个字符"), params={"MAX_DATA_LENGTH": MAX_DATA_LENGTH}
        )
    return segno.make_qr(data, error="m", boost_error=True)


def qr_png(data: str, *, scale: int = 8, dark: str = "#000000", light: str = "#ffffff") -> bytes:
    """A PNG of ``scale`` pixels per module, for screens and for embedding into documents."""
    out = io.BytesIO()
    _symbol(data).save(out, kind="png", scale=scale, border=QUIET_ZONE, dark=dark, light=light)
    return out.getvalue()


def qr_svg(data: str, *, dark: str = "#000000", light: str = "#ffffff") -> str:
    """A scalable SVG (viewBox only, no fixed size) to inline in a page or place in a PDF."""
    out = io.BytesIO()
    _symbol(data).save(
        out,
        kind="svg",
        border=QUIET_ZONE,
        dark=dark,
        light=light,
        xmldecl=False,
        omitsize=True,
        svgclass="qr",
        lineclass=None,
    )
    return out.getvalue().decode("ascii")
