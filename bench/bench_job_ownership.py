"""Jobs of many processes: how far each host's rows are from the host's energy, and what the election costs.

1. Per-host error, for each launcher's variables (torchrun, SLURM, Open MPI, MPICH) and each GPU visibility
   (every rank sees every GPU / CUDA_VISIBLE_DEVICES gives each rank one): N processes launched at once over one
   fake host (RAPL tree + file-backed fake NVML), rows summed per component against the host's energy. The same
   with ``device_ownership="off"`` shows what each process measuring everything gives (the old behaviour).
2. Start-up cost of the election: ``claim()`` alone (median over many fresh job folders) and ``start()`` of a
   tracker inside a job against one outside any job, in-process over the same fake host.

    PYTHONPATH=. python3 bench/bench_job_ownership.py [--processes 4] [--gpus 4] [--repeat 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codecarbon.core.units import JOULES_PER_KWH  # noqa: E402
from tests.fakes.job_launch import LAUNCHERS, run_job  # noqa: E402


def per_host_errors(processes: int, gpus: int) -> None:
    print(f"per-host error, {processes} processes, {gpus} GPUs (rows summed vs the host's energy)")
    print(f"  {'launcher':<9} {'visibility':<10} {'ownership':<9} {'cpu':>9} {'gpu':>9} {'ram':>9}")
    cases = [(launcher, visibility, "host") for launcher in LAUNCHERS for visibility in ("all", "one")]
    cases += [("slurm", "all", "off")]
    for launcher, visibility, ownership in cases:
        with tempfile.TemporaryDirectory() as folder:
            arguments = {"device_ownership": ownership}
            host, rows, _ = run_job(Path(folder), launcher, visibility, processes=processes, gpus=gpus,
                                    arguments=arguments)
            errors = []
            for component in ("cpu", "gpu", "ram"):
                joules = sum(float(r[f"{component}_energy"]) for r in rows) * JOULES_PER_KWH
                errors.append((joules - host.joules[component]) / host.joules[component] * 100)
        print(f"  {launcher:<9} {visibility:<10} {ownership:<9} " + " ".join(f"{e:+8.3f}%" for e in errors))


def election_cost(repeat: int, gpus: int) -> None:
    from codecarbon import OfflineEmissionsTracker
    from codecarbon.core.job import detect_job
    from codecarbon.hardware import HardwareOptions, SystemSeams, detect_hardware
    from codecarbon.hardware.ownership import claim, prepare
    from tests.fakes.fake_pynvml import make_fake_nvml
    from tests.fakes.sysfs import FakeSysfs

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.environ["CODECARBON_STATE_DIR"] = str(root / "state")
        fake = FakeSysfs(root / "machine")
        fake.add_zone("intel-rapl:0", "package-0", energy_uj=0)
        seams = SystemSeams(sysfs_root=fake.sys, nvml=make_fake_nvml(gpus), environ={})
        hardware = detect_hardware(HardwareOptions(), seams)
        for label, prepared in (("cold (files created in start)", False), ("after the warm-up's prepare", True)):
            claims = []
            for index in range(repeat):
                job = detect_job({"SLURM_JOB_ID": f"bench-{prepared}-{index}", "SLURM_PROCID": "0",
                                  "SLURM_NTASKS": "4"})
                if prepared:
                    prepare(hardware.sources, job, root / "state")
                started = time.perf_counter()
                result = claim(hardware.sources, job, root / "state")
                claims.append(time.perf_counter() - started)
                result.release()
            print(f"claim() with {gpus} GPUs, {label}: median {statistics.median(claims) * 1e6:.0f} µs, "
                  f"p90 {sorted(claims)[int(0.9 * len(claims))] * 1e6:.0f} µs over {repeat} job folders")
        started = time.perf_counter()
        for index in range(200):
            os.close(os.open(root / f"probe-{index}", os.O_RDWR | os.O_CREAT, 0o600))
        print(f"(one file creation in that folder: {(time.perf_counter() - started) / 200 * 1e6:.0f} µs)")

        class FakeHostTracker(OfflineEmissionsTracker):
            _system_seams = seams

        os.chdir(root)
        for label, environment in (("outside a job", {}),
                                   ("inside a job", {"SLURM_JOB_ID": "bench", "SLURM_PROCID": "0",
                                                     "SLURM_NTASKS": "4"})):
            for name in ("SLURM_JOB_ID", "SLURM_PROCID", "SLURM_NTASKS"):
                os.environ.pop(name, None)
            os.environ.update(environment)
            times = []
            for _ in range(max(20, repeat // 5)):
                tracker = FakeHostTracker(country_iso_code="FRA", measure_power_secs=999, save_to_file=False,
                                          log_level="error")
                tracker._warmup.join()
                started = time.perf_counter()
                tracker.start()
                times.append(time.perf_counter() - started)
                tracker.stop()
            print(f"start() {label:<14}: median {statistics.median(times) * 1e3:.2f} ms over {len(times)} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--gpus", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    per_host_errors(args.processes, args.gpus)
    election_cost(args.repeat, 8)


if __name__ == "__main__":
    main()
