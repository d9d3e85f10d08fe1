"""The archive of a certified case (归档): every document, received file, piece of evidence and sealed manifest in
one ZIP, with MANIFEST.json listing each file's SHA-256, kept encrypted in the evidence store.

Built outside any transaction (it reads and decrypts every file), stored by the certification's transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import filetype
from django.core.files.storage import default_storage

from ecancel.buyers.models import Journey
from ecancel.core.context import RequestContext
from ecancel.documents.models import StoredDocument
from ecancel.documents.services import PreparedDocument, document_read
from ecancel.identity.evidence import evidence_get, evidence_put
from ecancel.notary.models import NotaryCase

ARCHIVE_PURPOSE = "archive"
MANIFEST_NAME = "MANIFEST.json"


@dataclass(frozen=True)
class BuiltArchive:
    stored_name: str
    sha256: str
    size: int
    manifest: dict[str, Any]
    manifest_sha256: str

    def discard(self) -> None:
        """Remove the stored ZIP: the transaction that was to record it did not commit."""
        default_storage.delete(self.stored_name)


def _extension(content: bytes, fallback: str = "bin") -> str:
    kind = filetype.guess(content)
    return kind.extension if kind is not None else fallback


class _Zip:
    """Files added once each, their hashes listed for MANIFEST.json."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.archive = zipfile.ZipFile(self.buffer, "w", compression=zipfile.ZIP_DEFLATED)
        self.entries: list[dict[str, Any]] = []

    def add(self, path: str, content: bytes, **about: Any) -> None:
        self.archive.writestr(path, content)
        self.entries.append(
            {"path": path, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content), **about}
        )


def case_archive_build(
    case: NotaryCase, *, certificate: PreparedDocument, archived_at: datetime, ctx: RequestContext
) -> BuiltArchive:
    """The case's ZIP, with the certificate about to be stored, written encrypted; the caller records it."""
    office = case.office.organisation
    out = _Zip()
    documents = StoredDocument.objects.filter(subject_ref=case.subject_ref).order_by("kind", "version")
    for document in documents:
        out.add(
            f"documents/{document.kind}-v{document.version}.pdf",
            document_read(document, ctx=ctx),
            title=document.title,
            reference_no=document.reference_no,
        )
    out.add(
        f"documents/{certificate.kind}.pdf",
        certificate.pdf,
        title=certificate.title,
        reference_no=certificate.reference_no,
    )
    for material in case.materials.order_by("received_at", "kind"):
        with material.content.open("rb") as handle:
            out.add(f"received/{material.attachment_name}", handle.read(), kind=material.kind)
    journeys = Journey.objects.filter(case=case).select_related("buyer").order_by("buyer__position")
    for journey in journeys:
        folder = f"evidence/buyer-{journey.buyer.position}"
        for upload in journey.uploads.order_by("at"):
            content = evidence_get(upload.stored_name, actor=None, organisation=office, ctx=ctx)
            out.add(f"{folder}/uploads/{upload.slot}-{upload.pk}.{_extension(content)}", content, slot=upload.slot)
        for step in journey.checks.select_related("check_run").order_by("at"):
            check = step.check_run
            out.add(
                f"{folder}/checks/{step.purpose}-{check.pk}.json",
                json.dumps(
                    {
                        "kind": check.kind,
                        "status": check.status,
                        "provider": check.provider,
                        "model": check.model,
                        "scores": check.scores,
                        "threshold": check.threshold,
                        "reasons": check.reasons,
                        "challenge_text": check.challenge_text,
                        "finished_at": check.finished_at.isoformat() if check.finished_at else None,
                    },
                    ensure_ascii=False,
                    indent=1,
                ).encode(),
            )
            for item in check.evidence.exclude(stored_name="").order_by("pk"):
                content = evidence_get(item.stored_name, actor=None, organisation=office, ctx=ctx)
                out.add(
                    f"{folder}/checks/{step.purpose}-{check.pk}-{item.role}-{item.pk}.{_extension(content)}", content
                )
        manifest = getattr(journey, "manifest", None)
        if manifest is not None:
            out.add(f"{folder}/manifest.json", bytes(manifest.content))
            out.add(f"{folder}/manifest.p7s", bytes(manifest.signature))
    listing = {
        "case_number": case.case_number,
        "certificate_no": case.certificate_no,
        "office": office.name,
        "archived_at": archived_at.isoformat(),
        "files": out.entries,
    }
    listing_bytes = json.dumps(listing, ensure_ascii=False, indent=1).encode()
    out.archive.writestr(MANIFEST_NAME, listing_bytes)
    out.archive.close()
    stored = evidence_put(out.buffer.getvalue(), purpose=ARCHIVE_PURPOSE)
    return BuiltArchive(
        stored_name=stored.name,
        sha256=stored.sha256,
        size=stored.size,
        manifest=listing,
        manifest_sha256=hashlib.sha256(listing_bytes).hexdigest(),
    )
