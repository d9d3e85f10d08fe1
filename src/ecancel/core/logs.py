"""Request IDs on every log line of a request, and one JSON object per line when ``ECANCEL_LOG_FORMAT=json``.

The ID comes from the caller's ``X-Request-ID`` when it is short and made of safe characters (so a proxy's or a
peer's ID follows the request through), otherwise it is made here; it goes back on the response, into every log
record of the request (a context variable read by a logging filter) and into the audit rows the request writes
(``RequestContext.request_id``).

The line logged per request names the route, never the path or the query string: paths carry hand-off tokens and
query strings carry whatever people search for (ID and phone numbers). Where a path is logged anyway (Django's
line for a 4xx or 5xx answer, gunicorn's access log) the hand-off token is cut out of it (``without_secrets``).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# Fits the audit table's request_id column (64); no spaces, quotes or control characters to forge a log line with.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
UNMATCHED_ROUTE = "<unmatched>"

# A QR hand-off's token (/h/<token>) is a credential until the buyer's first device claims it.
_HANDOFF_TOKEN = re.compile(r"(/h/)[^/\s?#\"']+")

_current_request_id: ContextVar[str | None] = ContextVar("ecancel_request_id", default=None)
request_logger = logging.getLogger("ecancel.requests")


def current_request_id() -> str | None:
    """The ID of the request being handled in this thread, None outside a request."""
    return _current_request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(incoming: str | None) -> str:
    """The caller's ID if it is short and safe, otherwise a new one."""
    if incoming and VALID_REQUEST_ID.fullmatch(incoming):
        return incoming
    return new_request_id()


def route_label(request: HttpRequest) -> str:
    """The route that served the request: its URL name, or its pattern when it has none; never the raw path.

    Bounded by the URL configuration, so it is safe as a metric label, and it holds no data from the request.
    """
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED_ROUTE
    return match.view_name if match.url_name else match.route


class RequestIdMiddleware:
    """Outermost middleware: everything logged while the request is handled carries its ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
        # Kept until the response is closed (forget_request_id): Django logs 4xx and 5xx answers after the
        # middleware has returned, and a streamed download is still this request.
        _current_request_id.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        request_logger.info(
            "%s %s %s %.0fms",
            request.method,
            route_label(request),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response


@receiver(request_finished, dispatch_uid="ecancel.core.logs.forget_request_id")
def forget_request_id(**kwargs: object) -> None:
    """The request is over: what this thread logs next belongs to no request until the next one starts."""
    _current_request_id.set(None)


# A job queued while a request is handled carries the request's ID in this message header; the worker takes it up
# for the job, so the job's log lines and audit rows (``RequestContext``'s default) lead back to the request.
TASK_HEADER = "ecancel_request_id"


def request_id_to_job(headers: dict[str, object] | None = None, **_: object) -> None:
    """Celery's ``before_task_publish``: the current request's ID into the job's headers."""
    request_id = current_request_id()
    if headers is not None and request_id:
        headers.setdefault(TASK_HEADER, request_id)


def request_id_from_job(task: Any = None, **_: object) -> None:
    """Celery's ``task_prerun``: the job's request ID for its run. A job run inline (eager) keeps the request's."""
    incoming = getattr(getattr(task, "request", None), TASK_HEADER, None)
    if isinstance(incoming, str) and VALID_REQUEST_ID.fullmatch(incoming):
        task.request.ecancel_request_id_token = _current_request_id.set(incoming)


def request_id_after_job(task: Any = None, **_: object) -> None:
    """Celery's ``task_postrun``: back to what it was before the job (no request in a worker)."""
    token = getattr(getattr(task, "request", None), "ecancel_request_id_token", None)
    if token is not None:
        _current_request_id.reset(token)
        task.request.ecancel_request_id_token = None


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record (None outside a request), for the formatters to show."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def without_secrets(text: str) -> str:
    """``text`` with every hand-off token in a path replaced by ``<token>``."""
    return _HANDOFF_TOKEN.sub(r"\1<token>", text)


class SecretsFilter(logging.Filter):
    """On the loggers that write request paths (``django.request``: "Gone: /h/…"): the tokens are cut out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = without_secrets(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, and exception text when any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
