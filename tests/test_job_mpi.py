"""Real MPI: Debian's Open MPI launches four processes (``mpirun -np 4``) that initialise mpi4py and track one
fake host; the package's own reading of the launcher's variables agrees with MPI, and the rows add up once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codecarbon.core.units import JOULES_PER_KWH
from tests.fakes.job_launch import REPO, Job, clean_environment, rows
from tests.fakes.shared_machine import SharedHost

MPIRUN = shutil.which("mpirun")
pytestmark = pytest.mark.skipif(MPIRUN is None, reason="Open MPI's mpirun is not installed "
                                "(Debian: apt install openmpi-bin libopenmpi-dev)")


def mpirun(count: int, control: Path) -> list[str]:
    assert MPIRUN is not None
    return [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", str(count),
            "--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none",
            "-x", "CODECARBON_STATE_DIR", "-x", "PYTHONPATH",
            sys.executable, "-m", "tests.job_worker", str(control)]


@pytest.mark.parametrize("visibility", ["one"])  # "all" is covered with every launcher in test_job_processes
def test_mpirun_np_4_with_mpi4py_counts_the_host_once(tmp_path: Path, visibility: str) -> None:
    pytest.importorskip("mpi4py", reason="pip install mpi4py (builds against libopenmpi-dev)")
    host = SharedHost(tmp_path / "host", gpus=4)
    out = tmp_path / "out"
    out.mkdir()
    job = Job(tmp_path / "control", host, out, mpi4py=True)
    env = clean_environment(tmp_path / "state")
    if visibility == "one":  # what a wrapper script does under mpirun: one GPU per local rank
        command = ["sh", "-c", 'CUDA_VISIBLE_DEVICES=$OMPI_COMM_WORLD_LOCAL_RANK exec "$@"', "wrapper"]
        full = mpirun(4, job.control)
        index = full.index(sys.executable)
        job.spawn([env], full[:index] + command + full[index:])
    else:
        job.spawn([env], mpirun(4, job.control))
    job.wait_started(4, timeout_s=120)
    host.advance(cpu_j=300.0, ram_j=40.0, gpu_j=[100.0, 200.0, 300.0, 400.0])
    reports = job.stop(timeout_s=120)
    assert sorted(r["mpi"]["rank"] for r in reports) == [0, 1, 2, 3]
    assert all(r["mpi"]["size"] == 4 and r["rank"] == str(r["mpi"]["rank"]) for r in reports)
    found = rows(out / "emissions.csv")
    assert {r["scheduler"] for r in found} == {"openmpi"} and len({r["job_id"] for r in found}) == 1
    assert found[0]["job_id"]  # Open MPI's PMIx namespace
    for component in ("cpu", "gpu", "ram"):
        joules = sum(float(r[f"{component}_energy"]) for r in found) * JOULES_PER_KWH
        assert joules == pytest.approx(host.joules[component], rel=0.01), component
    if visibility == "one":
        assert sorted(r["attribution"].split(";")[1] for r in found) == ["gpu=0", "gpu=1", "gpu=2", "gpu=3"]


def test_codecarbon_detect_under_mpirun(tmp_path: Path) -> None:
    assert MPIRUN is not None
    env = {**clean_environment(tmp_path / "state")}
    done = subprocess.run([MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "2", "-x", "PYTHONPATH",
                           sys.executable, "-m", "codecarbon", "detect"], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Job:       openmpi") == 2
    assert "rank:             0  (OMPI_COMM_WORLD_RANK)" in done.stdout
    assert "rank:             1  (OMPI_COMM_WORLD_RANK)" in done.stdout
    assert os.environ.get("OMPI_COMM_WORLD_RANK") is None
