"""Identity evidence (face images, document photos, videos) encrypted at rest with AES-256-GCM.

The key never lives in the database: it is ``ECANCEL_EVIDENCE_KEY`` (Base64 of 32 bytes) when set,
otherwise ``keys/evidence.key`` in the data directory, created once (0600) on first use. A stored
file is ``EV1`` + the 8-byte key id (a SHA-256 prefix of the key, so a rotated key can be told
apart) + a random 12-byte nonce + the ciphertext with its tag. The header and the file's name are
bound in as associated data, so a file edited, truncated, swapped for another or moved fails to
decrypt. Names are chosen here; every read is written to the audit log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.core.errors import DomainError, Text
from ecancel.core.files import read_or_create_private

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation, User
    from ecancel.core.context import RequestContext

MAGIC = b"EV1"
KEY_ID_BYTES = 8
NONCE_BYTES = 12
HEADER_BYTES = len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES
_PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_NAME = re.compile(r"identity/([a-z][a-z0-9_]{0,39})/[0-9a-f]{32}\.bin")


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


@dataclass(frozen=True)
class _Key:
    key: bytes
    key_id: bytes


def _decode_key(text: str | bytes, source: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{source} must be Base64 of 32 bytes") from exc
    if len(key) != 32:
        raise ImproperlyConfigured(f"{source} must be Base64 of 32 bytes, not {len(key)} bytes")
    return key


def evidence_key() -> _Key:
    """The key from ``ECANCEL_EVIDENCE_KEY``, else the keys directory's key file (created once)."""
    configured = settings.ECANCEL_EVIDENCE_KEY
    if configured:
        key = _decode_key(configured.strip(), "ECANCEL_EVIDENCE_KEY")
    else:
        folder = Path(settings.ECANCEL_KEYS_DIR)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / "evidence.key"
        key = _decode_key(read_or_create_private(path, base64.b64encode(os.urandom(32))).strip(), str(path))
    return _Key(key=key, key_id=hashlib.sha256(key).digest()[:KEY_ID_BYTES])


def evidence_put(content: bytes, *, purpose: str) -> StoredEvidence:
    """Encrypt and store ``content`` under a new server-chosen name in ``identity/<purpose>/``."""
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError(f"purpose must be lower-case letters, digits and underscores: {purpose!r}")
    name = f"identity/{purpose}/{uuid.uuid4().hex}.bin"
    key = evidence_key()
    header = MAGIC + key.key_id + os.urandom(NONCE_BYTES)
    sealed = AESGCM(key.key).encrypt(header[-NONCE_BYTES:], content, header + name.encode())
    saved = default_storage.save(name, ContentFile(header + sealed))
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


def _decrypt(stored: bytes, name: str) -> bytes:
    if len(stored) < HEADER_BYTES + 16 or not stored.startswith(MAGIC):
        raise _unreadable("evidence_tampered")
    header, sealed = stored[:HEADER_BYTES], stored[HEADER_BYTES:]
    key = evidence_key()
    if header[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES] != key.key_id:
        raise _unreadable("evidence_other_key")
    try:
        return AESGCM(key.key).decrypt(header[-NONCE_BYTES:], sealed, header + name.encode())
    except InvalidTag as exc:
        raise _unreadable("evidence_tampered") from exc
