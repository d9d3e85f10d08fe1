"""Identity work runs here, in the Celery worker, never in a web request: each task takes a check's
primary key, calls one service and retries while the provider is unavailable. The local engine's
models load on the first check a worker process runs and stay loaded (``identity.faces``)."""

from __future__ import annotations

import uuid
from typing import Any

from celery import shared_task
from django.utils import timezone

from ecancel.identity import services
from ecancel.identity.providers.base import ProviderRefused, ProviderUnavailable

MAX_RETRIES = 5
RETRY_BASE_SECONDS = 10


def _run(task: Any, check_id: str, run: Any) -> None:
    try:
        run()
    except ProviderUnavailable as exc:
        if task.request.retries >= MAX_RETRIES:
            services.check_give_up(check_id=uuid.UUID(check_id), code=exc.code, now=timezone.now())
            return
        services.check_note_retry(check_id=uuid.UUID(check_id), code=exc.code)
        raise task.retry(exc=exc, countdown=RETRY_BASE_SECONDS * 2**task.request.retries) from exc
    except ProviderRefused as exc:
        services.check_give_up(check_id=uuid.UUID(check_id), code=exc.code, now=timezone.now())


@shared_task(bind=True, name="ecancel.identity.tasks.run_face_check", ignore_result=True, max_retries=MAX_RETRIES)
def run_face_check(self: Any, check_id: str) -> None:
    _run(self, check_id, lambda: services.face_check_run(check_id=uuid.UUID(check_id), now=timezone.now()))


@shared_task(bind=True, name="ecancel.identity.tasks.run_document_check", ignore_result=True, max_retries=MAX_RETRIES)
def run_document_check(self: Any, check_id: str) -> None:
    def run() -> None:
        now = timezone.now()
        services.document_check_run(check_id=uuid.UUID(check_id), now=now, today=timezone.localdate(now))

    _run(self, check_id, run)


@shared_task(bind=True, name="ecancel.identity.tasks.run_video_check", ignore_result=True, max_retries=MAX_RETRIES)
def run_video_check(self: Any, check_id: str) -> None:
    _run(self, check_id, lambda: services.video_check_run(check_id=uuid.UUID(check_id), now=timezone.now()))
