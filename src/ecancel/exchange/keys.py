"""Keys of the exchange: one Ed25519 key per hosted organisation, and the box sealing HMAC secrets.

Private material lives in files under ``settings.ECANCEL_KEYS_DIR/exchange`` (0600, directory
0700), created on first use; the database holds only public keys and sealed secrets.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from pathlib import Path
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

from ecancel.core.files import read_or_create_private

SEAL_PREFIX = "v1:"
MIN_HMAC_SECRET_BYTES = 32

_lock = threading.Lock()
_private_keys: dict[tuple[Path, UUID], Ed25519PrivateKey] = {}


def keys_dir() -> Path:
    path = Path(settings.ECANCEL_KEYS_DIR) / "exchange"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def private_key_path(organisation_id: UUID) -> Path:
    return keys_dir() / f"{organisation_id}.ed25519"


def secrets_box_path() -> Path:
    return keys_dir() / "secrets.key"


def private_key(organisation_id: UUID) -> Ed25519PrivateKey:
    """The hosted organisation's signing key, created the first time it is needed."""
    directory = keys_dir()
    cache_key = (directory, organisation_id)
    with _lock:
        key = _private_keys.get(cache_key)
        if key is None:
            raw = read_or_create_private(private_key_path(organisation_id), secrets.token_bytes(32))
            key = Ed25519PrivateKey.from_private_bytes(raw)
            _private_keys[cache_key] = key
        return key


def public_key_b64(organisation_id: UUID) -> str:
    raw = private_key(organisation_id).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


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
