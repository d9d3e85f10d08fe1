"""Every request has an ID: the caller's when it is short and safe, else a new one; it is on the response, on every
log line of the request (JSON with ECANCEL_LOG_FORMAT=json) and on the audit rows the request writes."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from celery.app.task import Context
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from ecancel.core.context import RequestContext
from ecancel.core.logs import (
    JsonFormatter,
    RequestIdFilter,
    RequestIdMiddleware,
    current_request_id,
    forget_request_id,
    request_id_after_job,
    request_id_from_job,
    request_id_to_job,
)

ID_NUMBER = "110101199003074514"
PHONE = "13912345678"
NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the root logger writes, formatted as ECANCEL_LOG_FORMAT=json formats it, with request lines on."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root, requests = logging.getLogger(), logging.getLogger("ecancel.requests")
    level = requests.level
    root.addHandler(handler)
    requests.setLevel(logging.INFO)
    yield stream
    requests.setLevel(level)
    root.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db
def test_incoming_id_is_echoed_and_on_the_request_line(client: Client, json_log: io.StringIO) -> None:
    response = client.get(f"/healthz?id_number={ID_NUMBER}&phone={PHONE}", headers={"X-Request-ID": "lb-7f3a.2_9"})
    assert response["X-Request-ID"] == "lb-7f3a.2_9"
    (line,) = [entry for entry in _lines(json_log) if entry["logger"] == "ecancel.requests"]
    assert line["request_id"] == "lb-7f3a.2_9"
    assert line["message"].startswith("GET healthz 200 ")
    assert line["level"] == "INFO"
    assert set(line) == {"time", "level", "logger", "message", "request_id"}
    assert ID_NUMBER not in json_log.getvalue()
    assert PHONE not in json_log.getvalue()


@pytest.mark.django_db
def test_what_django_logs_after_the_view_carries_the_id_too(client: Client, json_log: io.StringIO) -> None:
    """Django logs a 404 once the middleware has returned; the ID holds until the response is closed."""
    response = client.get(f"/no-such-page?q={ID_NUMBER}", headers={"X-Request-ID": "trace-404"})
    assert response.status_code == 404
    not_found = [entry for entry in _lines(json_log) if entry["logger"] == "django.request"]
    assert [entry["request_id"] for entry in not_found] == ["trace-404"]
    assert ID_NUMBER not in json_log.getvalue()
    assert current_request_id() is None


@pytest.mark.parametrize("incoming", ["", "has space", "line\nbreak", 'quote"d', "x" * 65, "身份证", "<script>"])
@pytest.mark.django_db
def test_an_unsafe_or_long_incoming_id_is_replaced(client: Client, incoming: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    assert NEW_ID.fullmatch(response["X-Request-ID"])


def test_a_request_without_an_id_gets_a_new_one_each_time(client: Client) -> None:
    first, second = client.get("/healthz")["X-Request-ID"], client.get("/healthz")["X-Request-ID"]
    assert NEW_ID.fullmatch(first)
    assert NEW_ID.fullmatch(second)
    assert first != second


def test_audit_context_of_a_request_takes_its_id() -> None:
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(RequestContext.of(request).request_id)
        return HttpResponse()

    try:
        RequestIdMiddleware(view)(RequestFactory().get("/", headers={"X-Request-ID": "audit-me"}))
    finally:
        forget_request_id()  # no handler here to close the response
    assert seen == ["audit-me"]
    assert RequestContext.system().request_id != "audit-me"


def test_json_line_holds_the_exception_text() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("ecancel.test").makeRecord(
            "ecancel.test", logging.ERROR, __file__, 1, "failed: %s", ("x",), exc_info=sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed: x"
    assert entry["level"] == "ERROR"
    assert entry["request_id"] is None
    assert "Traceback" in entry["exception"]
    assert "ValueError: boom" in entry["exception"]
    assert "\n" not in JsonFormatter().format(record)


def _during_request(request_id: str, work: Callable[[], object]) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        work()
        return HttpResponse()

    try:
        RequestIdMiddleware(view)(RequestFactory().get("/", headers={"X-Request-ID": request_id}))
    finally:
        forget_request_id()


@pytest.mark.django_db
def test_a_job_queued_by_a_request_runs_under_its_id() -> None:
    headers: dict[str, object] = {}
    _during_request("queued-by-me", lambda: request_id_to_job(headers=headers))
    job = SimpleNamespace(request=Context(headers))  # what the worker builds from the message's headers

    request_id_from_job(task=job)
    assert current_request_id() == "queued-by-me"
    assert RequestContext.system("worker").request_id == "queued-by-me"  # its audit rows lead to the request
    request_id_after_job(task=job)
    assert current_request_id() is None


def test_a_job_run_inline_keeps_the_request_s_id() -> None:
    seen: list[str | None] = []

    def inline_job() -> None:
        job = SimpleNamespace(request=Context({}))
        request_id_from_job(task=job)
        seen.append(current_request_id())
        request_id_after_job(task=job)
        seen.append(current_request_id())

    _during_request("eager-request", inline_job)
    assert seen == ["eager-request", "eager-request"]


def test_a_forged_id_in_a_job_s_headers_is_not_taken() -> None:
    job = SimpleNamespace(request=Context({"ecancel_request_id": 'x" forged=1'}))
    request_id_from_job(task=job)
    assert current_request_id() is None
