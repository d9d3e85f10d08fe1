"""The WSGI application gunicorn serves.

Everything loaded by now (Django, the apps, their modules) lives as long as the process, yet every full garbage
collection walked it again, stopping whichever request was running: ``gc.freeze`` takes it out of the collector's
sight. Measured side by side in two runs (docs/benchmarks.md), the median p99 at 16 connections of the four busiest
endpoints went from 35–95 ms to 30–44 ms.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecancel.config.settings")

application = get_wsgi_application()
gc.freeze()
