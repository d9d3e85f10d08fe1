"""Keys of the exchange: one Ed25519 key per hosted organisation, and the box sealing HMAC secrets.

The signing keys sit behind a backend (``ECANCEL_EXCHANGE_KEYS_BACKEND``, a dotted path to an
``ExchangeKeyBackend``): ``FileExchangeKeys`` keeps them in files under ``ECANCEL_KEYS_DIR/exchange``
(0600, directory 0700) on the volume every app server mounts; ``MemoryExchangeKeys`` keeps them in the
process, for tests. A rotated-out key keeps signing beside the new one until its overlap ends, so a peer
that has not yet taken the new key still recognises what is sent. The database holds only public keys and
sealed secrets.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Protocol
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.utils import timezone

from ecancel.core.backends import load
from ecancel.core.files import read_or_create_private, replace_private

SEAL_PREFIX = "v1:"
MIN_HMAC_SECRET_BYTES = 32


@dataclass(frozen=True)
class RetiringKey:
    key: Ed25519PrivateKey
    until: datetime  # it signs beside the current key until then


class ExchangeKeyBackend(Protocol):
    """Where hosted organisations' exchange signing keys live."""

    def current(self, organisation_id: UUID) -> Ed25519PrivateKey:
        """The organisation's current key, made the first time it is needed."""
        ...

    def retiring(self, organisation_id: UUID) -> RetiringKey | None:
        """The key the last rotation replaced, while one is kept."""
        ...

    def rotate(self, organisation_id: UUID, *, overlap_until: datetime) -> Ed25519PrivateKey:
        """A new current key; the one it replaces keeps signing until ``overlap_until``. Returns the new key."""
        ...

    def exists(self, organisation_id: UUID) -> bool:
        """Whether the organisation's key was already made (production refuses keys made on first use)."""
        ...

    def location(self, organisation_id: UUID) -> str:
        """Where the key is, for an operator's message."""
        ...


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


class FileExchangeKeys:
    """Keys in files: ``<organisation>.ed25519`` (32 raw bytes) and ``<organisation>.retiring.json``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[bytes, Ed25519PrivateKey] = {}

    def _path(self, organisation_id: UUID) -> Path:
        return keys_dir() / f"{organisation_id}.ed25519"

    def _retiring_path(self, organisation_id: UUID) -> Path:
        return keys_dir() / f"{organisation_id}.retiring.json"

    def current(self, organisation_id: UUID) -> Ed25519PrivateKey:
        raw = read_or_create_private(self._path(organisation_id), secrets.token_bytes(32))
        with self._lock:
            key = self._loaded.get(raw)
            if key is None:
                key = self._loaded[raw] = Ed25519PrivateKey.from_private_bytes(raw)
            return key

    def retiring(self, organisation_id: UUID) -> RetiringKey | None:
        try:
            kept = json.loads(self._retiring_path(organisation_id).read_text())
        except FileNotFoundError:
            return None
        return RetiringKey(
            key=Ed25519PrivateKey.from_private_bytes(base64.b64decode(kept["private_key"])),
            until=datetime.fromisoformat(kept["until"]),
        )

    def rotate(self, organisation_id: UUID, *, overlap_until: datetime) -> Ed25519PrivateKey:
        # The old key is kept aside first, then the new one renamed into place: a process killed between the two
        # steps leaves the old key current and also retiring, which signs exactly as before.
        old = self.current(organisation_id)
        kept = {"private_key": base64.b64encode(_raw(old)).decode(), "until": overlap_until.isoformat()}
        replace_private(self._retiring_path(organisation_id), json.dumps(kept).encode())
        new = Ed25519PrivateKey.generate()
        replace_private(self._path(organisation_id), _raw(new))
        return new

    def exists(self, organisation_id: UUID) -> bool:
        return self._path(organisation_id).exists()

    def location(self, organisation_id: UUID) -> str:
        return str(self._path(organisation_id))


class MemoryExchangeKeys:
    """Keys held by the process only: for tests and throw-away runs, never for a deployment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[UUID, Ed25519PrivateKey] = {}
        self._retiring: dict[UUID, RetiringKey] = {}

    def current(self, organisation_id: UUID) -> Ed25519PrivateKey:
        with self._lock:
            return self._current.setdefault(organisation_id, Ed25519PrivateKey.generate())

    def retiring(self, organisation_id: UUID) -> RetiringKey | None:
        return self._retiring.get(organisation_id)

    def rotate(self, organisation_id: UUID, *, overlap_until: datetime) -> Ed25519PrivateKey:
        old = self.current(organisation_id)
        with self._lock:
            self._retiring[organisation_id] = RetiringKey(key=old, until=overlap_until)
            new = self._current[organisation_id] = Ed25519PrivateKey.generate()
        return new

    def exists(self, organisation_id: UUID) -> bool:
        return organisation_id in self._current

    def location(self, organisation_id: UUID) -> str:
        return "memory"


@cache
def _backend(dotted_path: str) -> ExchangeKeyBackend:
    backend: ExchangeKeyBackend = load("ECANCEL_EXCHANGE_KEYS_BACKEND", ExchangeKeyBackend, value=dotted_path)
    return backend


def exchange_keys() -> ExchangeKeyBackend:
    return _backend(settings.ECANCEL_EXCHANGE_KEYS_BACKEND)


def keys_dir() -> Path:
    path = Path(settings.ECANCEL_KEYS_DIR) / "exchange"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def secrets_box_path() -> Path:
    return keys_dir() / "secrets.key"


def private_key(organisation_id: UUID) -> Ed25519PrivateKey:
    """The hosted organisation's current signing key, created the first time it is needed."""
    return exchange_keys().current(organisation_id)


def signing_keys(organisation_id: UUID, *, now: datetime | None = None) -> list[Ed25519PrivateKey]:
    """The keys that sign now: the current one, and the one it replaced while their overlap lasts."""
    backend = exchange_keys()
    found = [backend.current(organisation_id)]
    retiring = backend.retiring(organisation_id)
    if retiring is not None and (now or timezone.now()) < retiring.until:
        found.append(retiring.key)
    return found


def public_key_b64_of(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def public_key_b64(organisation_id: UUID) -> str:
    return public_key_b64_of(private_key(organisation_id))


def load_public_key(value: str) -> Ed25519PublicKey:
    """A peer's public key from base64 of its 32 raw bytes; ValueError if it is not one."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def secrets_box() -> AESGCM:
    return AESGCM(read_or_create_private(secrets_box_path(), AESGCM.generate_key(bit_length=256)))


def seal_secret(secret: bytes, *, bound_to: str) -> str:
    """AES-GCM with a key kept outside the database, bound to the row that stores it."""
    nonce = secrets.token_bytes(12)
    sealed = secrets_box().encrypt(nonce, secret, bound_to.encode())
    return SEAL_PREFIX + base64.b64encode(nonce + sealed).decode()


def open_secret(sealed: str, *, bound_to: str) -> bytes:
    if not sealed.startswith(SEAL_PREFIX):
        raise ValueError("unknown sealing format")
    blob = base64.b64decode(sealed[len(SEAL_PREFIX) :])
    return secrets_box().decrypt(blob[:12], blob[12:], bound_to.encode())
