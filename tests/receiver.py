"""A CRM's webhook endpoint, on loopback: it keeps what it receives and
answers what the test says (a status, after a pause), for the webhook tests,
the walk-through and the bench."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []
        self.status = 200
        self.statuses: list[int] = []  # the next requests' answers, in turn, before `status`
        self.pause_s = 0.0
        self.headers_out: dict[str, str] = {}
        self.on_receive: Callable[[Received], None] | None = None
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def keep(self, received: Received) -> None:
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        if self.on_receive is not None:
            self.on_receive(received)

    def answer(self) -> int:
        with self._lock:
            return self.statuses.pop(0) if self.statuses else self.status

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Received]:
        """The first `count` requests, once they came (AssertionError else)."""
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.received)} of {count} webhooks received"
                self._arrived.wait(left)
            return list(self.received[:count])


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.keep(Received(self.path, {key.lower(): value for key, value in self.headers.items()}, body))
        if self.server.pause_s:
            time.sleep(self.server.pause_s)
        self.send_response(self.server.answer())
        for name, value in self.server.headers_out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass
