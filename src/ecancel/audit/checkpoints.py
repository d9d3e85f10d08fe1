"""Signed checkpoints of the audit chain, kept outside the database.

A hash chain alone cannot show that its last rows were deleted and the head rewound, nor that the whole
table was rewritten: whoever can write the table can recompute every hash. A checkpoint records the
chain's length and last hash at a moment, signed with this deployment's Ed25519 key and timestamped by
the timestamp authority; it is appended to a file under ``ECANCEL_AUDIT_CHECKPOINT_DIR`` and (see
``exchange.checkpoints``) sent to the peer deployment. ``audit_chain_verify`` then checks that every
checkpoint is still a prefix of the chain.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.utils import timezone

from ecancel.audit.models import AuditChainHead
from ecancel.audit.services import audit_chain_extend, canonical_json, record_event
from ecancel.core.context import RequestContext
from ecancel.core.files import read_or_create_private

CHECKPOINT_FILE = "checkpoints.jsonl"
_append_lock = threading.Lock()

Timestamper = Callable[[bytes], bytes]
"""SHA-256 digest in, a DER RFC 3161 timestamp token over it out."""


@dataclass(frozen=True)
class Checkpoint:
    rows: int
    head_hash: str
    created_at: datetime
    public_key: str
    signature: str
    timestamp_token: str

    @property
    def label(self) -> str:
        return self.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def payload(self) -> bytes:
        """The signed statement: how long the chain was and how it ended, and when."""
        return checkpoint_payload(self.rows, self.head_hash, self.created_at)

    def line(self) -> str:
        return canonical_json(
            {
                "rows": self.rows,
                "head_hash": self.head_hash,
                "created_at": _iso(self.created_at),
                "public_key": self.public_key,
                "signature": self.signature,
                "timestamp_token": self.timestamp_token,
            }
        )


class CheckpointInvalid(Exception):
    """A line of the checkpoint file that is unreadable or not signed by this deployment's key."""


def checkpoint_payload(rows: int, head_hash: str, created_at: datetime) -> bytes:
    return canonical_json(
        {"chain": "ecancel.audit", "rows": rows, "head_hash": head_hash, "created_at": _iso(created_at)}
    ).encode()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def checkpoint_dir() -> Path:
    path = Path(settings.ECANCEL_AUDIT_CHECKPOINT_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def signing_key_path() -> Path:
    directory = Path(settings.ECANCEL_KEYS_DIR) / "audit"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory / "checkpoint.ed25519"


def signing_key() -> Ed25519PrivateKey:
    """The deployment's checkpoint key (created on first use, 0600 beside the other keys)."""
    raw = read_or_create_private(signing_key_path(), secrets.token_bytes(32))
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def checkpoint_write(*, timestamper: Timestamper | None, ctx: RequestContext | None = None) -> Checkpoint:
    """Chain what has committed, then sign, timestamp and append a checkpoint of the chain as it stands."""
    audit_chain_extend()
    head = AuditChainHead.objects.filter(id=1).first()
    rows, head_hash = (head.seq, head.row_hash) if head is not None else (0, "0" * 64)
    created_at = timezone.now()
    payload = checkpoint_payload(rows, head_hash, created_at)
    key = signing_key()
    token = timestamper(hashlib.sha256(payload).digest()) if timestamper is not None else b""
    checkpoint = Checkpoint(
        rows=rows,
        head_hash=head_hash,
        created_at=created_at,
        public_key=public_key_b64(key),
        signature=base64.b64encode(key.sign(payload)).decode(),
        timestamp_token=base64.b64encode(token).decode(),
    )
    _append(checkpoint)
    record_event(
        "audit.checkpoint.written",
        data={"rows": rows, "head_hash": head_hash, "timestamped": bool(token)},
        ctx=ctx,
    )
    return checkpoint


def _append(checkpoint: Checkpoint) -> None:
    """One line at the end of the file, flushed to disk before returning; earlier lines are never rewritten."""
    path = checkpoint_dir() / CHECKPOINT_FILE
    with _append_lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (checkpoint.line() + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def checkpoints_read() -> list[Checkpoint]:
    """Every checkpoint in the file, oldest first; CheckpointInvalid names the first bad line."""
    path = checkpoint_dir() / CHECKPOINT_FILE
    if not path.exists():
        return []
    public_key = signing_key().public_key()
    found = []
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if text.strip():
            found.append(_parse(text, number, public_key))
    return found


def _parse(text: str, number: int, public_key: Ed25519PublicKey) -> Checkpoint:
    try:
        fields = json.loads(text)
        checkpoint = Checkpoint(
            rows=int(fields["rows"]),
            head_hash=str(fields["head_hash"]),
            created_at=datetime.fromisoformat(fields["created_at"]),
            public_key=str(fields["public_key"]),
            signature=str(fields["signature"]),
            timestamp_token=str(fields.get("timestamp_token", "")),
        )
        public_key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.payload())
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise CheckpointInvalid(f"检查点文件第 {number} 行无法读取 / checkpoint line {number} is unreadable") from exc
    except InvalidSignature as exc:
        raise CheckpointInvalid(
            f"检查点文件第 {number} 行的签名无效 / checkpoint line {number} is not signed by this deployment's key"
        ) from exc
    return checkpoint
