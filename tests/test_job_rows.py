"""Rows that say who they are: the job columns in CSV files (old files keep their columns), task rows, and the
job labels on the Prometheus and Logfire outputs."""

from __future__ import annotations

import csv
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from codecarbon import OfflineEmissionsTracker
from codecarbon.core.job import JOB_COLUMNS
from codecarbon.hardware import SystemSeams
from codecarbon.output_methods.emissions_data import CSV_COLUMNS, EXTRA_COLUMNS
from tests.fakes.fake_pynvml import FakeGpu, FakeNVML, fake_uuid
from tests.fakes.sysfs import FakeSysfs
from tests.test_output_records import make_record

SLURM = {"SLURM_JOB_ID": "8080", "SLURM_PROCID": "1", "SLURM_LOCALID": "1", "SLURM_NTASKS": "2",
         "SLURM_JOB_NAME": "fit", "SLURM_JOB_USER": "carol", "SLURM_JOB_ACCOUNT": "a1", "SLURM_JOB_PARTITION": "p"}
OUR_EARLIER_43 = list(CSV_COLUMNS) + ["cpu_measure", "gpu_measure", "ram_measure", "carbon_intensity",
                                      "intensity_source"]


@pytest.fixture
def in_slurm_job(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in SLURM.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(tmp_path / "state"))


def tracker(tmp_path: Path, **arguments) -> OfflineEmissionsTracker:
    fake = FakeSysfs(tmp_path / "root")
    fake.add_zone("intel-rapl:0", "package-0", energy_uj=0)

    class JobTracker(OfflineEmissionsTracker):
        _system_seams = SystemSeams(sysfs_root=fake.sys, nvml=FakeNVML([FakeGpu(uuid=fake_uuid(0))]), environ={})

    return JobTracker(country_iso_code="FRA", measure_power_secs=999, **arguments)


def header(path: Path) -> list[str]:
    with open(path, newline="") as handle:
        return next(csv.reader(handle))


def test_job_columns_follow_intensity_source_in_the_contracts_order() -> None:
    assert EXTRA_COLUMNS[EXTRA_COLUMNS.index("intensity_source") + 1:] == JOB_COLUMNS
    assert JOB_COLUMNS == ("scheduler", "job_id", "job_name", "job_user", "job_account", "job_partition",
                           "node_name", "rank", "local_rank", "world_size", "attribution")


def test_a_new_file_gets_the_job_columns_filled(tmp_path: Path, in_slurm_job) -> None:
    t = tracker(tmp_path)
    t.start()
    t.start_task("epoch")
    t.stop_task("epoch")
    t.stop()
    assert header(Path("emissions.csv"))[43:] == list(JOB_COLUMNS)
    with open("emissions.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["scheduler"], row["job_id"], row["job_name"], row["job_user"], row["job_account"],
            row["job_partition"], row["rank"], row["local_rank"], row["world_size"]) == \
        ("slurm", "8080", "fit", "carol", "a1", "p", "1", "1", "2")
    assert row["attribution"] == "cpu=host;gpu=0;ram=host" and row["node_name"]
    (task_file,) = Path(".").glob("emissions_base_*.csv")
    with open(task_file, newline="") as handle:
        (task,) = list(csv.DictReader(handle))
    assert task["job_id"] == "8080" and task["attribution"] == row["attribution"]


@pytest.mark.parametrize("columns", [list(CSV_COLUMNS), OUR_EARLIER_43], ids=["38", "43"])
def test_an_existing_file_keeps_its_columns(tmp_path: Path, in_slurm_job, columns: list[str]) -> None:
    Path("emissions.csv").write_text(",".join(columns) + "\n")
    t = tracker(tmp_path)
    t.start()
    t.stop()
    assert header(Path("emissions.csv")) == columns
    with open("emissions.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert list(row) == columns and float(row["duration"]) >= 0
    assert not Path("emissions.header-mismatch.csv").exists()


def test_a_second_rank_on_the_host_leaves_the_cpu_to_the_first(tmp_path: Path, in_slurm_job) -> None:
    from codecarbon.core.job import detect_job

    key = detect_job().host_key()
    (tmp_path / "state" / "jobs" / key).mkdir(parents=True)
    code = ("import time; from pathlib import Path; from codecarbon.hardware.ownership import OwnedLock;"
            f"l = OwnedLock.acquire(Path({str(tmp_path / 'state' / 'jobs' / key / 'host.lock')!r}));"
            "print(bool(l), flush=True); time.sleep(60)")
    repo = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=repo,
                             env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "True"
        t = tracker(tmp_path)
        t.start()
        t.stop()
        assert t.final_emissions_data.attribution == "cpu=none;gpu=0;ram=none"
        assert t.final_emissions_data.cpu_energy == 0.0 and t.final_emissions_data.ram_energy == 0.0
    finally:
        child.kill()
        child.communicate()


def test_a_tracker_starts_and_writes_its_row_beside_unusable_launcher_numbers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(tmp_path / "state"))
    for name, value in {"RANK": "²", "LOCAL_RANK": "7" * 5000, "WORLD_SIZE": "②", "TORCHELASTIC_RUN_ID": "r9"}.items():
        monkeypatch.setenv(name, value)
    t = tracker(tmp_path)
    t.start()
    t.stop()
    with open("emissions.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["scheduler"], row["job_id"], row["rank"], row["local_rank"], row["world_size"]) == \
        ("torchrun", "r9", "", "", "")


def test_a_job_variable_that_is_not_utf8_keeps_the_runs_row(tmp_path: Path, in_slurm_job,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("SLURM_JOB_NAME", os.fsdecode(b"r\xe9sum\xe9"))  # bytes os.environb holds as they came
    t = tracker(tmp_path, project_name=os.fsdecode(b"proj\xff"), experiment_name=os.fsdecode(b"exp\xff"))
    t.start()
    t.start_task("train")
    t.stop_task("train")
    t.flush()
    t.stop()
    with open("emissions.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and rows[-1]["job_name"] == "r\\xe9sum\\xe9" and rows[-1]["project_name"] == "proj\\xff"
    (task_file,) = Path(".").glob("emissions_exp*.csv")
    with open(task_file, newline="", encoding="utf-8") as handle:
        (task,) = list(csv.DictReader(handle))
    assert task["job_name"] == "r\\xe9sum\\xe9"


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="fork only")
def test_the_jobs_next_run_owns_the_host_again_while_a_child_forked_by_the_last_one_lives(
        tmp_path: Path, in_slurm_job) -> None:
    from tests.test_support_files import _ForkedChild

    first = tracker(tmp_path)
    first.start()
    child = _ForkedChild()  # e.g. a DataLoader worker, alive past the run's stop()
    try:
        first.stop()
        second = tracker(tmp_path)
        second.start()
        second.stop()
    finally:
        child.close()
    assert first.final_emissions_data.attribution == second.final_emissions_data.attribution == \
        "cpu=host;gpu=0;ram=host"


def job_record(**changes):
    fields = {"scheduler": "slurm", "job_id": "8080", "node_name": "gpu-3", "rank": "5", "local_rank": "1",
              "world_size": "8", "attribution": "cpu=none;gpu=1;ram=none"}
    return make_record(**{**fields, **changes})


def test_prometheus_pushes_one_group_per_rank_with_the_job_labels(tmp_path: Path) -> None:
    from tests.fakes.pushgateway import pushgateway, pushgateway_available

    if not pushgateway_available():
        pytest.skip("prometheus-pushgateway not installed")
    from codecarbon.output_methods.metrics.prometheus import PrometheusOutput

    with pushgateway(tmp_path / "gateway") as gateway:
        for rank in ("0", "1"):
            output = PrometheusOutput(gateway.url, project_name="demo", hostname="gpu-3")
            record = job_record(rank=rank, cpu_power=10.0 + int(rank))
            output.out(record, record)
            output.exit()
        found = {labels["rank"]: (labels, value) for labels, value in gateway.samples("codecarbon_cpu_power")}
    assert set(found) == {"0", "1"}  # the second rank did not replace the first
    labels, value = found["1"]
    assert value == 11.0
    assert (labels["job_id"], labels["node_name"], labels["local_rank"], labels["world_size"],
            labels["scheduler"]) == ("8080", "gpu-3", "1", "8", "slurm")


def test_logfire_attributes_carry_the_job(tmp_path: Path) -> None:
    logfire = pytest.importorskip("logfire")
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from codecarbon.output_methods.metrics.logfire import LogfireOutput

    memory = InMemoryMetricReader()
    logfire.configure(send_to_logfire=False, console=False,
                      metrics=logfire.MetricsOptions(additional_readers=[memory]))
    output = LogfireOutput()
    record = job_record(project_name="job-labels")
    output.out(record, replace(record, cpu_power=7.0))
    data = memory.get_metrics_data()
    points = [p for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics
              if m.name == "codecarbon_cpu_power" for p in m.data.data_points
              if p.attributes.get("project_name") == "job-labels"]
    assert points and points[0].attributes["job_id"] == "8080" and points[0].attributes["rank"] == "5"
    assert points[0].attributes["node_name"] == "gpu-3" and points[0].attributes["world_size"] == "8"
