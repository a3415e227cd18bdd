"""A webhook receiver for the tests: `http.server` on 127.0.0.1 in a thread, recording every
request it is sent; it answers `status` (200 unless told), can be stopped and started again on
the same port (the receiver down, then up)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Received:
    """One request the receiver took."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found

    def signed_with(self, secret: str) -> bool:
        """Whether its signature is the HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
        signed = self.headers["Webhook-Timestamp"].encode() + b"." + self.body
        expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("Webhook-Signature", ""))


class Receiver:
    """Records the POSTs it is sent and answers them with `status`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.port = 0
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                answer = receiver.status
                if 200 <= answer < 300:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(answer)
                if 300 <= answer < 400:  # back to itself: a client that follows gets 501 (GET)
                    self.send_header("Location", receiver.url)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
