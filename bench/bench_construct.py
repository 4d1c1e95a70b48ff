"""Import, construction, start() and stop() cost of an offline tracker, each from a fresh process (medians).

``start`` is start() called right after construction, so any wait on the warm-up thread shows in it;
``start_after_pause`` and ``stop_after_pause`` (another fresh process) are start() after 100 ms of the script's
own work (a sleep), as a real script has between the two, and stop() after a 100 ms run: what the warm-up thread
could not take off them shows there.
Bytecode caching is left on (PYTHONDONTWRITEBYTECODE is removed from the children's environment).

    python3 bench/bench_construct.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys, tempfile, time
PAUSE = float(sys.argv[1])
os.chdir(tempfile.mkdtemp())
t0 = time.perf_counter()
from codecarbon import OfflineEmissionsTracker
t1 = time.perf_counter()
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1, log_level="error")
t2 = time.perf_counter()
if PAUSE:
    time.sleep(PAUSE)
    t2 = time.perf_counter()
tracker.start()
t3 = time.perf_counter()
if PAUSE:
    time.sleep(PAUSE)  # the user's job
t4 = time.perf_counter()
tracker.stop()
t5 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "construct": t2 - t1, "start": t3 - t2, "stop": t5 - t4}))
"""


def _child(env: dict[str, str], pause: float) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(pause)], env=env, check=True, capture_output=True,
                         text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    _child(env, 0.0)  # fills the bytecode cache
    samples: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for key, value in _child(env, 0.0).items():
            samples.setdefault(key, []).append(value)
        paused = _child(env, 0.1)
        samples.setdefault("start_after_pause", []).append(paused["start"])
        samples.setdefault("stop_after_pause", []).append(paused["stop"])
    for key, values in samples.items():
        print(f"{key:<18} median {statistics.median(values) * 1e3:7.2f} ms   min {min(values) * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
