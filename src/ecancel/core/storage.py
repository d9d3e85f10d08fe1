"""Private file storage: what every backend must do for ecancel, the local one, and the helpers the sweepers use.

Whichever backend ``STORAGES["default"]`` names (``config/storage.py`` picks it from the environment), files are
never reachable by an address of their own: ``url()`` refuses, and every download goes through a view that checked
who asks. Names are chosen by the server; a name that would leave the storage's root is refused
(``SuspiciousOperation``). Files that can be left behind by a rolled-back transaction are named by the UTC day they
were written (``<folder>/YYYY/MM/DD/<random>``), so a sweep lists a few days' folders, never the whole storage.

Files that carry personal data (documents, certificates, received materials, uploaded papers) are kept through
``EncryptedStorage``, which seals each under the key ring on its way into the backend and opens it on its way out.
"""

from __future__ import annotations

import enum
import fcntl
import logging
import os
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, default_storage, storages
from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import DomainError
from ecancel.core.files import replace_private
from ecancel.core.keyring import key_ring
from ecancel.core.sealing import HEADER_BYTES, FileSeal, SealBroken

logger = logging.getLogger(__name__)

# Reserved for the readiness probe of a storage that has no cheaper check: no other code writes here.
PROBE_FOLDER = "readiness"
# How far back a sweep looks by default: orphans older than this stay until a sweep is run with a longer window.
SWEEP_LOOKBACK = timedelta(days=7)
REFERENCE_QUERY_CHUNK = 500
# How often a rewrite or a deletion waiting for a file's lock follows the file when it was renamed over meanwhile.
LOCK_ATTEMPTS = 5


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

    def rewrite(self, name: str, rewrite: Callable[[bytes], bytes | None]) -> Rewritten:
        """Under the file's lock (``_locked``), which ``delete`` takes too: written beside it, flushed, renamed over."""
        path = Path(self.path(name))
        with _locked(path) as handle:
            if handle is None:
                return Rewritten.GONE
            content = rewrite(handle.read())
            if content is None:
                return Rewritten.UNCHANGED
            replace_private(path, content, self.file_permissions_mode or 0o600)
            return Rewritten.DONE

    def delete(self, name: str) -> None:
        """Under the file's lock, so a rewrite in progress finishes first and its new file is what goes."""
        path = Path(self.path(name))
        if not name or path.is_dir():
            super().delete(name)
            return
        with _locked(path) as handle:
            if handle is not None:
                path.unlink()


@contextmanager
def _locked(path: Path) -> Iterator[BinaryIO | None]:
    """The file at ``path`` open and exclusively locked (``flock``), or None when there is none.

    Whoever waited for the lock while the file was renamed over locks the new one instead, so a rewrite and a deletion
    of one file happen one after the other: a file deleted while it was being rewritten is not written back.
    """
    for _attempt in range(LOCK_ATTEMPTS):
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            yield None
            return
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                current = path.stat()
            except FileNotFoundError:
                yield None
                return
            if os.path.samestat(current, os.fstat(handle.fileno())):
                yield handle
                return
    raise RuntimeError(f"{path} kept being replaced while waiting for its lock")


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


def storage_head(name: str, size: int, storage: Storage = default_storage) -> bytes:
    """The first ``size`` bytes of a stored file (a sealed file's header names its key): a ranged GET on S3, where
    opening a file fetches all of it."""
    method: Callable[[str, int], bytes] | None = getattr(storage, "head", None)
    if method is not None:
        return method(name, size)
    with storage.open(name, "rb") as handle:
        head: bytes = handle.read(size)
    return head


class Rewritten(enum.Enum):
    DONE = "done"  # the new content is in place
    UNCHANGED = "unchanged"  # the rewrite had nothing to change
    GONE = "gone"  # not there, or deleted or replaced meanwhile: nothing was written


def storage_rewrite(
    name: str, rewrite: Callable[[bytes], bytes | None], storage: Storage = default_storage
) -> Rewritten:
    """Read the stored file and write ``rewrite``'s answer over it in one step, only while it is still the file read.

    A reader, or a process killed meanwhile, sees the old file or the new one, never a part; a file deleted between
    the read and the write (a retention purge while ``rotate_keys`` runs) stays deleted. Only re-encryption under a
    new key writes over a file (``save`` never does); ``rewrite`` returns None when there is nothing to change.
    """
    method: Callable[[str, Callable[[bytes], bytes | None]], Rewritten] | None = getattr(storage, "rewrite", None)
    if method is None:  # a programming error: config/storage.py only ever chooses backends that have it
        raise TypeError(
            f"{type(storage).__name__} has no rewrite(): ecancel's files live only in PrivateFileSystemStorage or "
            "PrivateS3Storage, which can replace a file in one step"
        )
    return method(name, rewrite)


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


FILE_SEAL = FileSeal(b"EF1")
# How often a save tries again when the backend stored the file under another name than the one sealed in.
SAVE_ATTEMPTS = 3


class StoredFileUnreadable(DomainError):
    """A stored file that does not decrypt: altered, moved or swapped (``file_tampered``), or under a key the ring
    no longer holds (``file_other_key``)."""

    def __init__(self, reason: Literal["tampered", "other_key"], name: str) -> None:
        messages = {
            "tampered": _("存储的文件已被改动、移动或损坏，无法解密；请联系系统管理员核查"),
            "other_key": _("存储的文件由不在密钥环中的密钥加密，无法解密；请联系系统管理员核查"),
        }
        super().__init__(messages[reason], code=f"file_{reason}", http_status=409)
        self.name = name


class EncryptedStorage(Storage):
    """The default storage (local folder or S3 bucket) with every file sealed under the key ring (``FILE_SEAL``).

    ``save`` seals under the ring's current key with the final storage name bound in; ``open`` gives back a file
    holding the checked plaintext, under whichever ring key the header names; ``size`` is the plaintext's. Names,
    listing, times and deletion are the backend's own, so sweeps and purges work by name as before. A file written
    before files were encrypted (no header) reads as itself until ``ecancel rotate_keys`` has sealed it
    (``rekey``), as encrypted database fields do: refusing it would break every download between an upgrade and the
    first run, and documents, certificates and materials are still checked against the SHA-256 recorded when they
    were written. ``ECANCEL_REFUSE_PLAINTEXT_FILES`` refuses them once every file is sealed. The backend is looked
    up at each use, so a change of ``STORAGES`` is followed.
    """

    def __init__(self, backend: Storage | None = None) -> None:
        self._backend = backend

    @property
    def backend(self) -> Storage:
        return self._backend if self._backend is not None else storages["default"]

    def _save(self, name: str, content: File[Any]) -> str:
        content.seek(0)
        plain = content.read()
        for _attempt in range(SAVE_ATTEMPTS):
            saved = self.backend.save(name, ContentFile(FILE_SEAL.seal(plain, name=name)))
            if saved == name:
                return saved
            # Taken meanwhile by another writer: the sealed name would not match, so seal for a free one again.
            self.backend.delete(saved)
            name = self.get_available_name(name)
        raise RuntimeError(f"storage kept renaming {name} on save")

    def _open(self, name: str, mode: str = "rb") -> File[bytes]:
        if mode != "rb":
            raise ValueError(f"encrypted files are read whole, in binary: mode {mode!r}")
        return ContentFile(self.plaintext(name), name=name)

    def plaintext(self, name: str) -> bytes:
        stored = self.stored_bytes(name)
        if not FILE_SEAL.is_sealed(stored):
            if settings.ECANCEL_REFUSE_PLAINTEXT_FILES:
                logger.error("stored file %s is not sealed and plaintext files are refused", name)
                raise StoredFileUnreadable("tampered", name)
            return stored  # written before files were encrypted: sealed by the next ``rotate_keys``
        try:
            return FILE_SEAL.open(stored, name=name)
        except SealBroken as exc:
            logger.error("stored file %s does not decrypt (%s)", name, exc.reason)
            raise StoredFileUnreadable(exc.reason, name) from None

    def stored_bytes(self, name: str) -> bytes:
        """The file as the backend holds it (sealed), for checks and re-encryption."""
        with self.backend.open(name, "rb") as handle:
            stored: bytes = handle.read()
        return stored

    def key_id(self, name: str) -> str | None:
        """The id of the ring key the file is sealed under; None for a file written before files were encrypted."""
        return FILE_SEAL.key_id(storage_head(name, HEADER_BYTES, self.backend))

    def rekey(self, name: str) -> bool:
        """Seal the file under the ring's current key (a plaintext one too), replacing it whole; False if it already
        was, or is gone (deleted meanwhile: it stays deleted).

        The old file is opened first (a damaged one raises ``StoredFileUnreadable`` and stays as it is) and
        replaced in one step (``storage_rewrite``), so a process killed here leaves the old file or the new one.
        """
        current = key_ring().current

        def resealed(stored: bytes) -> bytes | None:
            if FILE_SEAL.key_id(stored) == current.key_id:
                return None
            plain = stored
            if FILE_SEAL.is_sealed(stored):
                try:
                    plain = FILE_SEAL.open(stored, name=name)
                except SealBroken as exc:
                    raise StoredFileUnreadable(exc.reason, name) from None
            return FILE_SEAL.seal(plain, name=name, key=current)

        return storage_rewrite(name, resealed, self.backend) is Rewritten.DONE

    def size(self, name: str) -> int:
        stored_size = self.backend.size(name)
        return stored_size - FILE_SEAL.overhead if self.key_id(name) is not None else stored_size

    def delete(self, name: str) -> None:
        self.backend.delete(name)

    def exists(self, name: str) -> bool:
        return self.backend.exists(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.backend.listdir(path)

    def url(self, name: str | None) -> str:
        raise NoFileUrl

    def get_valid_name(self, name: str) -> str:
        return self.backend.get_valid_name(name)

    def get_alternative_name(self, file_root: str, file_ext: str) -> str:
        return self.backend.get_alternative_name(file_root, file_ext)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.backend.get_available_name(name, max_length)

    def generate_filename(self, filename: str | os.PathLike[str]) -> str:
        return self.backend.generate_filename(filename)

    def get_accessed_time(self, name: str) -> datetime:
        return self.backend.get_accessed_time(name)

    def get_created_time(self, name: str) -> datetime:
        return self.backend.get_created_time(name)

    def get_modified_time(self, name: str) -> datetime:
        return self.backend.get_modified_time(name)


encrypted_storage = EncryptedStorage()


def encrypted_files() -> EncryptedStorage:
    """The ``storage`` of every FileField holding personal data (a callable: migrations name it, not a backend)."""
    return encrypted_storage
