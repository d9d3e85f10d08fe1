"""Private file storage: what every backend must do for ecancel, the local one, and the helpers the sweepers use.

Whichever backend ``STORAGES["default"]`` names (``config/storage.py`` picks it from the environment), files are
never reachable by an address of their own: ``url()`` refuses, and every download goes through a view that checked
who asks. Names are chosen by the server; a name that would leave the storage's root is refused
(``SuspiciousOperation``). Files that can be left behind by a rolled-back transaction are named by the UTC day they
were written (``<folder>/YYYY/MM/DD/<random>``), so a sweep lists a few days' folders, never the whole storage.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, default_storage

from ecancel.core.files import replace_private

# Reserved for the readiness probe of a storage that has no cheaper check: no other code writes here.
PROBE_FOLDER = "readiness"
# How far back a sweep looks by default: orphans older than this stay until a sweep is run with a longer window.
SWEEP_LOOKBACK = timedelta(days=7)
REFERENCE_QUERY_CHUNK = 500


class NoFileUrl(ValueError):
    """Stored files have no address: they are served by permission-checked views only."""

    def __init__(self) -> None:
        super().__init__("stored files are private: serve them through a permission-checked view")


class StorageReadBackMismatch(Exception):
    """The storage gave back other bytes than were written."""


class PrivateFileSystemStorage(FileSystemStorage):
    """A local folder no web server serves (the one-machine default)."""

    def url(self, name: str | None) -> str:
        raise NoFileUrl

    def check_ready(self) -> None:
        """Write, read back and delete a few bytes under a fresh name (probes running at once never share a file)."""
        write_read_delete(self)

    def replace(self, name: str, content: bytes) -> None:
        """Write over an existing file in one step (written beside it, flushed, renamed over it)."""
        replace_private(Path(self.path(name)), content, self.file_permissions_mode or 0o600)


def write_read_delete(storage: Storage) -> None:
    content = secrets.token_bytes(16)
    name = storage.save(f"{PROBE_FOLDER}/probe-{secrets.token_hex(8)}", ContentFile(content))
    try:
        with storage.open(name, "rb") as stored:
            read_back = stored.read()
    finally:
        storage.delete(name)
    if read_back != content:
        raise StorageReadBackMismatch


def storage_check_ready(storage: Storage = default_storage) -> None:
    """The backend's own readiness check (S3: one request for the bucket), else a small write, read and delete."""
    check: Callable[[], None] | None = getattr(storage, "check_ready", None)
    if check is None:
        write_read_delete(storage)
    else:
        check()


def storage_replace(name: str, content: bytes, storage: Storage = default_storage) -> None:
    """Write ``content`` over the stored file ``name`` in one step: a reader, or a process killed meanwhile, sees the
    old file or the new one, never a part. Only re-encryption under a new key does this (``save`` never overwrites)."""
    if not storage.exists(name):
        raise FileNotFoundError(name)
    replace: Callable[[str, bytes], None] | None = getattr(storage, "replace", None)
    if replace is None:
        raise NotImplementedError(f"{type(storage).__name__} cannot replace a file in one step")
    replace(name, content)


def dated_name(folder: str, suffix: str, *, at: datetime) -> str:
    """A fresh server-chosen name in ``folder``'s folder of ``at``'s UTC day."""
    return f"{folder}/{at.astimezone(UTC):%Y/%m/%d}/{uuid.uuid4().hex}{suffix}"


def day_folders(folder: str, *, since: datetime, until: datetime) -> list[str]:
    """The day folders of ``folder`` that hold files named (``dated_name``) from ``since`` to ``until``."""
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    return [f"{folder}/{first + timedelta(days=n):%Y/%m/%d}" for n in range((last - first).days + 1)]


def folder_names(folder: str, storage: Storage = default_storage) -> list[str]:
    """Every file under ``folder`` and its sub-folders; none when it does not exist. Lists under ``folder`` only."""
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:  # a local folder never written to; object storage lists nothing instead
        return []
    names = [f"{folder}/{name}" for name in files]
    for directory in directories:
        names.extend(folder_names(f"{folder}/{directory}", storage))
    return names


def orphans_sweep(
    folder: str,
    *,
    referenced: Callable[[list[str]], Iterable[str]],
    now: datetime,
    older_than: timedelta,
    lookback: timedelta = SWEEP_LOOKBACK,
    storage: Storage = default_storage,
) -> list[str]:
    """Delete files of ``folder`` written up to ``older_than`` before ``now`` (and at most ``lookback`` earlier)
    that no row claims; the names removed.

    ``referenced`` is given the listed names a chunk at a time and answers those a row still holds, so the
    database is asked about these names only. A file younger than ``older_than`` may belong to a transaction
    still running, so it stays whatever the rows say.
    """
    cutoff = now - older_than
    listed = [
        name
        for day in day_folders(folder, since=cutoff - lookback, until=cutoff)
        for name in folder_names(day, storage)
    ]
    claimed: set[str] = set()
    for start in range(0, len(listed), REFERENCE_QUERY_CHUNK):
        claimed.update(referenced(listed[start : start + REFERENCE_QUERY_CHUNK]))
    removed = []
    for name in listed:
        if name in claimed or storage.get_modified_time(name) > cutoff:
            continue
        storage.delete(name)
        removed.append(name)
    return removed
