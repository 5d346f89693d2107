"""A department's webhook endpoint on loopback: records every delivery (headers, body, when), answers 2xx, or an error,
or holds the request until released (a hanging endpoint)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.waiting import wait_until


@dataclass
class Receiver:
    received: list[dict] = field(default_factory=list)
    status: int = 204
    hold: threading.Event | None = None  # set: answer; unset: every request waits for it
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.received.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body, "at": time.monotonic()})
                    hold, status = receiver.hold, receiver.status
                if hold is not None:
                    hold.wait(120)
                    status = receiver.status
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up (timeout, or killed)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()

    def ids(self) -> list[str]:
        with self.lock:
            return [r["headers"]["webhook-id"] for r in self.received]

    def wait_for(self, condition, seconds: float = 30.0):
        def seen():
            with self.lock:
                return condition(list(self.received))

        return wait_until(seen, timeout=seconds, what="what the receiver was expected to see",
                          describe=lambda _: f"{len(self.received)} requests")
