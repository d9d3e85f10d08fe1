"""Handing a received file to a clerk: checked against its SHA-256, never sniffed, never cached."""

from __future__ import annotations

import hashlib

from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import DomainError
from ecancel.notary.models import ReceivedMaterial

EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class MaterialAltered(DomainError):
    def __init__(self) -> None:
        super().__init__(
            text=_("该材料的存储文件与收案时记录的 SHA-256 不一致，已拒绝提供；请联系系统管理员核查"),
            code="material_altered",
            http_status=409,
        )


def material_response(material: ReceivedMaterial, *, inline: bool) -> HttpResponse:
    with material.content.open("rb") as handle:
        content = handle.read()
    if hashlib.sha256(content).hexdigest() != material.sha256:
        raise MaterialAltered
    filename = (
        f"{material.get_kind_display()}-{material.case.case_number}.{EXTENSIONS.get(material.content_type, 'bin')}"
    )
    response = HttpResponse(content, content_type=material.content_type)
    response["Content-Disposition"] = content_disposition_header(not inline, filename) or "inline"
    response["X-Content-Type-Options"] = "nosniff"
    # The file came from another organisation: shown inline, it may run nothing and reach nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    patch_cache_control(response, private=True, no_store=True)
    return response
