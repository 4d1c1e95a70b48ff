"""Start-up and steady-state cost of the tracker, each figure from fresh processes (median of several runs).

Prints: import time over a bare interpreter, construction / start() / stop() times of an offline tracker,
threads started and tracker CPU time during a run at measure_power_secs=1, and peak RSS over a bare interpreter.

    python3 bench/bench_startup.py [--runs 7] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PHASES = r"""
import json, sys, time, os, tempfile
WAIT = float(sys.argv[1])
os.chdir(tempfile.mkdtemp())
t0 = time.perf_counter()
from codecarbon import OfflineEmissionsTracker
t1 = time.perf_counter()
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1)
t2 = time.perf_counter()
if WAIT:
    time.sleep(WAIT)  # a script usually does its own set-up between construction and start()
    t2 = time.perf_counter()
tracker.start()
t3 = time.perf_counter()
tracker.stop()
t4 = time.perf_counter()
print(json.dumps({"import_tracker": t1 - t0, "construct": t2 - t1, "start": t3 - t2, "stop": t4 - t3}))
"""

STEADY = r"""
import json, os, resource, sys, tempfile, time
os.chdir(tempfile.mkdtemp())
from codecarbon import OfflineEmissionsTracker

def os_threads():
    return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0

threads_before = os_threads()
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1)
tracker.start()
cpu_started = time.process_time()
seconds = float(sys.argv[1])
time.sleep(seconds / 2)
threads_during = os_threads()  # counted once, mid-run, so the bench itself costs nothing measurable
time.sleep(seconds / 2)
cpu = time.process_time() - cpu_started  # the sampling thread's work: the main thread was asleep
tracker.stop()
print(json.dumps({"threads_added": threads_during - threads_before, "cpu_s": cpu,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

BARE_RSS = r"""
import json, resource
print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def python(code: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                          check=True, cwd=tempfile.gettempdir())


def python_importtime(code: str) -> float:
    """Seconds the ``codecarbon`` package import took, as ``-X importtime`` reports it."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=tempfile.gettempdir()).stderr
    for line in err.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) == 3 and fields[2] == "codecarbon":
            return int(fields[1]) / 1e6
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    python("import codecarbon.emissions_tracker")  # warm the bytecode cache
    imports = []
    for _ in range(args.runs):  # the interpreter's own account of the import, free of process start-up noise
        report = python_importtime("import codecarbon")
        imports.append(report)
    print(f"import codecarbon (python -X importtime, cumulative): {statistics.median(imports) * 1000:.2f} ms")

    phases = [json.loads(python(PHASES, "0").stdout) for _ in range(args.runs)]
    for name, label in (("import_tracker", "from codecarbon import OfflineEmissionsTracker"),
                        ("construct", "OfflineEmissionsTracker(country_iso_code='FRA')"),
                        ("start", "start() right after construction"), ("stop", "stop()")):
        print(f"{label}: {statistics.median(p[name] for p in phases) * 1000:.2f} ms")
    later = [json.loads(python(PHASES, "0.2").stdout) for _ in range(args.runs)]
    print(f"start() 200 ms after construction: {statistics.median(p['start'] for p in later) * 1000:.2f} ms")

    steady = json.loads(python(STEADY, str(args.seconds)).stdout)
    bare_rss = json.loads(python(BARE_RSS).stdout)["maxrss_kb"]
    print(f"threads added during a {args.seconds:.0f} s run at 1 s: {steady['threads_added']}")
    print(f"process CPU time between start() and stop() (the sampling thread; main thread asleep): "
          f"{steady['cpu_s'] * 1000:.1f} ms")
    print(f"peak RSS over a bare interpreter: {(steady['maxrss_kb'] - bare_rss) / 1024:.1f} MiB "
          "(includes psutil)")


if __name__ == "__main__":
    main()
