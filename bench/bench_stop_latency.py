"""How long flush() and stop() wait when every network output points at a server that accepts and never answers.

Usage: python bench/bench_stop_latency.py [--timeout SECONDS] [--runs 3]
Outputs: CSV + HTTP (emissions_endpoint) + CodeCarbon API + Prometheus, the three network ones at one silent port.
The documented bound is delivery_timeout_secs for all network outputs together (default 2 s); what is not
delivered by then is spooled (here into a temporary state directory, removed afterwards).
"""

from __future__ import annotations

import argparse
import os
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


def one_run(url: str, timeout: float | None) -> tuple[float, float]:
    """(flush seconds, stop seconds) for one tracker."""
    from codecarbon import OfflineEmissionsTracker

    with tempfile.TemporaryDirectory() as folder:
        chosen = {} if timeout is None else {"delivery_timeout_secs": timeout}
        tracker = OfflineEmissionsTracker(
            country_iso_code="FRA", measure_power_secs=0.2, api_call_interval=2, output_dir=folder,
            output_methods=["csv", "api", "prometheus"], api_endpoint=url, api_key="bench",
            emissions_endpoint=url, prometheus_url=url, log_level="error", **chosen)
        tracker.start()
        time.sleep(1.5)  # a few live_out windows queue up behind the silent server
        started = time.perf_counter()
        tracker.flush()
        flushed = time.perf_counter() - started
        time.sleep(0.5)
        started = time.perf_counter()
        tracker.stop()
        return flushed, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=None, help="delivery_timeout_secs (default: the tracker's)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from codecarbon.output_methods.delivery import DEFAULT_DELIVERY_TIMEOUT_SECS

    bound = DEFAULT_DELIVERY_TIMEOUT_SECS if args.timeout is None else args.timeout
    url, listener = silent_server()
    with tempfile.TemporaryDirectory() as state:
        os.environ["CODECARBON_STATE_DIR"] = state  # spooled payloads go here, not into the real state directory
        timings = [one_run(url, args.timeout) for _ in range(args.runs)]
    listener.close()
    print(f"outputs: csv + HTTP + CodeCarbon API + Prometheus, all network ones silent at {url}")
    print(f"delivery_timeout_secs = {bound:.1f} s (documented bound for flush() and stop())")
    for number, (flushed, stopped) in enumerate(timings, start=1):
        print(f"run {number}: flush() took {flushed:.2f} s, stop() took {stopped:.2f} s")
    worst = max(max(pair) for pair in timings)
    print(f"worst: {worst:.2f} s -> {'within' if worst <= bound + 0.5 else 'OVER'} the bound")


if __name__ == "__main__":
    main()
