"""Liveness and readiness probes for whoever runs ecancel.

A failed readiness check is named in the answer with the exception's class only: the details (paths, hosts) go to
the log, never to whoever asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ecancel.core.storage import storage_check_ready

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    from ecancel.config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def check_storage() -> None:
    """The default storage's own check: one request for an S3 bucket, a small write, read and delete locally."""
    storage_check_ready(default_storage)


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
