#!/usr/bin/env python3
"""Where a sampling tick's CPU goes, in a real tracker on this machine, with cold caches as in a real run.

bench_startup.py gives the total CPU of a 30 s run at measure_power_secs=1; this splits one tick into its parts
by driving the tracker's own pieces from a thread that wakes once per interval, as the sampler does:

  wake          a thread waking from a timed wait (as the sampler waits) and doing nothing (the floor)
  sources       every source's read_joules() (hardware: RAPL, NVML, the CPU model and its CPU clock, RAM)
  utilization   UtilizationMeter.sample() (hardware: CPU time share, memory every few seconds)
  sampler       the sampler's own bookkeeping: intensity, GPU utilisation, the Reading record
  on_tick       the tracker's tick: live outputs and the crash checkpoint when due

Each part's CPU is thread time (clock_gettime(CLOCK_THREAD_CPUTIME_ID) costs a few µs, included).

    python3 bench/bench_tick_cost.py [--seconds 30] [--interval 1] [--mode machine|process]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PARTS = ("sources", "utilization", "sampler", "on_tick")


def wake_floor(seconds: float, interval: float) -> float:
    """Median thread CPU per wake of a thread that only waits, as the sampler waits (a bare lock's timeout)."""
    stop, costs = threading.Event(), []
    wake = threading.Lock()
    wake.acquire()

    def loop() -> None:
        last = time.thread_time_ns()
        while not stop.is_set():
            wake.acquire(True, interval)
            now = time.thread_time_ns()
            costs.append(now - last)
            last = now

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join()
    return statistics.median(costs) / 1e3 if costs else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--mode", choices=("machine", "process"), default="machine")
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp())
    from codecarbon import OfflineEmissionsTracker

    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=3600, log_level="error",
                                      tracking_mode=args.mode)
    tracker.start()  # its own sampler sleeps for an hour; this bench drives the same pieces
    sampler = tracker._sampler
    costs: dict[str, list[int]] = {part: [] for part in PARTS}
    stop = threading.Event()

    def tick() -> None:
        clock = time.thread_time_ns
        t0 = clock()
        for source in sampler.sources:
            source.read_joules()
        t1 = clock()
        sampler._safe_utilization()
        t2 = clock()
        sampler._safe_intensity()
        sampler._gpu_utilization()
        reading = sampler._reading(time.monotonic())
        t3 = clock()
        tracker._on_tick(reading)
        t4 = clock()
        for part, cost in zip(PARTS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            costs[part].append(cost)

    def loop() -> None:
        while not stop.wait(args.interval):
            tick()

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(args.seconds)
    stop.set()
    thread.join()
    tracker.stop()
    floor = wake_floor(min(args.seconds, 10.0), args.interval)
    ticks = len(costs["sources"])
    print(f"{ticks} ticks at {args.interval:g} s, {args.mode} mode; sources: "
          + ", ".join(f"{s.component}:{s.method}" for s in sampler.sources))
    total = floor * ticks / 1e3
    print(f"  {'wake':12s} median {floor:7.1f} µs")
    for part in PARTS:
        values = costs[part]
        total += sum(values) / 1e6
        print(f"  {part:12s} median {statistics.median(values) / 1e3:7.1f} µs   sum {sum(values) / 1e6:6.2f} ms")
    print(f"  estimated CPU of the run's ticks: {total:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
