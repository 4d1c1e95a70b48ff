#!/usr/bin/env python3
"""Where a tracked run's memory goes: tracemalloc per subsystem, shared libraries mapped, peak RSS over bare.

A fresh process traces allocations from before ``import codecarbon`` through a 3 s offline run at
measure_power_secs=1 and ``stop()``; each live block is charged to the innermost frame of ours in its traceback
(so a standard-library module imported by one of our modules counts for that module's subsystem), "interpreter"
when no frame of ours is in it. tracemalloc sees only Python's allocator: a shared library mapped by an import
(OpenSSL through ``hashlib`` was 3.6 MiB of resident pages) shows in the second list only, read from
/proc/self/maps. Peak RSS is compared with a bare interpreter in a process of its own, without tracemalloc.

    python3 bench/bench_memory.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TRACED = r"""
import collections, json, os, sys, tempfile, time, tracemalloc
def libraries():
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) >= 6 and ".so" in parts[5]:
                found.add(os.path.basename(parts[5]))
    return found
before = libraries()
tracemalloc.start(40)
os.chdir(tempfile.mkdtemp())
from codecarbon import OfflineEmissionsTracker
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1, log_level="error")
tracker.start()
time.sleep(3)
tracker.stop()
snapshot = tracemalloc.take_snapshot()
current, peak = tracemalloc.get_traced_memory()
marker = os.sep + "codecarbon" + os.sep
by = collections.Counter()
for stat in snapshot.statistics("traceback"):
    where = "interpreter"
    for frame in reversed(stat.traceback):  # innermost first
        if marker in frame.filename:
            rest = frame.filename.rsplit(marker, 1)[1]
            where = rest.split(os.sep)[0] if os.sep in rest else rest
            break
    by[where] += stat.size
print(json.dumps({"by": dict(by), "current": current, "peak": peak, "libraries": sorted(libraries() - before)}))
"""

# the tracked run and the bare interpreter are the ones bench_overhead.py compares (one definition of each)
from bench_overhead import BARE, RSS  # noqa: E402 - a sibling script, importable from bench/


def run(code: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "cc-bench-memory-pycache")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                          cwd=tempfile.gettempdir())
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    run(RSS)  # bytecode cached first, as in an installed package
    run(BARE)
    traced = run(TRACED)
    print(f"tracemalloc after a 3 s run: {traced['current'] / 1024:.0f} KiB live, peak {traced['peak'] / 1024:.0f} KiB")
    for where, size in sorted(traced["by"].items(), key=lambda item: -item[1]):
        print(f"  {where:24s} {size / 1024:8.0f} KiB")
    print("shared libraries mapped by the run:", ", ".join(traced["libraries"]) or "none")
    rss = sorted(run(RSS)["rss_kb"] - run(BARE)["rss_kb"] for _ in range(5))
    print(f"peak RSS over a bare interpreter (median of 5): {rss[2] / 1024:.2f} MiB "
          f"(all: {', '.join(f'{r / 1024:.2f}' for r in rss)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
