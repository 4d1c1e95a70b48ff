"""The real Prometheus server (Debian's /usr/bin/prometheus) on a free 127.0.0.1 port, scraping given targets.

``prometheus_server(folder, targets)`` writes a config that scrapes each ``host:port`` every second, starts the
server with its own storage folder, waits until it answers ``/-/ready``, and stops it afterwards. Queries go
through its HTTP API (``/api/v1/query``, ``/api/v1/query_range``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.servers import free_port

PROMETHEUS_BINARY = "/usr/bin/prometheus"
SCRAPE_JOB = "codecarbon-nodes"


def prometheus_binary() -> str | None:
    if os.access(PROMETHEUS_BINARY, os.X_OK):
        return PROMETHEUS_BINARY
    return shutil.which("prometheus")


def prometheus_available() -> bool:
    return prometheus_binary() is not None


class QueryError(AssertionError):
    pass


@dataclass
class PrometheusServer:
    url: str
    log: Path

    def api(self, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode({k: str(v) for k, v in params.items()})
        try:
            with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise QueryError(f"{path} {params}: HTTP {error.code} {error.read()[:500]!r}") from None
        if answer.get("status") != "success":
            raise QueryError(f"{path} {params}: {answer}")
        return answer["data"]

    def query(self, promql: str) -> list[tuple[dict[str, str], float]]:
        """An instant query's series as (labels, value); a scalar result as one unlabelled entry."""
        data = self.api("/api/v1/query", query=promql)
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(item["metric"], float(item["value"][1])) for item in data["result"]]

    def query_range(self, promql: str, seconds: float, step: float = 1.0) -> list[tuple[dict[str, str], list[float]]]:
        end = time.time()
        data = self.api("/api/v1/query_range", query=promql, start=end - seconds, end=end, step=step)
        return [(item["metric"], [float(v) for _, v in item["values"]]) for item in data["result"]]

    def wait_for(self, promql: str, check: Callable[[list[tuple[dict[str, str], float]]], bool],
                 timeout: float = 60.0) -> list[tuple[dict[str, str], float]]:
        """Poll until the query's result passes ``check`` (scrapes happen every second)."""
        deadline = time.monotonic() + timeout
        result: list[tuple[dict[str, str], float]] = []
        while time.monotonic() < deadline:
            result = self.query(promql)
            if check(result):
                return result
            time.sleep(0.5)
        raise AssertionError(f"{promql!r} never passed its check; last result {result}; log:\n"
                             f"{self.log.read_text(errors='replace')[-2000:]}")


def write_config(path: Path, targets: list[str]) -> None:
    lines = ["global:", "  scrape_interval: 1s", "  evaluation_interval: 1s", "scrape_configs:",
             f"  - job_name: {SCRAPE_JOB}", "    static_configs:", "      - targets:"]
    lines += [f"          - '{target}'" for target in targets]
    path.write_text("\n".join(lines) + "\n")


@contextmanager
def prometheus_server(folder: Path, targets: list[str]) -> Iterator[PrometheusServer]:
    binary = prometheus_binary()
    assert binary is not None
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    write_config(config, targets)
    port = free_port()
    log_path = folder / "prometheus.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
        stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    server = PrometheusServer(f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not become ready within 60 s")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
