"""Launch the processes of a simulated job at once, with each launcher's own variables, over a SharedHost.

Used by the job tests and by ``bench/bench_job_ownership.py``. Every process runs ``tests.job_worker``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from tests.fakes.shared_machine import SharedHost, write_description

REPO = Path(__file__).resolve().parents[2]
LAUNCHERS = ("torchrun", "slurm", "openmpi", "mpich")


def launcher_environment(launcher: str, job_id: str, rank: int, local_rank: int, world: int,
                         local_world: int, node: int = 0) -> dict[str, str]:
    """The variables each launcher gives a process (the subset the package reads, as the launchers name them)."""
    if launcher == "torchrun":
        return {"RANK": str(rank), "LOCAL_RANK": str(local_rank), "WORLD_SIZE": str(world),
                "LOCAL_WORLD_SIZE": str(local_world), "GROUP_RANK": str(node), "TORCHELASTIC_RUN_ID": job_id,
                "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
    if launcher == "slurm":
        return {"SLURM_JOB_ID": job_id, "SLURM_JOBID": job_id, "SLURM_STEP_ID": "0", "SLURM_PROCID": str(rank),
                "SLURM_LOCALID": str(local_rank), "SLURM_NODEID": str(node), "SLURM_NTASKS": str(world),
                "SLURM_JOB_NAME": "train", "SLURM_JOB_USER": "alice", "SLURM_JOB_ACCOUNT": "proj42",
                "SLURM_JOB_PARTITION": "gpu"}
    if launcher == "openmpi":
        return {"OMPI_COMM_WORLD_RANK": str(rank), "OMPI_COMM_WORLD_LOCAL_RANK": str(local_rank),
                "OMPI_COMM_WORLD_SIZE": str(world), "OMPI_COMM_WORLD_LOCAL_SIZE": str(local_world),
                "OMPI_COMM_WORLD_NODE_RANK": str(local_rank), "PMIX_NAMESPACE": job_id}
    if launcher == "mpich":
        return {"PMI_RANK": str(rank), "PMI_SIZE": str(world), "MPI_LOCALRANKID": str(local_rank),
                "MPI_LOCALNRANKS": str(local_world)}
    raise ValueError(f"unknown launcher {launcher!r}")


def clean_environment(state_dir: Path) -> dict[str, str]:
    """This process's environment without any launcher's or our own variables, plus the test's state dir."""
    drop = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "TORCHELASTIC_RUN_ID",
            "CUDA_VISIBLE_DEVICES")
    env = {k: v for k, v in os.environ.items()
           if k not in drop and not k.startswith(("SLURM_", "OMPI_", "PMI_", "PMIX_", "MPI_", "CODECARBON_"))}
    env["CODECARBON_STATE_DIR"] = str(state_dir)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Job:
    """The control folder of one simulated job's processes on one host."""

    def __init__(self, root: Path, host: SharedHost, output_dir: Path, arguments: Optional[dict] = None,
                 **extra: Any) -> None:
        self.control = root
        self.control.mkdir(parents=True, exist_ok=True)
        self.output_dir = output_dir
        write_description(self.control / "machine.json", host, output_dir=str(output_dir),
                          arguments=arguments or {}, **extra)
        self.processes: list[subprocess.Popen] = []

    def spawn(self, environments: Sequence[dict[str, str]], command: Optional[list[str]] = None) -> None:
        for env in environments:
            self.processes.append(subprocess.Popen(
                command or [sys.executable, "-m", "tests.job_worker", str(self.control)], env=env, cwd=REPO))

    def started(self) -> int:
        return len(list(self.control.glob("started-*")))

    def wait_started(self, count: int, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while self.started() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.started()} of {count} processes started")
            if any(p.poll() not in (None, 0) for p in self.processes):
                raise RuntimeError("a worker died before starting")
            time.sleep(0.02)

    def stop(self, timeout_s: float = 60) -> list[dict[str, Any]]:
        (self.control / "stop").write_text("")
        for process in self.processes:
            assert process.wait(timeout=timeout_s) == 0
        return [json.loads(p.read_text()) for p in sorted(self.control.glob("done-*.json"))]


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def run_job(root: Path, launcher: str, visibility: str, *, processes: int = 4, gpus: int = 4,
            arguments: Optional[dict] = None, job_id: str = "4242") -> tuple[SharedHost, list[dict[str, str]],
                                                                            list[dict[str, Any]]]:
    """Run one job of ``processes`` ranks on one host; ``visibility`` is "all" (every rank sees every GPU) or
    "one" (``CUDA_VISIBLE_DEVICES`` gives each rank its own). Returns the host, the CSV rows, the workers'
    reports."""
    host = SharedHost(root / "host", gpus=gpus)
    output = root / "out"
    output.mkdir(parents=True, exist_ok=True)
    job = Job(root / "control", host, output, arguments)
    base = clean_environment(root / "state")
    environments = []
    for rank in range(processes):
        env = {**base, **launcher_environment(launcher, job_id, rank, rank, processes, processes)}
        if visibility == "one":
            env["CUDA_VISIBLE_DEVICES"] = str(rank % max(gpus, 1))
        environments.append(env)
    job.spawn(environments)
    job.wait_started(processes)
    host.advance(cpu_j=300.0, ram_j=40.0, gpu_j=[100.0 * (i + 1) for i in range(gpus)])
    reports = job.stop()
    return host, rows(output / "emissions.csv"), reports
