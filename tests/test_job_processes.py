"""Many processes of one job on one host, launched at once with each launcher's variables, over one fake host:
the job's rows add up to the host's energy, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecarbon.core.units import JOULES_PER_KWH
from tests.fakes.job_launch import LAUNCHERS, run_job


def summed_joules(rows: list[dict[str, str]], component: str) -> float:
    return sum(float(r[f"{component}_energy"]) for r in rows) * JOULES_PER_KWH


def gpu_indices(attribution: str) -> list[int]:
    gpu = dict(part.split("=") for part in attribution.split(";"))["gpu"]
    return [] if gpu in ("none", "all", "process") else [int(i) for i in gpu.split("+")]


@pytest.mark.parametrize("visibility", ["all", "one"])
@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_the_jobs_rows_sum_to_the_hosts_energy_once(tmp_path: Path, launcher: str, visibility: str) -> None:
    host, rows, _ = run_job(tmp_path, launcher, visibility)
    assert len(rows) == 4
    for component in ("cpu", "gpu", "ram"):
        assert summed_joules(rows, component) == pytest.approx(host.joules[component], rel=0.01), component
    assert sorted(r["rank"] for r in rows) == ["0", "1", "2", "3"]
    assert {r["world_size"] for r in rows} == {"4"} and {r["node_name"] for r in rows} != {""}
    owners = [r for r in rows if r["attribution"].startswith("cpu=host;")]
    assert len(owners) == 1 and owners[0]["attribution"].endswith(";ram=host")
    measured = sorted(i for r in rows for i in gpu_indices(r["attribution"]))
    assert measured == [0, 1, 2, 3]  # every GPU by exactly one process
    if visibility == "one":  # each rank measured the GPU it uses
        assert all(gpu_indices(r["attribution"]) == [int(r["rank"])] for r in rows)
    expected_scheduler = "slurm" if launcher == "slurm" else launcher
    assert {r["scheduler"] for r in rows} == {expected_scheduler}
    if launcher == "slurm":
        assert {(r["job_id"], r["job_name"], r["job_user"], r["job_account"], r["job_partition"]) for r in rows} \
            == {("4242", "train", "alice", "proj42", "gpu")}


def test_ownership_off_measures_the_host_in_every_process(tmp_path: Path) -> None:
    host, rows, _ = run_job(tmp_path, "slurm", "all", processes=3, gpus=2,
                            arguments={"device_ownership": "off"})
    assert summed_joules(rows, "cpu") == pytest.approx(3 * host.joules["cpu"], rel=0.01)
    assert {r["attribution"] for r in rows} == {"cpu=all;gpu=all;ram=all"}


def test_process_mode_splits_cpu_and_ram_between_the_processes(tmp_path: Path) -> None:
    host, rows, _ = run_job(tmp_path, "torchrun", "all", processes=2, gpus=2,
                            arguments={"tracking_mode": "process"})
    assert {r["attribution"].split(";")[0] for r in rows} == {"cpu=process"}
    assert summed_joules(rows, "cpu") <= host.joules["cpu"] * 1.0001  # shares never exceed the host
    assert summed_joules(rows, "gpu") == pytest.approx(host.joules["gpu"], rel=0.01)  # no per-process NVML


def test_a_lone_process_has_empty_job_columns(tmp_path: Path) -> None:
    from tests.fakes.job_launch import Job, clean_environment, rows
    from tests.fakes.shared_machine import SharedHost

    host = SharedHost(tmp_path / "host", gpus=1)
    out = tmp_path / "out"
    out.mkdir()
    job = Job(tmp_path / "control", host, out)
    job.spawn([clean_environment(tmp_path / "state")])
    job.wait_started(1)
    host.advance(10.0, 1.0, [5.0])
    job.stop()
    (row,) = rows(out / "emissions.csv")
    assert [row[c] for c in ("scheduler", "job_id", "rank", "attribution")] == ["", "", "", ""]
    assert row["node_name"] and summed_joules([row], "gpu") == pytest.approx(5.0, rel=1e-9)


def test_process_mode_shares_stay_within_the_host_while_the_machine_is_loaded(tmp_path: Path) -> None:
    """Three real ranks in process mode while two CPU burners (bounded, 30 s at most) load the machine: the
    ranks' CPU energy adds up to no more than the host's."""
    import subprocess
    import sys

    spin = "import time\nend = time.monotonic() + 30\nwhile time.monotonic() < end: pass\n"
    burners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2)]
    try:
        host, rows, _ = run_job(tmp_path, "slurm", "all", processes=3, gpus=1,
                                arguments={"tracking_mode": "process"})
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert len(rows) == 3 and {r["attribution"].split(";")[0] for r in rows} == {"cpu=process"}
    assert 0.0 <= summed_joules(rows, "cpu") <= host.joules["cpu"] * 1.0001
    assert summed_joules(rows, "ram") <= host.joules["ram"] * 1.0001
