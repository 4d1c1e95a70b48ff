"""How long stop() waits when every network output points at a server that accepts and never answers.

Usage: python bench/bench_stop_latency.py [--timeout 5.0] [--runs 3]
The documented bound is delivery_timeout_secs for all network outputs together (default 5 s).
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def silent_server() -> tuple[str, socket.socket]:
    """A local port that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", listener


def one_run(url: str, timeout: float) -> float:
    from codecarbon import OfflineEmissionsTracker

    with tempfile.TemporaryDirectory() as folder:
        tracker = OfflineEmissionsTracker(
            country_iso_code="FRA", measure_power_secs=0.2, api_call_interval=2, output_dir=folder,
            output_methods=["csv", "api", "prometheus"], api_endpoint=url, api_key="bench",
            emissions_endpoint=url, prometheus_url=url, delivery_timeout_secs=timeout, log_level="error")
        tracker.start()
        time.sleep(1.5)  # a few live_out windows queue up behind the silent server
        started = time.perf_counter()
        tracker.stop()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=5.0, help="delivery_timeout_secs")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url, listener = silent_server()
    latencies = [one_run(url, args.timeout) for _ in range(args.runs)]
    listener.close()
    print(f"outputs: csv + HTTP + CodeCarbon API + Prometheus, all network ones silent at {url}")
    print(f"delivery_timeout_secs = {args.timeout:.1f} s (documented bound for stop())")
    for number, seconds in enumerate(latencies, start=1):
        print(f"run {number}: stop() took {seconds:.2f} s")
    worst = max(latencies)
    print(f"worst: {worst:.2f} s -> {'within' if worst <= args.timeout + 0.5 else 'OVER'} the bound")


if __name__ == "__main__":
    main()
