"""Private files created once: keys and secrets that several processes may reach for at the same time."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def read_or_create_private(path: Path, content: bytes) -> bytes:
    """The file's bytes; if it does not exist, ``content`` written 0600 and fsynced.

    Written aside and hard-linked into place, so of processes starting together exactly one
    version wins and every one of them reads that version back.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes()
