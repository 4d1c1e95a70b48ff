"""An OTLP/HTTP metrics receiver on 127.0.0.1 that decodes what it gets with the official opentelemetry-proto
classes, as a collector's HTTP receiver would; ``status`` other than 200 makes it a failing collector."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.servers import serve_on_loopback, stop_serving


@dataclass
class Point:
    """One decoded data point with where it came from."""

    name: str
    unit: str
    kind: str  # "sum" or "gauge"
    monotonic: bool
    value: float
    attributes: dict[str, Any]
    resource: dict[str, Any]
    start_ns: int
    time_ns: int


def _attributes(pairs: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pair in pairs:
        which = pair.value.WhichOneof("value")
        found[pair.key] = getattr(pair.value, which) if which else None
    return found


def decode(body: bytes) -> list[Point]:
    """Every data point of one ExportMetricsServiceRequest."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    request = ExportMetricsServiceRequest.FromString(body)
    points = []
    for resource_metrics in request.resource_metrics:
        resource = _attributes(resource_metrics.resource.attributes)
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                kind = metric.WhichOneof("data")
                data = getattr(metric, kind)
                monotonic = bool(getattr(data, "is_monotonic", False))
                for point in data.data_points:
                    value = point.as_double if point.WhichOneof("value") == "as_double" else float(point.as_int)
                    points.append(Point(metric.name, metric.unit, kind, monotonic, value,
                                        _attributes(point.attributes), resource, point.start_time_unix_nano,
                                        point.time_unix_nano))
    return points


@dataclass
class Receiver:
    status: int = 200
    fail_first: int = 0  # answer 503 to that many requests first (a collector starting up)
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def requests(self) -> int:
        with self.lock:
            return len(self.bodies)

    def latest(self) -> list[Point]:
        with self.lock:
            return decode(self.bodies[-1]) if self.bodies else []

    def start(self, port: int = 0) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with owner.lock:
                    owner.paths.append(self.path)
                    owner.headers.append({k.lower(): v for k, v in self.headers.items()})
                    status = 503 if owner.fail_first > 0 else owner.status
                    owner.fail_first = max(0, owner.fail_first - 1)
                    if status == 200:
                        owner.bodies.append(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = serve_on_loopback(Handler, port)
        return self

    def stop(self) -> None:
        if self.server is not None:
            stop_serving(self.server)


@contextmanager
def otlp_receiver(status: int = 200, fail_first: int = 0) -> Iterator[Receiver]:
    receiver = Receiver(status=status, fail_first=fail_first).start()
    try:
        yield receiver
    finally:
        receiver.stop()
