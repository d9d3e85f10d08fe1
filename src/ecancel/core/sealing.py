"""The one framing of files encrypted at rest under the key ring: identity evidence and every other stored file.

A sealed file is a 3-byte magic saying which kind of file it is, the 8-byte id of the ring key it is under (a
SHA-256 prefix of the key), a random 12-byte nonce, then the AES-256-GCM ciphertext with its tag. The header and the
file's storage name are the associated data, so a file edited, truncated, swapped for another or moved to another
name fails to open, and a file of one kind (one magic) never opens as another. Whole files are sealed and opened in
one piece: GCM checks its tag only at the end, and no byte of a file is handed out before it is known untouched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ecancel.core.keyring import KEY_ID_BYTES, DataKey, KeyNotInRing, key_ring

MAGIC_BYTES = 3
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = MAGIC_BYTES + KEY_ID_BYTES + NONCE_BYTES


class SealBroken(Exception):
    """A sealed file that does not open: ``tampered`` (altered, cut, moved, not sealed) or ``other_key``."""

    def __init__(self, reason: Literal["tampered", "other_key"]) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FileSeal:
    """Sealing and opening of one kind of file, named by its magic."""

    magic: bytes

    def __post_init__(self) -> None:
        if len(self.magic) != MAGIC_BYTES:
            raise ValueError(f"a seal's magic is {MAGIC_BYTES} bytes: {self.magic!r}")

    @property
    def overhead(self) -> int:
        """How many bytes a sealed file has beyond its plaintext."""
        return HEADER_BYTES + TAG_BYTES

    def seal(self, content: bytes, *, name: str, key: DataKey | None = None) -> bytes:
        """``content`` sealed for the storage name ``name`` under ``key`` (the ring's current key by default)."""
        key = key or key_ring().current
        header = self.magic + bytes.fromhex(key.key_id) + os.urandom(NONCE_BYTES)
        return header + AESGCM(key.secret).encrypt(header[-NONCE_BYTES:], content, header + name.encode())

    def is_sealed(self, stored: bytes) -> bool:
        """Whether ``stored`` (a whole file or its first bytes) begins as a file of this kind does."""
        return stored.startswith(self.magic)

    def key_id(self, stored: bytes) -> str | None:
        """The id of the key a sealed file (or its first ``HEADER_BYTES``) is under; None if not of this kind."""
        if not self.is_sealed(stored) or len(stored) < MAGIC_BYTES + KEY_ID_BYTES:
            return None
        return stored[MAGIC_BYTES : MAGIC_BYTES + KEY_ID_BYTES].hex()

    def open(self, stored: bytes, *, name: str) -> bytes:
        """The plaintext of a file sealed for ``name``, under whichever key of the ring its header names."""
        if len(stored) < self.overhead or not self.is_sealed(stored):
            raise SealBroken("tampered")
        header, sealed = stored[:HEADER_BYTES], stored[HEADER_BYTES:]
        try:
            key = key_ring().key(header[MAGIC_BYTES : MAGIC_BYTES + KEY_ID_BYTES].hex())
        except KeyNotInRing:
            raise SealBroken("other_key") from None
        try:
            return AESGCM(key.secret).decrypt(header[-NONCE_BYTES:], sealed, header + name.encode())
        except InvalidTag as exc:
            raise SealBroken("tampered") from exc
