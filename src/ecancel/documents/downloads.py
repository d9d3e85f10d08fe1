"""Handing a stored document to a browser, after the caller's own access checks."""

from __future__ import annotations

import io

from django.http import FileResponse

from ecancel.core.context import RequestContext
from ecancel.documents.models import StoredDocument
from ecancel.documents.services import document_read


def document_response(
    document: StoredDocument, *, inline: bool = False, ctx: RequestContext | None = None
) -> FileResponse:
    """The PDF as a download (``attachment``) or for printing in the browser (``inline``).

    The bytes are checked against the hash recorded at issue first; a changed file is refused with
    ``DocumentIntegrityError`` rather than served. Never cached, never sniffed as anything but a PDF.
    """
    content = document_read(document, ctx=ctx)
    response = FileResponse(
        io.BytesIO(content),
        as_attachment=not inline,
        filename=document.download_name,
        content_type="application/pdf",
    )
    response["Content-Length"] = str(len(content))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
