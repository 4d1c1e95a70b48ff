"""The real Prometheus Pushgateway (Debian's /usr/bin/prometheus-pushgateway) on a free 127.0.0.1 port.

``pushgateway()`` starts it with its own storage folder, waits until it is ready, and stops it afterwards.
``basic_auth_proxy()`` puts a small reverse proxy demanding HTTP basic auth in front of it (the gateway's own
``--web.config.file`` needs a bcrypt hash, and the bcrypt module is not installed here).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.fakes.servers import free_port, loopback_url, serve_on_loopback, stop_serving

PUSHGATEWAY_BINARY = "/usr/bin/prometheus-pushgateway"


def pushgateway_available() -> bool:
    return os.access(PUSHGATEWAY_BINARY, os.X_OK) or shutil.which("prometheus-pushgateway") is not None


@dataclass
class Gateway:
    url: str

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            return response.read().decode("utf-8")

    def samples(self, name: str) -> list[tuple[dict[str, str], float]]:
        """Every exposed sample named ``name`` with its labels (parsed with prometheus_client's parser)."""
        from prometheus_client.parser import text_string_to_metric_families

        found = []
        for family in text_string_to_metric_families(self.metrics_text()):
            for sample in family.samples:
                if sample.name == name:
                    found.append((dict(sample.labels), float(sample.value)))
        return found


@contextmanager
def pushgateway(tmp_dir: Path) -> Iterator[Gateway]:
    binary = PUSHGATEWAY_BINARY if os.access(PUSHGATEWAY_BINARY, os.X_OK) else shutil.which("prometheus-pushgateway")
    port = free_port()
    tmp_dir.mkdir(parents=True, exist_ok=True)
    log = open(tmp_dir / "pushgateway.log", "wb")
    process = subprocess.Popen(
        [str(binary), f"--web.listen-address=127.0.0.1:{port}",
         f"--persistence.file={tmp_dir / 'metrics.store'}", "--web.enable-admin-api"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pushgateway did not start: {(tmp_dir / 'pushgateway.log').read_text()}")
            time.sleep(0.05)
        yield Gateway(url)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def basic_auth_proxy(target: str, username: str, password: str) -> Iterator[str]:
    """A reverse proxy to ``target`` that answers 401 unless the request carries these credentials."""
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            if self.headers.get("Authorization") != expected:
                seen.append("denied")
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="gateway"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            seen.append("allowed")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            request = urllib.request.Request(target + self.path, data=body, method=self.command)
            for name in ("Content-Type", "Content-Encoding"):
                if self.headers.get(name):
                    request.add_header(name, self.headers[name])
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    status, data = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, data = error.code, error.read()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = _forward  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = serve_on_loopback(Handler)
    server.seen = seen  # type: ignore[attr-defined]
    try:
        yield loopback_url(server)
    finally:
        stop_serving(server)
