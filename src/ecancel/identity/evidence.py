"""Identity evidence (face images, document photos, videos) encrypted at rest with AES-256-GCM.

The keys never live in the database: files are encrypted under the key ring's current key
(``core.keyring``) and read under whichever key of the ring their header names, in the framing every
encrypted file shares (``core.sealing``) with the magic ``EV1``: the header and the file's name are
bound in, so a file edited, truncated, swapped for another or moved fails to decrypt. Names are chosen
here, in a folder per purpose and UTC day (``identity/<purpose>/2026/12/05/<random>.bin``), so the hourly sweep of
files left by a rolled-back transaction lists only recent days; every read is written to the audit log.
``evidence_rekey`` re-encrypts a file under the current key in place.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.core.errors import DomainError, Text
from ecancel.core.keyring import key_ring
from ecancel.core.sealing import HEADER_BYTES, FileSeal, SealBroken
from ecancel.core.storage import Rewritten, dated_name, folder_names, storage_head, storage_rewrite

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation, User
    from ecancel.core.context import RequestContext

EVIDENCE_SEAL = FileSeal(b"EV1")
_PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,39}")
EVIDENCE_FOLDER = "identity"
# Files written before names carried their day have no date folders; they are read, rotated and purged alike.
_NAME = re.compile(r"identity/([a-z][a-z0-9_]{0,39})/(?:\d{4}/\d{2}/\d{2}/)?[0-9a-f]{32}\.bin")


class EvidenceUnreadable(DomainError):
    """A stored evidence file that cannot be given back; ``code`` says why."""

    def __init__(self, code: str, text: Text, en: str | None = None) -> None:
        super().__init__(text, en, code=code, http_status=409 if code != "evidence_missing" else 404)


def _unreadable(code: str) -> EvidenceUnreadable:
    messages = {
        "evidence_missing": _("证据文件不存在"),
        "evidence_tampered": _("证据文件已被改动或损坏，无法解密"),
        "evidence_other_key": _("证据文件由另一把密钥加密，无法解密"),
    }
    return EvidenceUnreadable(code, messages[code])


@dataclass(frozen=True)
class StoredEvidence:
    name: str  # storage name, chosen by the server
    sha256: str  # of the plaintext, for the case's evidence record
    size: int  # plaintext bytes


def evidence_put(content: bytes, *, purpose: str, now: datetime | None = None) -> StoredEvidence:
    """Encrypt and store ``content`` under a new server-chosen name in ``identity/<purpose>/`` and today's folder."""
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError(f"purpose must be lower-case letters, digits and underscores: {purpose!r}")
    name = dated_name(evidence_folder(purpose), ".bin", at=now or timezone.now())
    saved = default_storage.save(name, ContentFile(EVIDENCE_SEAL.seal(content, name=name)))
    if saved != name:  # a fresh UUID never collides; a storage renaming files would break the binding
        default_storage.delete(saved)
        raise RuntimeError(f"storage stored {name} as {saved}")
    return StoredEvidence(name=name, sha256=hashlib.sha256(content).hexdigest(), size=len(content))


def evidence_get(
    name: str, *, actor: User | None, organisation: Organisation | None, ctx: RequestContext | None
) -> bytes:
    """The decrypted content; the read is recorded (``identity.evidence.read``) whether it succeeds or not."""
    match = _NAME.fullmatch(name)
    if match is None or not default_storage.exists(name):
        raise _unreadable("evidence_missing")
    with default_storage.open(name, "rb") as handle:
        stored = handle.read()
    audit = {"name": name, "purpose": match.group(1)}
    try:
        content = _decrypt(stored, name)
    except EvidenceUnreadable as exc:
        record_event(
            "identity.evidence.read", actor=actor, organisation=organisation, ctx=ctx, data=audit, result=exc.code
        )
        raise
    record_event("identity.evidence.read", actor=actor, organisation=organisation, ctx=ctx, data=audit)
    return content


def evidence_delete(name: str) -> bool:
    """Remove a stored evidence file (at the end of its retention period); False if it was already gone."""
    if _NAME.fullmatch(name) is None:
        raise ValueError(f"not an evidence file name: {name!r}")
    if not default_storage.exists(name):
        return False
    default_storage.delete(name)
    return True


def evidence_folder(purpose: str) -> str:
    return f"{EVIDENCE_FOLDER}/{purpose}"


def evidence_purposes() -> list[str]:
    """The purposes that have files (one listing of the top folder: on object storage, its prefixes only)."""
    if not default_storage.exists(EVIDENCE_FOLDER):
        return []
    purposes, _files = default_storage.listdir(EVIDENCE_FOLDER)
    return sorted(p for p in purposes if _PURPOSE.fullmatch(p))


def evidence_names() -> Iterator[str]:
    """Every evidence file in the storage, purpose by purpose, in name order (a walk of everything: rotation only)."""
    for purpose in evidence_purposes():
        yield from sorted(name for name in folder_names(evidence_folder(purpose)) if _NAME.fullmatch(name))


def evidence_key_id(name: str) -> str | None:
    """The id of the key a stored file is encrypted under (None if it is missing or not an evidence file)."""
    if _NAME.fullmatch(name) is None or not default_storage.exists(name):
        return None
    return EVIDENCE_SEAL.key_id(storage_head(name, HEADER_BYTES))


def evidence_rekey(name: str) -> bool:
    """Re-encrypt a stored file under the ring's current key, replacing it whole; False if it already was, or was
    deleted meanwhile (a purge: it stays deleted).

    The file is checked to open under its old key first, and replaced atomically (a rename on a local disk, one
    PUT on an object store), so a process killed here leaves either the old file or the new one, both readable.
    """
    current = key_ring().current
    if _NAME.fullmatch(name) is None or not default_storage.exists(name):
        raise _unreadable("evidence_missing")

    def resealed(stored: bytes) -> bytes | None:
        if EVIDENCE_SEAL.key_id(stored) == current.key_id:
            return None
        return EVIDENCE_SEAL.seal(_decrypt(stored, name), name=name, key=current)

    return storage_rewrite(name, resealed) is Rewritten.DONE


def _decrypt(stored: bytes, name: str) -> bytes:
    try:
        return EVIDENCE_SEAL.open(stored, name=name)
    except SealBroken as exc:
        raise _unreadable(f"evidence_{exc.reason}") from None
