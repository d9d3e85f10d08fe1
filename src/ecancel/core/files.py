"""Private files created once or replaced whole: keys, secrets and stored files several processes may reach for at the
same time."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _written_aside(path: Path, content: bytes, mode: int = 0o600) -> Path:
    """``content`` in a new file beside ``path`` (named for this process and thread), flushed to disk."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    return aside


def read_or_create_private(path: Path, content: bytes) -> bytes:
    """The file's bytes; if it does not exist, ``content`` written 0600 and fsynced.

    Written aside and hard-linked into place, so of processes starting together exactly one
    version wins and every one of them reads that version back.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    temporary = _written_aside(path, content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes()


def replace_private(path: Path, content: bytes, mode: int = 0o600) -> None:
    """Write over ``path`` in one step: written aside, flushed, renamed over it; a reader, or a process killed
    meanwhile, sees the old file or the new one, never a part."""
    aside = _written_aside(path, content, mode)
    try:
        os.replace(aside, path)
    except BaseException:
        aside.unlink(missing_ok=True)
        raise
