"""Secrets of the embedded default, generated once and kept in the data directory."""

from __future__ import annotations

import secrets
from pathlib import Path

from ecancel.core.files import read_or_create_private

DEFAULT_SECRET_KEY = "insecure-default-secret-key-do-not-use"  # noqa: S105 - the value production refuses


def data_dir_secret_key(data_dir: Path) -> str:
    """A per-data-directory key, so two data directories never share sessions or signatures."""
    return read_or_create_private(data_dir / "secret_key", secrets.token_urlsafe(64).encode()).decode().strip()
