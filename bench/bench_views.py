#!/usr/bin/env python3
"""How fast the views open a large file: `codecarbon report` and carbonboard on a 10,000-row emissions CSV.

Prints figures, asserts nothing. The file is made here: runs of several projects, countries and cloud regions,
about a third of them flushed (append mode: several cumulative rows for one run), in our 43 columns.

- report: wall time of `codecarbon report FILE` (text), `--format json` and `--html OUT`, each a fresh process;
- carbonboard start-up: from launching `carbonboard --filepath FILE` to its first HTTP 200 on /;
- first paint: headless Chromium (real time, no virtual clock) loads the page; the page records when its first
  contentful paint happened and when all five charts were on screen (ms after navigation start).

Usage: python3 bench/bench_views.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codecarbon.output_methods.emissions_data import CSV_COLUMNS, EXTRA_COLUMNS  # noqa: E402

PLACES = [("France", "FRA", "", "", "", 56.0), ("Germany", "DEU", "", "", "", 381.0),
          ("United States", "USA", "california", "", "", 205.0), ("Canada", "CAN", "quebec", "", "", 30.0),
          ("India", "IND", "", "", "", 713.0), ("Belgium", "BEL", "", "gcp", "europe-west1", 103.0),
          ("Finland", "FIN", "", "gcp", "europe-north1", 39.0), ("United States", "USA", "", "gcp", "us-east4", 323.0)]


def make_file(path: Path, rows: int, seed: int = 7) -> int:
    """Write ``rows`` rows; returns the number of distinct runs."""
    rng = random.Random(seed)
    columns = CSV_COLUMNS + EXTRA_COLUMNS
    written = runs = 0
    start = time.mktime((2026, 1, 1, 0, 0, 0, 0, 0, -1))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        while written < rows:
            runs += 1
            run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            country, iso, region, provider, cloud_region, intensity = rng.choice(PLACES)
            project = rng.choice(["llm-finetune", "vision", "etl", "notebooks", "benchmarks"])
            flushes = rng.choice([1, 1, 2, 3])
            duration = rng.uniform(60, 7200)
            cpu_w, gpu_w, ram_w = rng.uniform(20, 120), rng.choice([0, 0, 250, 700]), rng.uniform(5, 30)
            for flush in range(1, flushes + 1):
                if written >= rows:
                    break
                seconds = duration * flush / flushes
                energies = [w * seconds / 3.6e6 for w in (cpu_w, gpu_w, ram_w)]
                energy = sum(energies)
                end = start + runs * 3600 + seconds
                writer.writerow({
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(end)), "project_name": project,
                    "run_id": run_id, "experiment_id": "5b0fa12a-3dd7-45bb-9766-cc326314d9f1", "duration": seconds,
                    "emissions": energy * intensity / 1000, "emissions_rate": energy * intensity / 1000 / seconds,
                    "cpu_power": cpu_w, "gpu_power": gpu_w, "ram_power": ram_w, "cpu_energy": energies[0],
                    "gpu_energy": energies[1], "ram_energy": energies[2], "energy_consumed": energy,
                    "water_consumed": 0.0, "country_name": country, "country_iso_code": iso, "region": region,
                    "cloud_provider": provider, "cloud_region": cloud_region, "os": "Linux", "python_version": "3.12",
                    "codecarbon_version": "3.4.0", "cpu_count": 16, "cpu_model": "Bench CPU", "gpu_count": 1 if
                    gpu_w else 0, "gpu_model": "Bench GPU" if gpu_w else "", "ram_total_size": 64,
                    "tracking_mode": "machine", "on_cloud": "Y" if provider else "N", "pue": 1.0, "wue": 0.0,
                    "cpu_measure": "rapl", "gpu_measure": "nvml-energy" if gpu_w else "", "ram_measure": "ram-model",
                    "carbon_intensity": intensity, "intensity_source": "owid-energy 2023"})
                written += 1
    return runs


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr}")
    return elapsed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DevTools:
    """Just enough of the Chrome DevTools protocol over a hand-rolled websocket to evaluate JavaScript."""

    def __init__(self, ws_url: str):
        rest = ws_url.split("://", 1)[1]
        host_port, path = rest.split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += self.sock.recv(4096)
        if b" 101 " not in answer.split(b"\r\n")[0]:
            raise RuntimeError(answer.decode(errors="replace"))
        self.buffer = answer.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _send(self, text: str) -> None:
        data = text.encode()
        mask = os.urandom(4)
        head = bytes([0x81])
        if len(data) < 126:
            head += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            head += bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
        else:
            head += bytes([0x80 | 127]) + len(data).to_bytes(8, "big")
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("devtools closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:count], self.buffer[count:]
        return out

    def _receive(self) -> dict:
        first, second = self._take(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(self._take(2), "big")
        elif length == 127:
            length = int.from_bytes(self._take(8), "big")
        return json.loads(self._take(length))

    def evaluate(self, expression: str) -> object:
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": "Runtime.evaluate",
                               "params": {"expression": expression, "returnByValue": True}}))
        while True:
            message = self._receive()
            if message.get("id") == self.next_id:
                return message.get("result", {}).get("result", {}).get("value")


def first_paint(url: str, work: Path) -> tuple[int | None, int | None]:
    """(first contentful paint, all charts drawn) in ms after navigation, measured by the page in real time."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None, None
    port = free_port()
    profile = Path(tempfile.mkdtemp(dir=work))
    command = [chromium, "--headless", "--disable-gpu", f"--user-data-dir={profile}",
               f"--remote-debugging-port={port}", "--remote-allow-origins=*", url]
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")
    browser = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        targets: list = []
        while time.monotonic() < deadline and not targets:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as answer:
                    targets = [t for t in json.loads(answer.read()) if t.get("type") == "page"]
            except OSError:
                time.sleep(0.05)
        tools = DevTools(targets[0]["webSocketDebuggerUrl"])
        while time.monotonic() < deadline:
            drawn = tools.evaluate("document.body && document.body.dataset.chartsDrawnMs")
            if drawn:
                fcp = tools.evaluate("document.body.dataset.firstContentfulPaintMs || ''")
                return (int(fcp) if fcp else None), int(drawn)
            time.sleep(0.05)
        return None, None
    finally:
        browser.terminate()
        browser.wait(timeout=10)


def carbonboard_once(path: Path, env: dict[str, str], work: Path) -> tuple[float, int | None, int | None]:
    """(seconds to first HTTP 200, first contentful paint ms, all charts drawn ms) of one launch."""
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "codecarbon.viz.carbonboard", "--filepath", str(path),
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("carbonboard exited") from None
                time.sleep(0.02)
        ready = time.perf_counter() - started
        fcp, drawn = first_paint(url, work)
        return ready, fcp, drawn
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = {"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tempfile.gettempdir()}
    with tempfile.TemporaryDirectory(prefix="codecarbon-bench-views-") as folder:
        work = Path(folder)
        path = work / "emissions.csv"
        runs = make_file(path, args.rows)
        print(f"file: {args.rows} rows, {runs} runs, {path.stat().st_size / 1e6:.1f} MB")
        cli = [sys.executable, "-m", "codecarbon.cli.main", "report", str(path)]
        for label, extra in (("report (text)", []), ("report --format json", ["--format", "json"]),
                             ("report --html", ["--html", str(work / "r.html")])):
            times = [timed(cli + extra, env) for _ in range(args.repeat)]
            print(f"{label:<24} median {statistics.median(times):.2f} s  (min {min(times):.2f}, max {max(times):.2f})")
        results = [carbonboard_once(path, env, work) for _ in range(args.repeat)]
        ready = [r[0] for r in results]
        print(f"{'carbonboard start-up':<24} median {statistics.median(ready):.2f} s  (min {min(ready):.2f}, "
              f"max {max(ready):.2f})  launch -> first HTTP 200")
        fcp = [r[1] for r in results if r[1] is not None]
        drawn = [r[2] for r in results if r[2] is not None]
        if fcp and drawn:
            print(f"{'first contentful paint':<24} median {statistics.median(fcp) / 1000:.2f} s after navigation")
            print(f"{'all 5 charts drawn':<24} median {statistics.median(drawn) / 1000:.2f} s after navigation "
                  f"(launch to charts: ~{statistics.median(ready) + statistics.median(drawn) / 1000:.2f} s)")
        else:
            print("first paint: not measured (no chromium, or the page did not finish drawing)")
        html_drawn = [first_paint((work / "r.html").as_uri(), work)[1] for _ in range(args.repeat)]
        html_drawn_ms = [d for d in html_drawn if d is not None]
        if html_drawn_ms:
            median_s = statistics.median(html_drawn_ms) / 1000
            print(f"{'report --html page':<24} all 5 charts drawn median {median_s:.2f} s after opening the file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
