"""What a stored file of personal data looks like to whoever reads the storage directly: sealed, nothing of it
legible."""

from __future__ import annotations

from collections.abc import Iterable

from ecancel.core.storage import encrypted_storage

# Any run of this many bytes of the plaintext found in the stored file means it was not encrypted.
WINDOW = 24


def assert_sealed_at_rest(name: str, *, id_numbers: Iterable[str]) -> None:
    stored = encrypted_storage.stored_bytes(name)
    plain = encrypted_storage.plaintext(name)
    assert stored.startswith(b"EF1"), f"{name} is not sealed"
    assert b"%PDF" not in stored and b"\x89PNG" not in stored
    assert not [number for number in id_numbers if number.encode() in stored]
    assert not [i for i in range(0, len(plain) - WINDOW + 1, WINDOW) if plain[i : i + WINDOW] in stored]
