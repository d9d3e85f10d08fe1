"""The Celery app: jobs are thin wrappers that call services with primary keys."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecancel.config.settings")

app = Celery("ecancel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
