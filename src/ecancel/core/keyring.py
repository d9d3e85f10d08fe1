"""The key ring: the data keys that encrypt personal data at rest, and the lookup key of its keyed digests.

Several data keys (AES-256), one current: new writes use the current key; anything written under an older key in
the ring stays readable until ``ecancel rotate_keys`` has re-encrypted it. A key's id is the first 8 bytes of its
SHA-256 (16 hex digits), so an id cannot name the wrong key and ciphertexts carry it. The lookup key (HMAC) makes
the digests that let the database find or de-duplicate a value it only holds encrypted; it does not rotate with the
data keys, because every digest would change with it.

Configured from the secret store as ``ECANCEL_KEY_RING``, JSON ``{"keys": [newest, ..., oldest], "lookup_key":
...}`` (Base64 of 32 bytes each; ``lookup_key`` defaults to the oldest key). ``ECANCEL_EVIDENCE_KEY`` (one key)
is read as a ring of that key alone. With neither, the ring is on local disk under ``ECANCEL_KEYS_DIR``, made on
first use: ``evidence.key`` (the first data key and the lookup key) and ``ring/<n>.key`` for each key added by
``rotate_keys --new-key``, the highest ``n`` current. Production refuses a ring on local disk (``ecancel.E010``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ecancel.core.files import read_or_create_private

KEY_BYTES = 32
KEY_ID_BYTES = 8
_RING_FILE = re.compile(r"([0-9]{4,})\.key")


@dataclass(frozen=True)
class DataKey:
    key_id: str  # 16 hex digits: the first 8 bytes of the key's SHA-256
    secret: bytes = field(repr=False)

    @classmethod
    def of(cls, secret: bytes) -> DataKey:
        return cls(key_id=hashlib.sha256(secret).digest()[:KEY_ID_BYTES].hex(), secret=secret)


class KeyNotInRing(LookupError):
    """Data encrypted under a key the ring no longer (or never) held."""


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[DataKey, ...]  # newest first; the first is current
    lookup_secret: bytes = field(repr=False)
    on_local_disk: bool

    @property
    def current(self) -> DataKey:
        return self.keys[0]

    def key(self, key_id: str) -> DataKey:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise KeyNotInRing(key_id)

    def subkey(self, key: DataKey, purpose: str) -> bytes:
        """A key for one purpose derived from a data key, so no two uses share raw key material."""
        return _hkdf(key.secret, b"ecancel data " + purpose.encode())

    def lookup_subkey(self, purpose: str) -> bytes:
        return _hkdf(self.lookup_secret, b"ecancel lookup " + purpose.encode())

    def digest(self, purpose: str, value: str) -> str:
        """A keyed digest (HMAC-SHA256, hex) of ``value``: equal values meet, the value cannot be read back."""
        return hmac.new(self.lookup_subkey(purpose), value.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=256)
def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(secret)


def decode_key(text: str | bytes, source: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{source} 须为 32 字节的 Base64 / {source} must be Base64 of 32 bytes") from exc
    if len(key) != KEY_BYTES:
        raise ImproperlyConfigured(
            f"{source} 须为 32 字节的 Base64，而不是 {len(key)} 字节 / "
            f"{source} must be Base64 of 32 bytes, not {len(key)} bytes"
        )
    return key


def _configured_ring(text: str) -> KeyRing:
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise ImproperlyConfigured(
            'ECANCEL_KEY_RING 须为 JSON / ECANCEL_KEY_RING must be JSON: {"keys": [...], "lookup_key": ...}'
        ) from exc
    if not isinstance(config, dict) or not isinstance(config.get("keys"), list) or not config["keys"]:
        raise ImproperlyConfigured(
            'ECANCEL_KEY_RING 的 "keys" 中至少要有一个密钥 / '
            'ECANCEL_KEY_RING must name at least one key in "keys" (newest first)'
        )
    unknown = set(config) - {"keys", "lookup_key"}
    if unknown:
        raise ImproperlyConfigured(
            f"ECANCEL_KEY_RING 有未知的项 / ECANCEL_KEY_RING has unknown entries: {', '.join(sorted(unknown))}"
        )
    secrets = [decode_key(str(k).strip(), f"ECANCEL_KEY_RING key {n + 1}") for n, k in enumerate(config["keys"])]
    if len(set(secrets)) != len(secrets):
        raise ImproperlyConfigured("ECANCEL_KEY_RING 中有重复的密钥 / ECANCEL_KEY_RING names the same key twice")
    lookup = config.get("lookup_key")
    lookup_secret = decode_key(str(lookup).strip(), "ECANCEL_KEY_RING lookup_key") if lookup else secrets[-1]
    return KeyRing(keys=tuple(map(DataKey.of, secrets)), lookup_secret=lookup_secret, on_local_disk=False)


def local_ring_dir() -> Path:
    return Path(settings.ECANCEL_KEYS_DIR) / "ring"


def _first_local_key_path() -> Path:
    return Path(settings.ECANCEL_KEYS_DIR) / "evidence.key"


def _local_ring() -> KeyRing:
    folder = Path(settings.ECANCEL_KEYS_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    first_path = _first_local_key_path()
    first = decode_key(
        read_or_create_private(first_path, base64.b64encode(os.urandom(KEY_BYTES))).strip(), str(first_path)
    )
    added: list[tuple[int, bytes]] = []
    ring_dir = local_ring_dir()
    if ring_dir.is_dir():
        for path in ring_dir.iterdir():
            if match := _RING_FILE.fullmatch(path.name):
                added.append((int(match.group(1)), decode_key(path.read_bytes().strip(), str(path))))
    newest_first = [secret for _, secret in sorted(added, reverse=True)] + [first]
    return KeyRing(keys=tuple(map(DataKey.of, newest_first)), lookup_secret=first, on_local_disk=True)


def add_local_key() -> DataKey:
    """A new current key in the ring on local disk; refused when the ring comes from the secret store."""
    if ring_configured():
        raise ImproperlyConfigured(
            "密钥环来自 ECANCEL_KEY_RING / ECANCEL_EVIDENCE_KEY，请在那里添加新密钥（新的在前） / "
            "the key ring comes from ECANCEL_KEY_RING / ECANCEL_EVIDENCE_KEY: add the new key there (newest first)"
        )
    key_ring()  # the first key exists before any added one
    ring_dir = local_ring_dir()
    ring_dir.mkdir(mode=0o700, exist_ok=True)
    numbers = [int(m.group(1)) for p in ring_dir.iterdir() if (m := _RING_FILE.fullmatch(p.name))]
    path = ring_dir / f"{max(numbers, default=0) + 1:04d}.key"
    secret = decode_key(read_or_create_private(path, base64.b64encode(os.urandom(KEY_BYTES))).strip(), str(path))
    return DataKey.of(secret)


def ring_configured() -> bool:
    return bool(settings.ECANCEL_KEY_RING or settings.ECANCEL_EVIDENCE_KEY)


def _single_key_ring() -> KeyRing:
    secret = decode_key(settings.ECANCEL_EVIDENCE_KEY.strip(), "ECANCEL_EVIDENCE_KEY")
    return KeyRing(keys=(DataKey.of(secret),), lookup_secret=secret, on_local_disk=False)


def _source() -> tuple[tuple[object, ...], Callable[[], KeyRing]]:
    """What the ring is built from now (a key added on local disk changes it), and how to build it."""
    if settings.ECANCEL_KEY_RING:
        return ("ring", settings.ECANCEL_KEY_RING), lambda: _configured_ring(settings.ECANCEL_KEY_RING)
    if settings.ECANCEL_EVIDENCE_KEY:
        return ("one key", settings.ECANCEL_EVIDENCE_KEY), _single_key_ring
    try:
        added = local_ring_dir().stat().st_mtime_ns
    except FileNotFoundError:
        added = 0
    return ("local", str(_first_local_key_path()), added), _local_ring


_lock = threading.Lock()
_cache: dict[tuple[object, ...], KeyRing] = {}


def key_ring() -> KeyRing:
    """The ring as configured now; a key added on local disk by another process is seen at the next call."""
    source, build = _source()
    with _lock:
        ring = _cache.get(source)
        if ring is None:
            ring = build()
            _cache.clear()
            _cache[source] = ring
        return ring
