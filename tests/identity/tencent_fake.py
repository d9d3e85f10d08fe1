"""A stand-in for Tencent Cloud's API on 127.0.0.1, answering in the shapes of the SDK's models.

Every call is a POST with the action in ``X-TC-Action`` and a JSON body; answers are
``{"Response": {..., "RequestId": ...}}`` or ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``.
Tests set ``answers[action]`` to a body, an error code, an HTTP status, or "hang" (answer only when the
test ends: the client's timeout fires first).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Answer:
    body: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    status: int = 200
    hang: bool = False


@dataclass
class FakeTencent:
    url: str
    answers: dict[str, Answer] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def actions(self) -> list[str]:
        return [action for action, _, _ in self.calls]


def _handler(fake: FakeTencent) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length) or b"{}")
            action = self.headers.get("X-TC-Action", "")
            fake.calls.append((action, payload, dict(self.headers)))
            answer = fake.answers.get(action, Answer(error="InvalidAction"))
            if answer.hang:
                fake.release.wait(10)
                return
            request_id = str(uuid.uuid4())
            if answer.error:
                body: dict[str, Any] = {
                    "Error": {"Code": answer.error, "Message": f"fake {answer.error}"},
                    "RequestId": request_id,
                }
            else:
                body = {**answer.body, "RequestId": request_id}
            data = json.dumps({"Response": body}).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def fake_tencent(settings: Any) -> Iterator[FakeTencent]:
    """The fake server, with the Tencent provider's settings pointed at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake := FakeTencent(url="")))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ECANCEL_TENCENT_ENDPOINT = fake.url
    settings.ECANCEL_TENCENT_SECRET_ID = "AKIDfake"
    settings.ECANCEL_TENCENT_SECRET_KEY = "fake-secret"
    settings.ECANCEL_TENCENT_RULE_ID = "1"
    settings.ECANCEL_TENCENT_TIMEOUT = 5.0
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
