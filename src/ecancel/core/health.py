"""Liveness and readiness probes for whoever runs ecancel.

A failed readiness check is named in the answer with the exception's class only: the details (paths, hosts) go to
the log, never to whoever asked.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# Reserved in the default storage for the readiness probe: no other code writes here, no sweep looks here.
STORAGE_PROBE_FOLDER = "readiness"


class StorageReadBackMismatch(Exception):
    """The storage gave back other bytes than were written."""


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    from ecancel.config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def check_storage() -> None:
    """Write, read back and delete a few bytes under a fresh name (probes running at once never share a file)."""
    content = secrets.token_bytes(16)
    name = default_storage.save(f"{STORAGE_PROBE_FOLDER}/probe-{secrets.token_hex(8)}", ContentFile(content))
    try:
        with default_storage.open(name, "rb") as stored:
            read_back = stored.read()
    finally:
        default_storage.delete(name)
    if read_back != content:
        raise StorageReadBackMismatch


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers; touches nothing else."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database, the broker and the file storage all work; 503 naming each one that does not."""
    checks: dict[str, str] = {}
    for name, check in READINESS_CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means not ready
            logger.warning("readiness check %s failed", name, exc_info=True)
            checks[name] = f"error: {exc.__class__.__name__}"
        else:
            checks[name] = "ok"
    failed = [name for name, result in checks.items() if result != "ok"]
    return JsonResponse(
        {"status": "not ready" if failed else "ready", "checks": checks, "failed": failed},
        status=503 if failed else 200,
    )
