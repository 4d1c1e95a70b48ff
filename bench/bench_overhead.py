#!/usr/bin/env python3
"""The tracker's whole cost, figure by figure, against CodeCarbon 3.3.2 and an earlier commit, in one run.

Every figure comes from fresh processes, the three variants taken in turn (ours, the earlier commit, 3.3.2, then
again) so a machine that drifts slows them alike; each figure is the median over ``--runs`` and each ratio the
median of the per-round ratios. Prints only: the test suite asserts no timing.

Figures:
  import     ``from codecarbon import EmissionsTracker, OfflineEmissionsTracker`` as ``-X importtime`` counts
             it (the codecarbon packages' cumulative time)
  start      ``start()`` of an offline tracker right after its construction, in a fresh process
  cpu@1s     process CPU while the main thread sleeps 30 s between start() and stop(), measure_power_secs=1
  cpu@15s    the same at measure_power_secs=15
  wakes@1s   the tracker threads' voluntary context switches over those 30 s (how often they woke)
  ..., RAPL  the same over a simulated RAPL machine (a fake powercap tree: CPU and RAM from energy counters),
             ours and the earlier commit only (3.3.2 has no such seam). This machine's own CPU figure comes from
             a load model, which needs a sample every interval; counters need none
  rss        peak RSS after a 3 s tracked run, over a bare interpreter of the same variant (the interpreter's
             start-up is a peak of its own: a run that adds less than that transient shows as about 0), and the
             resident memory (VmRSS) after stop() over the bare interpreter's
  threads    Python threads alive 1 s after stop(), the emissions endpoint a closed local port
  started    threads started (Thread.start calls) by an online run with API and HTTP outputs (closed port)

3.3.2 comes from PyPI into a side virtual environment (made on first use); the earlier commit from ``git
archive`` into a temporary folder.

    python3 bench/bench_overhead.py [--runs 5] [--seconds 30] [--baseline HEAD~1 ...] [--venv /tmp/cc332]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
PYCACHE = tempfile.mkdtemp(prefix="cc-bench-pycache-")

STARTUP = r"""
import json, os, sys, tempfile, time
os.chdir(tempfile.mkdtemp())
t0 = time.perf_counter()
from codecarbon import OfflineEmissionsTracker
t1 = time.perf_counter()
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1, log_level="error")
t2 = time.perf_counter()
tracker.start()
t3 = time.perf_counter()
tracker.stop()
print(json.dumps({"construct": t2 - t1, "start": t3 - t2}))
"""

STEADY = r"""
import json, os, resource, sys, tempfile, threading, time
os.chdir(tempfile.mkdtemp())
from codecarbon import OfflineEmissionsTracker

def switches():
    # the whole process's voluntary context switches (threads that ended included) less the main thread's:
    # how often the tracker's threads went to sleep, i.e. woke
    with open(f"/proc/self/task/{threading.get_native_id()}/status") as status:
        main = next(int(line.split()[1]) for line in status if line.startswith("voluntary_ctxt_switches"))
    return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - main

arguments = dict(country_iso_code="FRA", measure_power_secs=float(sys.argv[1]), log_level="error")
if len(sys.argv) > 3:  # a simulated RAPL machine: counter sources for the CPU and the RAM (ours only)
    sys.path.insert(0, sys.argv[3])
    from tests.fakes.sysfs import FakeSysfs
    from codecarbon.hardware import SystemSeams
    fake = FakeSysfs(__import__("pathlib").Path(tempfile.mkdtemp()))
    fake.add_zone("intel-rapl:0", "package-0", 10_000, max_range_uj=262_143_328_850)
    fake.add_zone("intel-rapl:0:1", "dram", 10_000, max_range_uj=262_143_328_850)
    class OnFakeRapl(OfflineEmissionsTracker):
        _system_seams = SystemSeams(sysfs_root=fake.sys)
    tracker = OnFakeRapl(rapl_include_dram=True, **arguments)
else:
    tracker = OfflineEmissionsTracker(**arguments)
tracker.start()
time.sleep(2)  # start-up work (the warm-up's tail on a busy machine) is not steady state
sw0 = switches()
cpu0 = time.process_time()
time.sleep(float(sys.argv[2]))
cpu = time.process_time() - cpu0
sw = switches() - sw0
tracker.stop()
print(json.dumps({"cpu": cpu, "wakes": sw}))
"""

RSS = r"""
import json, os, resource, tempfile, time
os.chdir(tempfile.mkdtemp())
from codecarbon import OfflineEmissionsTracker
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1, log_level="error")
tracker.start()
time.sleep(3)
tracker.stop()
now = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS"))
print(json.dumps({"rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "now_kb": now}))
"""

BARE = r"""
import json, resource
now = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS"))
print(json.dumps({"rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "now_kb": now}))
"""

THREADS_AFTER = r"""
import json, os, sys, tempfile, threading, time
os.chdir(tempfile.mkdtemp())
from codecarbon import OfflineEmissionsTracker
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1, log_level="error",
                                  emissions_endpoint=sys.argv[1])
tracker.start()
time.sleep(2)
tracker.stop()
time.sleep(1)
print(json.dumps({"alive": threading.active_count() - 1,
                  "names": [t.name for t in threading.enumerate() if t is not threading.main_thread()]}))
"""

ONLINE_STARTED = r"""
import json, os, sys, tempfile, threading, time
os.chdir(tempfile.mkdtemp())
started = []
_start = threading.Thread.start
def counting_start(self, *a, **k):
    started.append(self.name)
    return _start(self, *a, **k)
threading.Thread.start = counting_start
from codecarbon import EmissionsTracker
tracker = EmissionsTracker(measure_power_secs=1, log_level="error", save_to_api=True, api_endpoint=sys.argv[1],
                           emissions_endpoint=sys.argv[1])
tracker.start()
time.sleep(3)
tracker.stop()
time.sleep(1)
print(json.dumps({"started": len(started), "names": started}))
"""


class Variant:
    def __init__(self, name: str, python: str, path: Optional[Path]) -> None:
        self.name, self.python, self.path = name, python, path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CODECARBON_") and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
        env["PYTHONPYCACHEPREFIX"] = PYCACHE  # bytecode cached as in an installed package, outside the repo
        if self.path is not None:
            env["PYTHONPATH"] = str(self.path)
        return env

    def run(self, code: str, *args: str, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        return subprocess.run([self.python, *flags, "-c", code, *args], env=self.env(), capture_output=True,
                              text=True, timeout=600, cwd=tempfile.gettempdir())

    def json(self, code: str, *args: str) -> dict:
        done = self.run(code, *args)
        for line in reversed(done.stdout.splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"{self.name}: no result\n{done.stderr[-2000:]}")

    def import_ms(self) -> float:
        err = self.run("from codecarbon import EmissionsTracker, OfflineEmissionsTracker",
                       flags=("-X", "importtime")).stderr
        total = 0
        for line in err.splitlines():
            if not line.startswith("import time:"):
                continue
            fields = line.split("|")
            if len(fields) != 3 or fields[1].strip() == "cumulative":
                continue
            name = fields[2][1:]  # one space, then two per nesting level
            if not name.startswith(" ") and name.split(".")[0] == "codecarbon":
                total += int(fields[1])
        return total / 1000


def ensure_332(venv: Path) -> Optional[Variant]:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing codecarbon==3.3.2 into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "codecarbon==3.3.2"])
        if done.returncode != 0:
            print("could not install codecarbon 3.3.2: its column is left out")
            return None
    return Variant("3.3.2", str(python), None)


def export_commit(rev: str) -> Optional[Variant]:
    target = Path(tempfile.mkdtemp(prefix="cc-baseline-"))
    try:
        sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", rev], capture_output=True, text=True,
                             check=True).stdout.strip()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "codecarbon"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"could not export {rev}: {error}; its column is left out")
        return None
    return Variant(sha, sys.executable, target)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--baseline", action="append", help="an earlier commit to compare with (repeatable; "
                        "default HEAD~1)")
    parser.add_argument("--venv", type=Path, default=Path("/tmp/cc332"))
    parser.add_argument("--only", default="", help="comma-separated figures (default: all)")
    args = parser.parse_args()
    variants = [Variant("ours", sys.executable, REPO)]
    for extra in (*(export_commit(rev) for rev in args.baseline or ["HEAD~1"]), ensure_332(args.venv)):
        if extra is not None:
            variants.append(extra)
    dead = closed_port_url()
    for v in variants:  # bytecode caches written (a whole run, the bare interpreter's imports), imports warm
        v.json(STARTUP)
        v.json(BARE)

    def steady(interval: str, rapl: bool = False) -> dict[str, list[dict]]:
        chosen = [v for v in variants if v.path is not None] if rapl else variants
        extra = [str(REPO)] if rapl else []
        results: dict[str, list[dict]] = {v.name: [] for v in chosen}
        for _ in range(args.runs):  # the variants side by side: they sleep, and share the machine's state
            procs = [(v, subprocess.Popen([v.python, "-c", STEADY, interval, str(args.seconds), *extra],
                                          env=v.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
                     for v in chosen]
            for v, proc in procs:
                out, err = proc.communicate()
                lines = [line for line in out.splitlines() if line.startswith("{")]
                if not lines:
                    raise RuntimeError(f"{v.name}: no result\n{err[-2000:]}")
                results[v.name].append(json.loads(lines[-1]))
        return results

    figures: dict[str, dict[str, list[float]]] = {}

    def record(figure: str, name: str, value: float) -> None:
        figures.setdefault(figure, {}).setdefault(name, []).append(value)

    wanted = set(filter(None, args.only.split(","))) or {"import", "start", "cpu", "rss", "threads", "started"}
    for _ in range(args.runs):
        for v in variants:
            if "import" in wanted:
                record("import ms", v.name, v.import_ms())
            if "start" in wanted:
                record("start() ms", v.name, v.json(STARTUP)["start"] * 1000)
            if "rss" in wanted:
                run, bare = v.json(RSS), v.json(BARE)
                record("peak RSS over bare MiB", v.name, (run["rss_kb"] - bare["rss_kb"]) / 1024)
                record("RSS after stop() over bare MiB", v.name, (run["now_kb"] - bare["now_kb"]) / 1024)
            if "threads" in wanted:
                record("threads alive 1 s after stop()", v.name, v.json(THREADS_AFTER, dead)["alive"])
            if "started" in wanted:
                record("threads started, online run", v.name, v.json(ONLINE_STARTED, dead)["started"])
    if "cpu" in wanted:
        for interval, label in (("1", "1 s"), ("15", "15 s")):
            for name, values in steady(interval).items():
                for value in values:
                    record(f"CPU ms, {args.seconds:.0f} s idle at {label}", name, value["cpu"] * 1000)
                    if interval == "1":
                        record(f"wakes, {args.seconds:.0f} s idle at {label}", name, value["wakes"])
    if "rapl" in wanted or "cpu" in wanted:
        for interval, label in (("1", "1 s"), ("15", "15 s")):
            for name, values in steady(interval, rapl=True).items():
                for value in values:
                    record(f"CPU ms, {args.seconds:.0f} s idle at {label}, RAPL", name, value["cpu"] * 1000)
                    if interval == "1":
                        record(f"wakes, {args.seconds:.0f} s idle at {label}, RAPL", name, value["wakes"])

    names = [v.name for v in variants]
    print(f"medians of {args.runs} fresh-process runs; ratios are medians of per-round ratios (ours / other)")
    header = f"{'figure':40s}" + "".join(f"{n:>12s}" for n in names) + "".join(
        f"{'ours/' + n:>14s}" for n in names[1:])
    print(header)
    for figure, by_name in figures.items():
        row = f"{figure:40s}"
        for n in names:
            row += f"{statistics.median(by_name[n]):12.2f}" if n in by_name else f"{'-':>12s}"
        for n in names[1:]:
            pairs = [a / b for a, b in zip(by_name["ours"], by_name.get(n, []), strict=False) if b]
            row += f"{statistics.median(pairs):14.3f}" if pairs else f"{'-':>14s}"
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
