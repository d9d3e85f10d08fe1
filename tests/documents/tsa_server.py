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
    """``url`` to point ``ECANCEL_TSA_URL`` at; ``requests`` the content types received; ``answers`` a queue of HTTP
    statuses to give instead of a token (empty: every request gets the authority's answer)."""

    url: str = ""
    requests: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)


@contextmanager
def timestamp_server(authority: LocalTimestampAuthority) -> Iterator[TimestampServer]:
    state = TimestampServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(self.headers.get("Content-Type", ""))
            status = state.answers.pop(0) if state.answers else 200
            answer = authority.respond_der(body) if status == 200 else b""
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
