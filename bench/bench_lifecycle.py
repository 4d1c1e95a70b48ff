#!/usr/bin/env python3
"""Figures for the run's life cycle: checkpoint cost, the tracker's CPU while idle, SIGTERM-to-exit time.

- checkpoint: microseconds per ``Checkpoint.save`` of a real row (what a tick pays at most every 5 s);
- idle CPU: the tracker process's CPU seconds over ``--seconds`` at ``measure_power_secs=1`` (scaled to 30 s),
  minus the same process idling without a tracker;
- SIGTERM: wall time from the signal to the process's end, the row written (a child per try);
- stop with a hanging source: wall time of ``stop()`` when a source never answers.

Usage: python bench/bench_lifecycle.py [--seconds 30] [--tries 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def checkpoint_cost(count: int = 500) -> float:
    from codecarbon import OfflineEmissionsTracker
    from codecarbon.core.state import Checkpoint

    with tempfile.TemporaryDirectory() as folder:
        os.environ["CODECARBON_STATE_DIR"] = folder + "/state"
        tracker = OfflineEmissionsTracker(country_iso_code="FRA", output_dir=folder, measure_power_secs=60)
        tracker.start()
        run = tracker._run
        assert run is not None and tracker._sampler is not None
        reading = tracker._sampler.read()
        checkpoint = Checkpoint(Path(folder) / "emissions.csv", "bench")
        started = time.perf_counter()
        for _ in range(count):
            checkpoint.save(dict(tracker._record(run.start, reading).values))
        elapsed = (time.perf_counter() - started) / count
        tracker.stop()
    return elapsed * 1e6


IDLE = """
import sys, time, resource
seconds = float(sys.argv[1])
if sys.argv[2] == "tracker":
    from codecarbon import OfflineEmissionsTracker
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1, output_dir=sys.argv[3])
    tracker.start()
before = time.process_time()
time.sleep(seconds)
print(time.process_time() - before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def idle_cpu(seconds: float) -> tuple[float, float, int]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory() as folder:
        env["CODECARBON_STATE_DIR"] = folder + "/state"
        runs = {}
        for kind in ("bare", "tracker"):
            out = subprocess.run([sys.executable, "-c", IDLE, str(seconds), kind, folder], env=env,
                                 capture_output=True, text=True, check=True).stdout.split()
            runs[kind] = (float(out[0]), int(out[1]))
    scale = 30.0 / seconds
    return (runs["tracker"][0] - runs["bare"][0]) * scale * 1000, runs["tracker"][0] * scale * 1000, \
        runs["tracker"][1]


TERM = """
from codecarbon import OfflineEmissionsTracker
import sys, time
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.1, output_dir=sys.argv[1])
tracker.start()
print("started", flush=True)
while True:
    tracker.flush()
"""


def sigterm_to_exit(tries: int) -> list[float]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    figures = []
    for _ in range(tries):
        with tempfile.TemporaryDirectory() as folder:
            env["CODECARBON_STATE_DIR"] = folder + "/state"
            child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(TERM), folder], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert child.stdout is not None
            child.stdout.readline()
            time.sleep(0.3)
            started = time.perf_counter()
            child.send_signal(signal.SIGTERM)
            child.wait()
            figures.append((time.perf_counter() - started) * 1000)
    return figures


def stop_with_hanging_source() -> float:
    from codecarbon import OfflineEmissionsTracker
    from codecarbon.hardware.base import EnergySource

    release = threading.Event()

    class Hanging(EnergySource):
        component = "gpu"
        method = "nvml-energy"

        def open(self) -> None:
            pass

        def read_joules(self) -> float:
            release.wait()
            return 0.0

    with tempfile.TemporaryDirectory() as folder:
        tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.05, output_dir=folder)
        tracker._warmup.join()
        tracker._detect().sources.append(Hanging())
        tracker.start()
        time.sleep(0.3)
        started = time.perf_counter()
        tracker.stop()
        elapsed = time.perf_counter() - started
        release.set()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--tries", type=int, default=5)
    args = parser.parse_args()
    print(f"checkpoint save: {checkpoint_cost():.0f} us each (at most one per 5 s)")
    extra, total, rss = idle_cpu(args.seconds)
    print(f"tracker CPU per 30 s at measure_power_secs=1: {extra:.1f} ms above a bare interpreter "
          f"({total:.1f} ms in all); max RSS {rss / 1024:.1f} MiB")
    figures = sigterm_to_exit(args.tries)
    print("SIGTERM to exit during a flush loop: " + ", ".join(f"{f:.0f}" for f in figures) + " ms")
    print(f"stop() with a source that never answers: {stop_with_hanging_source():.2f} s")


if __name__ == "__main__":
    main()
