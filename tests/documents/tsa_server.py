"""An RFC 3161 timestamp authority over HTTP on 127.0.0.1, answering with a ``LocalTimestampAuthority``'s tokens."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ecancel.documents.timestamps import LocalTimestampAuthority


@dataclass
class TimestampServer:
    """``url`` to point ``ECANCEL_TSA_URL`` at; ``requests`` the content types received; ``answers`` a queue of what
    to give instead of the authority's answer: an HTTP status (with no body), or bytes (with 200)."""

    url: str = ""
    requests: list[str] = field(default_factory=list)
    answers: list[int | bytes] = field(default_factory=list)


@contextmanager
def timestamp_server(authority: LocalTimestampAuthority) -> Iterator[TimestampServer]:
    state = TimestampServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(self.headers.get("Content-Type", ""))
            queued = state.answers.pop(0) if state.answers else None
            status = queued if isinstance(queued, int) else 200
            answer = queued if isinstance(queued, bytes) else authority.respond_der(body) if queued is None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
