"""Reading stored documents. Access checks belong to the caller (console views, API, /verify/)."""

from __future__ import annotations

import hmac

from ecancel.documents.models import StoredDocument, StoredDocumentQuerySet
from ecancel.documents.services import normalize_verification_code


def document_list(subject_ref: str, *, kind: str | None = None, latest_only: bool = False) -> StoredDocumentQuerySet:
    """Every version of every document of one subject, newest version first within a kind."""
    documents = StoredDocument.objects.for_subject(subject_ref).select_related("issuer", "supersedes")
    if kind is not None:
        documents = documents.filter(kind=kind)
    if latest_only:
        documents = documents.latest_versions()
    return documents.order_by("kind", "-version")


def document_latest(subject_ref: str, kind: str) -> StoredDocument | None:
    return StoredDocument.objects.for_subject(subject_ref).filter(kind=kind).order_by("-version").first()


def document_find_by_code(reference_no: str, verification_code: str) -> StoredDocument | None:
    """The document a certificate number and its printed verification code name, or None."""
    code = normalize_verification_code(verification_code)
    number = reference_no.strip()
    if not number or not code:
        return None
    # Found by its number, then the code (the secret) compared in constant time, not by an index lookup on it.
    typed = code.encode()
    found = None
    for document in StoredDocument.objects.filter(reference_no=number).order_by("-version"):
        if hmac.compare_digest(document.verification_code.encode(), typed) and found is None:
            found = document
    return found


def document_has_newer_version(document: StoredDocument) -> bool:
    """Whether a correction superseded this document, so a verifier can say it is not the latest."""
    return StoredDocument.objects.filter(supersedes=document).exists()
