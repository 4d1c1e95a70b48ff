#!/usr/bin/env python3
"""Peak memory (RSS) and wall time of `codecarbon report` on a large file of flushed rows.

Prints figures, asserts nothing. The file is made here: ``--runs`` runs, each flushed until the file holds
``--rows`` rows (append mode: every flush adds the run so far, so a run is many cumulative rows), in our 43
columns plus the job columns. Each report is a fresh process; its peak RSS comes from the kernel (wait4's
ru_maxrss). ``--compare DIR`` runs the same commands with another checkout's code (e.g. the tree before the
reader streamed) for a before/after figure measured in the same run.

Usage: python3 bench/bench_report_memory.py [--rows 1000000] [--runs 1000] [--compare /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codecarbon.output_methods.emissions_data import CSV_COLUMNS, EXTRA_COLUMNS  # noqa: E402
from codecarbon.viz.reading import JOB_COLUMNS  # noqa: E402


def make_file(path: Path, rows: int, runs: int) -> None:
    """``rows`` cumulative rows of ``runs`` runs, the runs interleaved as parallel processes flush."""
    columns = list(CSV_COLUMNS + EXTRA_COLUMNS + JOB_COLUMNS)
    ids = [str(uuid.UUID(int=i + 1, version=4)) for i in range(runs)]
    base = dict.fromkeys(columns, "")
    base.update(project_name="bench", experiment_id="5b0fa12a-3dd7-45bb-9766-cc326314d9f1", country_name="France",
                country_iso_code="FRA", os="Linux", python_version="3.12", codecarbon_version="3.4.0",
                cpu_count=16, cpu_model="Bench CPU", gpu_count=1, gpu_model="Bench GPU", ram_total_size=64,
                tracking_mode="machine", on_cloud="N", pue=1.0, wue=0.0, cpu_measure="rapl",
                gpu_measure="nvml-energy", ram_measure="ram-model", carbon_intensity=56.0,
                intensity_source="owid-energy 2023", scheduler="slurm", job_id="4242", job_name="bench",
                node_name="node1", world_size=runs)
    template = [base[name] for name in columns]
    at = {name: columns.index(name) for name in columns}
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(rows):
            run, flush = i % runs, i // runs + 1
            seconds = 60.0 * flush
            cpu, gpu, ram = 60 * seconds / 3.6e6, 300 * seconds / 3.6e6, 10 * seconds / 3.6e6
            row = list(template)
            row[at["timestamp"]] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1767225600 + seconds))
            row[at["run_id"]] = ids[run]
            row[at["rank"]] = run
            row[at["duration"]] = seconds
            row[at["cpu_energy"]], row[at["gpu_energy"]], row[at["ram_energy"]] = cpu, gpu, ram
            row[at["energy_consumed"]] = cpu + gpu + ram
            row[at["emissions"]] = (cpu + gpu + ram) * 0.056
            row[at["emissions_rate"]] = (cpu + gpu + ram) * 0.056 / seconds
            row[at["cpu_power"]], row[at["gpu_power"]], row[at["ram_power"]] = 60.0, 300.0, 10.0
            writer.writerow(row)


def measured(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one process (run outside any checkout: `python -m` puts the working
    directory first on sys.path)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {errors[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--compare", type=Path, help="another checkout to run the same commands with")
    args = parser.parse_args()
    trees = [("this tree", REPO)] + ([("compared", args.compare.resolve())] if args.compare else [])
    with tempfile.TemporaryDirectory(prefix="codecarbon-bench-memory-") as folder:
        path = Path(folder) / "emissions.csv"
        started = time.perf_counter()
        make_file(path, args.rows, args.runs)
        print(f"file: {args.rows:,} rows of {args.runs:,} runs ({args.rows // args.runs:,} flushes each), "
              f"{path.stat().st_size / 1e6:.0f} MB, made in {time.perf_counter() - started:.0f} s")
        for label, tree in trees:
            env = {"PYTHONPATH": str(tree), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                   "HOME": tempfile.gettempdir()}
            for fmt in ("text", "json"):
                seconds, rss = measured([sys.executable, "-m", "codecarbon.cli.main", "report", str(path),
                                         "--format", fmt], env, Path(folder))
                print(f"{label:<10} ({tree}) report --format {fmt:<5} peak RSS {rss:7.0f} MiB  {seconds:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
