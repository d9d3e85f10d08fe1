"""Request counts and latencies for Prometheus, right across gunicorn's worker processes, and who may read them.

Several web processes serve at once, so each writes its counts to files in ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode; settings point it at ``DATA_DIR/metrics`` unless it is set) and a scrape
adds them up. Figures about the business (outbox backlog, certificates...) are not counted here: they are read
from the database at scrape time (``ecancel.monitoring``), so they are right whichever process did the work.

Labels are the route name, the method and the status class: bounded, and free of anything a person sent.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ecancel.core.logs import route_label

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Where this process's request metrics live; a scrape reads them through scrape_registry(), never directly.
_http_registry = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter(
    "ecancel_http_requests",
    "HTTP requests answered, by method, route name and status class",
    ["method", "view", "status"],
    registry=_http_registry,
)
HTTP_LATENCY = Histogram(
    "ecancel_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name and status class",
    ["view", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=_http_registry,
)
API_ANSWERS = Counter(
    "ecancel_api_answers",
    "Calls to the API reads whose answers are kept (core.answers): kept (served as kept), built, or unavailable "
    "(the store could not be reached; built without it)",
    ["outcome"],
    registry=_http_registry,
)


def status_class(status_code: int) -> str:
    return f"{status_code // 100}xx"


class RequestMetricsMiddleware:
    """Counts and times every answer, including those other middleware give (redirects, refusals)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        view = route_label(request)
        status = status_class(response.status_code)
        method = request.method if request.method in KNOWN_METHODS else "other"
        HTTP_REQUESTS.labels(method=method, view=view, status=status).inc()
        HTTP_LATENCY.labels(view=view, status=status).observe(time.perf_counter() - started)
        return response


def metrics_access_allowed(request: HttpRequest) -> bool:
    """Only with ``Authorization: Bearer <ECANCEL_METRICS_TOKEN>``, compared in constant time; no token, no access."""
    token = settings.ECANCEL_METRICS_TOKEN
    if not token:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    return Path(value) if value else None


def reset_multiprocess_dir() -> None:
    """Forget the counts of processes from an earlier start; run before the web processes start, never during."""
    directory = multiprocess_dir()
    if directory is None or not directory.is_dir():
        return
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


class _HttpMetrics(Collector):
    """This process's request metrics, when there is only one process (no multiprocess directory)."""

    def collect(self) -> Iterable[Metric]:
        return _http_registry.collect()


def scrape_registry(*extra: Collector) -> CollectorRegistry:
    """A registry for one scrape: the request metrics of every process, then ``extra`` (read at scrape time)."""
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    if directory is not None and directory.is_dir():
        MultiProcessCollector(registry, path=str(directory))
    else:
        registry.register(_HttpMetrics())
    for collector in extra:
        registry.register(collector)
    return registry


def exposition(*extra: Collector) -> bytes:
    """The text format Prometheus scrapes."""
    return generate_latest(scrape_registry(*extra))
