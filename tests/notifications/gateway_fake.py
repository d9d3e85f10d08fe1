"""A stand-in for the SMS and WeChat gateways on 127.0.0.1: checks the HMAC signature, records what it accepted.

``answers`` is a queue of what to answer next (an HTTP status, or a status and a JSON body); when it is empty
the gateway accepts: 200 and ``{"id": …}`` (SMS) / ``{"errcode": 0, "msgid": …}`` (WeChat). ``hang`` keeps a
request open until the test ends, so the client's timeout fires first. A port can be chosen before the gateway
starts, to be down first and up later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "g" * 40


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    signed: bool


@dataclass
class FakeGateway:
    port: int = field(default_factory=free_port)
    answers: list[tuple[int, dict[str, Any]] | str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def accepted(self, path: str = "") -> list[Request]:
        """Requests answered with success, one per idempotency key (what a real gateway would have sent)."""
        seen: dict[str, Request] = {}
        for request in self.requests:
            if request.path.startswith(path) and request.signed and request.headers.get("x-accepted") == "1":
                seen.setdefault(request.headers["idempotency-key"], request)
        return list(seen.values())

    def start(self) -> FakeGateway:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler(fake: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            timestamp = self.headers.get("X-Ecancel-Timestamp", "")
            expected = "v1=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(expected, self.headers.get("X-Ecancel-Signature", ""))
            request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw), signed)
            fake.requests.append(request)
            answer = fake.answers.pop(0) if fake.answers else None
            if answer == "hang":
                fake.release.wait(10)
                return
            if not signed:
                status, body = 401, {"error": "bad signature"}
            elif isinstance(answer, tuple):
                status, body = answer
            elif self.path.startswith("/wechat"):
                status, body = 200, {"errcode": 0, "errmsg": "ok", "msgid": len(fake.requests)}
            else:
                status, body = 200, {"id": f"sms-{len(fake.requests)}"}
            if status == 200 and body.get("errcode", 0) == 0:
                request.headers["x-accepted"] = "1"
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
