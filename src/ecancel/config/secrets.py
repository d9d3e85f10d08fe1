"""Secrets of the embedded default, generated once and kept in the data directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_SECRET_KEY = "insecure-default-secret-key-do-not-use"  # noqa: S105 - the value production refuses


def data_dir_secret_key(data_dir: Path) -> str:
    """A per-data-directory key, so two data directories never share sessions or signatures."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(64)
    # Write aside and link into place: of processes starting together, exactly one key wins.
    temporary = path.with_name(f".secret_key.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text().strip()
