"""The envelope: the exact bytes that travel and are kept on both sides, and their signature.

The envelope is canonical JSON (sorted keys, no spaces, UTF-8)::

    {"v": 1, "id": UUID, "type": "materials.pushed", "sender": UUID, "recipient": UUID,
     "created_at": ISO-8601 UTC, "body_sha256": hex, "body": {...},
     "attachments": {"name": {"sha256": hex, "size": n, "data": base64}}}

Each delivery attempt signs ``{id}.{timestamp}.{envelope bytes}`` afresh (Standard Webhooks), so a
message retried hours later still passes the receiver's ±300 s window while its bytes stay the same.
Headers: ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256>`` or ``v1a,<base64 Ed25519>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ENVELOPE_VERSION = 1
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
SCHEME_HMAC = "v1"
SCHEME_ED25519 = "v1a"


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body_digest(body: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json(body))


def build_envelope(
    *,
    message_id: UUID,
    message_type: str,
    sender_id: UUID,
    recipient_id: UUID,
    created_at: datetime,
    body: Mapping[str, Any],
    attachments: Mapping[str, bytes],
) -> bytes:
    return canonical_json(
        {
            "v": ENVELOPE_VERSION,
            "id": str(message_id),
            "type": message_type,
            "sender": str(sender_id),
            "recipient": str(recipient_id),
            "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "body_sha256": body_digest(body),
            "body": dict(body),
            "attachments": {
                name: {"sha256": sha256_hex(data), "size": len(data), "data": base64.b64encode(data).decode()}
                for name, data in sorted(attachments.items())
            },
        }
    )


class EnvelopeInvalid(ValueError):
    """The bytes are not a well-formed envelope."""


@dataclass(frozen=True)
class Envelope:
    id: UUID
    type: str
    sender_id: UUID
    recipient_id: UUID
    created_at: datetime
    body_sha256: str
    body: dict[str, Any]
    attachments: dict[str, dict[str, Any]]

    def attachment_hashes(self) -> dict[str, str]:
        return {name: str(meta.get("sha256", "")) for name, meta in self.attachments.items()}

    def attachment_bytes(self, name: str) -> bytes:
        """The attachment's bytes, checked against its SHA-256; KeyError or EnvelopeInvalid otherwise."""
        meta = self.attachments[name]
        try:
            data = base64.b64decode(str(meta["data"]), validate=True)
        except (KeyError, binascii.Error, ValueError) as exc:
            raise EnvelopeInvalid(f"attachment {name!r} is not base64") from exc
        if sha256_hex(data) != meta.get("sha256") or len(data) != meta.get("size"):
            raise EnvelopeInvalid(f"attachment {name!r} does not match its SHA-256 or size")
        return data


def parse_envelope(raw: bytes) -> Envelope:
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != ENVELOPE_VERSION:
            raise EnvelopeInvalid("not an envelope of version 1")
        body, attachments = data["body"], data["attachments"]
        if not isinstance(body, dict) or not isinstance(attachments, dict):
            raise EnvelopeInvalid("body and attachments must be objects")
        if not all(isinstance(meta, dict) for meta in attachments.values()):
            raise EnvelopeInvalid("each attachment must be an object")
        created_at = datetime.fromisoformat(str(data["created_at"]))
        if created_at.tzinfo is None:
            raise EnvelopeInvalid("created_at must carry a time zone")
        return Envelope(
            id=UUID(str(data["id"])),
            type=str(data["type"]),
            sender_id=UUID(str(data["sender"])),
            recipient_id=UUID(str(data["recipient"])),
            created_at=created_at,
            body_sha256=str(data["body_sha256"]),
            body=body,
            attachments=attachments,
        )
    except EnvelopeInvalid:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise EnvelopeInvalid(f"malformed envelope: {exc.__class__.__name__}: {exc}") from exc


def signed_content(message_id: str, timestamp: int, raw: bytes) -> bytes:
    return f"{message_id}.{timestamp}.".encode() + raw


def sign_hmac(secret: bytes, message_id: UUID, timestamp: int, raw: bytes) -> str:
    digest = hmac.new(secret, signed_content(str(message_id), timestamp, raw), hashlib.sha256).digest()
    return f"{SCHEME_HMAC},{base64.b64encode(digest).decode()}"


def sign_ed25519(key: Ed25519PrivateKey, message_id: UUID, timestamp: int, raw: bytes) -> str:
    signature = key.sign(signed_content(str(message_id), timestamp, raw))
    return f"{SCHEME_ED25519},{base64.b64encode(signature).decode()}"


def signature_headers(message_id: UUID, timestamp: int, signature: str) -> dict[str, str]:
    return {HEADER_ID: str(message_id), HEADER_TIMESTAMP: str(timestamp), HEADER_SIGNATURE: signature}


def _signatures(header: str, scheme: str) -> list[bytes]:
    """The header may carry several space-separated signatures (key rotation); keep ours."""
    found = []
    for part in header.split():
        name, _, value = part.partition(",")
        if name == scheme:
            try:
                found.append(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError):
                continue
    return found


def verify_hmac(secret: bytes, message_id: str, timestamp: int, raw: bytes, header: str) -> bool:
    expected = hmac.new(secret, signed_content(message_id, timestamp, raw), hashlib.sha256).digest()
    return any(hmac.compare_digest(expected, candidate) for candidate in _signatures(header, SCHEME_HMAC))


def verify_ed25519(key: Ed25519PublicKey, message_id: str, timestamp: int, raw: bytes, header: str) -> bool:
    content = signed_content(message_id, timestamp, raw)
    for candidate in _signatures(header, SCHEME_ED25519):
        try:
            key.verify(candidate, content)
        except InvalidSignature:
            continue
        return True
    return False
