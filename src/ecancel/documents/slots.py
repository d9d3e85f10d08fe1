"""A cap on how many processes of this host render, sign or verify PDFs at once (``ECANCEL_SIGNING_SLOTS``).

Signing is CPU-bound; eight web workers signing at once on two cores leave none for a login's password hash.
A slot is an exclusive ``flock`` on one of N files in ``ECANCEL_SIGNING_SLOTS_DIR`` (default
``ECANCEL_DATA_DIR/signing-slots``); the kernel drops it when its holder exits, so a process that dies holding
one leaks nothing. Deployments sharing a host share the cap by pointing at the same directory. ``0`` turns the
cap off.

The work inside a slot also runs at a lower CPU priority (``ECANCEL_SIGNING_NICENESS``): Linux schedules threads,
not processes, so ``run_in_signing_slot`` hands it to a short-lived thread that makes itself nicer and ends with
the job, while the calling thread only waits. A web worker's logins and pages then win the CPU over its neighbours'
PDFs instead of sharing it evenly.
"""

from __future__ import annotations

import contextvars
import fcntl
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone, translation

T = TypeVar("T")

_held = threading.local()


def _in_transaction() -> bool:
    # Transactions a test case opens around each test are not the caller's: they hold no lock anyone waits for.
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


@contextmanager
def signing_slot() -> Iterator[None]:
    """Hold one of the host's signing slots for the block, waiting for one if all are taken.

    Never enter it inside a database transaction (it raises ``RuntimeError`` there). A transaction waiting here
    keeps its row locks — on SQLite the one write lock — while it queues behind every signer, so each request
    needing those locks waits for the whole queue; and a slot holder that needs one of those locks (storing its
    document, say) waits for the transaction that waits for its slot: a deadlock. Sign first, then lock.
    Re-entering in the same thread holds the one slot it already has.
    """
    count = int(settings.ECANCEL_SIGNING_SLOTS)
    if count <= 0 or getattr(_held, "slot", None) is not None:
        yield
        return
    if _in_transaction():
        raise RuntimeError("a signing slot must not be taken inside a database transaction (see signing_slot)")
    folder = Path(settings.ECANCEL_SIGNING_SLOTS_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    first = secrets.randbelow(count)
    paths = [folder / f"slot-{(first + n) % count}" for n in range(count)]
    slot = _take_free(paths)
    if slot is None:
        slot = os.open(paths[0], os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(slot, fcntl.LOCK_EX)
    _held.slot = slot
    try:
        yield
    finally:
        _held.slot = None
        fcntl.flock(slot, fcntl.LOCK_UN)
        os.close(slot)


def _take_free(paths: list[Path]) -> int | None:
    """A descriptor holding the first free slot of ``paths``, or None if all are taken."""
    for path in paths:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        return descriptor
    return None


def run_in_signing_slot(work: Callable[[], T]) -> T:
    """``work()`` holding a signing slot, run at the lower priority of ``run_niced``."""
    with signing_slot():
        return run_niced(work)


def run_niced(work: Callable[[], T]) -> T:
    """``work()``'s result (or its exception, as it was raised) from a thread ``ECANCEL_SIGNING_NICENESS`` nicer
    than the caller; inline when that is 0 or the caller already is such a thread.

    The thread sees the caller's context variables, active language and time zone (Django keeps the last two per
    thread) and its signing slot, but not its database connection: Django's are per thread, so ``work`` must be
    pure computation — keep reads and writes in the caller. Any connection ``work`` opens anyway is closed when
    the thread ends.
    """
    niceness = int(settings.ECANCEL_SIGNING_NICENESS)
    if niceness <= 0 or getattr(_held, "niced", False):
        return work()
    context = contextvars.copy_context()
    slot = getattr(_held, "slot", None)
    language, zone = translation.get_language(), timezone.get_current_timezone()
    results: list[T] = []
    failures: list[BaseException] = []

    def job() -> None:
        _held.niced = True
        _held.slot = slot  # a nested signing_slot() reuses the caller's slot instead of queueing for a second
        try:
            thread_id = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, thread_id)
            os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + niceness))
            results.append(context.run(_in_language_and_zone, work, language, zone))
        except BaseException as failure:  # noqa: BLE001 - handed to the caller, which re-raises it
            failures.append(failure)
        finally:
            connections.close_all()

    helper = threading.Thread(target=job, name="ecancel-signing", daemon=True)
    helper.start()
    helper.join()
    if failures:
        raise failures[0]
    return results[0]


def _in_language_and_zone(work: Callable[[], T], language: str | None, zone: tzinfo) -> T:
    with translation.override(language), timezone.override(zone):
        return work()
