"""The Celery app: jobs are thin wrappers that call services with primary keys; each carries the ID of the
request that queued it (``core.logs``)."""

import os

from celery import Celery, signals

from ecancel.core.logs import request_id_after_job, request_id_from_job, request_id_to_job

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecancel.config.settings")

app = Celery("ecancel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

signals.before_task_publish.connect(request_id_to_job, weak=False)
signals.task_prerun.connect(request_id_from_job, weak=False)
signals.task_postrun.connect(request_id_after_job, weak=False)
