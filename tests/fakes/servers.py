"""Local HTTP servers on 127.0.0.1 for output tests: one that records, one that hangs, a closed port."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def serve_on_loopback(handler: type[BaseHTTPRequestHandler], port: int = 0,
                      poll_s: float = 0.5) -> ThreadingHTTPServer:
    """A threaded HTTP server on 127.0.0.1 (``port`` 0: a free one) serving from a daemon thread; every fake
    server of the tests starts this way and ends with `stop_serving`."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(poll_s,), daemon=True).start()
    return server


def stop_serving(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def loopback_url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class RecordingServer:
    """Answers POSTs like the CodeCarbon API / an emissions endpoint and keeps every request it received.

    ``status`` is the answer to every request (e.g. 500 for a failing server); ``fail_first`` answers 500 to that
    many requests before answering normally. ``POST /runs`` answers ``{"id": "api-run-<n>"}``. ``slow_first``
    requests are answered only after ``delay`` seconds. ``requests`` keeps what was accepted (2xx), ``attempts``
    every request received.
    """

    status: int = 201
    fail_first: int = 0
    slow_first: int = 0
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)
    attempts: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def received(self, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = Request(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}, body)
        with self.lock:
            self.attempts.append(request)
            slow = self.slow_first > 0
            if slow:
                self.slow_first -= 1
        if slow:
            import time

            time.sleep(self.delay)
        with self.lock:
            failing = self.fail_first > 0
            if failing:
                self.fail_first -= 1
            status = 500 if failing else self.status
            if 200 <= status < 300:
                self.requests.append(request)
            runs = sum(1 for r in self.requests if r.path.endswith("/runs"))
        answer = {"id": f"api-run-{runs}"} if handler.path.endswith("/runs") else {}
        data = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def start(self) -> RecordingServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                owner._answer(self)

            do_PUT = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = serve_on_loopback(Handler)
        return self

    def stop(self) -> None:
        if self.server is not None:
            stop_serving(self.server)


@contextmanager
def recording_server(status: int = 201, fail_first: int = 0, slow_first: int = 0,
                     delay: float = 0.0) -> Iterator[RecordingServer]:
    server = RecordingServer(status=status, fail_first=fail_first, slow_first=slow_first, delay=delay).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def hanging_server() -> Iterator[str]:
    """A port that accepts connections and never answers; yields its URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def refused_url() -> str:
    """A URL on a local port where nothing listens (connections are refused at once)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"


def free_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until true or ``timeout``; returns the last result (no timing is asserted)."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
