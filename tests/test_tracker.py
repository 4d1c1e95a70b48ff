"""The trackers end to end: lifecycle, rows, decorator, tasks, live outputs, the machine lock, logging."""

from __future__ import annotations

import csv
import logging
import math
import threading
from pathlib import Path

import pytest

from codecarbon import EmissionsTracker, OfflineEmissionsTracker, OutputMethod, track_emissions
from codecarbon.emissions_tracker import BaseEmissionsTracker
from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.emissions_data import EmissionsData

FAST = dict(country_iso_code="FRA", measure_power_secs=0.1, force_cpu_power=100.0, force_ram_power=10.0)


def rows(path: Path = Path("emissions.csv")) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def burn(seconds: float = 0.3) -> None:
    import time

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        math.sqrt(12345.6789)


class Recorder(BaseOutput):
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def out(self, total, delta):
        self.calls.append(("out", (total, delta)))

    def live_out(self, total, delta):
        self.calls.append(("live_out", (total, delta)))

    def task_out(self, data, experiment_name):
        self.calls.append(("task_out", (data, experiment_name)))

    def exit(self):
        self.calls.append(("exit", None))


def test_start_stop_writes_one_consistent_row() -> None:
    tracker = OfflineEmissionsTracker(project_name="demo", pue=1.5, wue=2.0, **FAST)
    tracker.start()
    burn()
    kg = tracker.stop()
    assert isinstance(kg, float) and kg > 0
    (row,) = rows()
    assert row["project_name"] == "demo" and row["country_iso_code"] == "FRA" and row["country_name"] == "France"
    energies = [float(row[f"{c}_energy"]) for c in ("cpu", "gpu", "ram")]
    assert float(row["energy_consumed"]) == pytest.approx(sum(energies))
    assert float(row["emissions"]) == pytest.approx(kg)
    assert float(row["emissions_rate"]) == pytest.approx(kg / float(row["duration"]))
    assert float(row["water_consumed"]) == pytest.approx(2.0 * float(row["energy_consumed"]))
    duration_h = float(row["duration"]) / 3600
    # forced RAM power is a constant: energy = power x time x PUE (the source keeps its own clock)
    assert float(row["ram_energy"]) == pytest.approx(10.0 * duration_h / 1000 * 1.5, rel=1e-3)
    assert float(row["ram_power"]) == pytest.approx(15.0, rel=1e-3)
    intensity = float(row["carbon_intensity"])
    assert kg == pytest.approx(float(row["energy_consumed"]) * intensity / 1000, rel=1e-9)
    assert row["on_cloud"] == "N" and row["tracking_mode"] == "machine" and row["pue"] == "1.5"
    assert row["cpu_measure"] and row["ram_measure"] == "constant"
    assert tracker.final_emissions == kg
    assert isinstance(tracker.final_emissions_data, EmissionsData)


def test_second_stop_writes_nothing_and_start_after_stop_continues_the_run() -> None:
    """3.3.2: a stopped tracker started again keeps its run_id and its totals keep growing (a pytest plugin
    takes per-test differences of one tracker's cumulative rows; they must never be negative)."""
    tracker = OfflineEmissionsTracker(**FAST)
    tracker.start()
    burn(0.2)
    first = tracker.stop()
    assert tracker.stop() == first
    assert len(rows()) == 1
    tracker.start()
    burn(0.2)
    second = tracker.stop()
    first_row, second_row = rows()
    assert first_row["run_id"] == second_row["run_id"] == tracker.run_id
    assert second is not None and first is not None and second > first
    for column in ("energy_consumed", "cpu_energy", "ram_energy", "emissions", "duration"):
        assert float(second_row[column]) > float(first_row[column]), column
    # the time between stop() and start() counts for nothing: forced 10 W RAM over the measured time only
    assert float(second_row["ram_energy"]) == pytest.approx(10.0 * float(second_row["duration"]) / 3600 / 1000,
                                                            rel=1e-3)


def test_context_manager_writes_the_row_and_lets_the_exception_through() -> None:
    with pytest.raises(KeyError):
        with OfflineEmissionsTracker(**FAST) as tracker:
            assert isinstance(tracker, BaseEmissionsTracker)
            raise KeyError("user error")
    assert len(rows()) == 1


def test_decorator_bare_and_with_arguments(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()

    @track_emissions(offline=True, output_dir=str(tmp_path / "out"), **FAST)
    def answer(x: int) -> int:
        """Doc kept."""
        return x * 2

    @track_emissions(offline=True, **FAST)
    def fails() -> None:
        raise ZeroDivisionError

    assert answer(21) == 42
    assert answer.__name__ == "answer" and answer.__doc__ == "Doc kept."
    with pytest.raises(ZeroDivisionError):
        fails()
    assert len(rows(tmp_path / "out" / "emissions.csv")) == 1
    assert len(rows()) == 1

    with pytest.raises(ValueError, match="country_iso_code"):
        track_emissions(offline=True)(lambda: None)


def test_bare_decorator_uses_the_config_files(monkeypatch: pytest.MonkeyPatch) -> None:
    Path(".codecarbon.config").write_text("[codecarbon]\nmeasure_power_secs=0.1\nforce_cpu_power=50\n"
                                          "project_name=from-file\n")
    monkeypatch.setattr("codecarbon.emissions_tracker.EmissionsTracker", OfflineEmissionsTracker)

    @track_emissions
    def work() -> str:
        return "done"

    assert work() == "done"
    assert rows()[0]["project_name"] == "from-file"


def test_flush_appends_rows_and_update_mode_keeps_one_row_per_run() -> None:
    tracker = OfflineEmissionsTracker(**FAST)
    tracker.start()
    burn(0.1)
    first = tracker.flush()
    burn(0.1)
    second = tracker.flush()
    final = tracker.stop()
    assert 0 < first < second < final
    assert [float(r["emissions"]) for r in rows()] == pytest.approx([first, second, final])

    updating = OfflineEmissionsTracker(output_file="updated.csv", on_csv_write="update", **FAST)
    updating.start()
    updating.flush()
    updating.flush()
    updating.stop()
    (row,) = rows(Path("updated.csv"))
    assert float(row["emissions"]) == pytest.approx(updating.final_emissions)


def test_tasks_are_windows_inside_the_run() -> None:
    recorder = Recorder()
    tracker = OfflineEmissionsTracker(output_handlers=[recorder], experiment_name="exp", **FAST)
    tracker.start()
    tracker.start_task("load")
    burn(0.1)
    load = tracker.stop_task("load")
    tracker.start_task("train")
    burn(0.2)
    train = tracker.stop_task()
    tracker.stop()
    assert isinstance(load, EmissionsData) and load.duration < train.duration
    assert load.energy_consumed + train.energy_consumed <= tracker.final_emissions_data.energy_consumed
    ((data, experiment),) = [args for name, args in recorder.calls if name == "task_out"]
    assert [t.task_name for t in data] == ["load", "train"] and experiment == "exp"
    task_rows = rows(Path(f"emissions_exp_{tracker.run_id}.csv"))
    assert [r["task_name"] for r in task_rows] == ["load", "train"]


def test_custom_handler_gets_live_out_every_interval_and_exit_once() -> None:
    recorder = Recorder()
    tracker = OfflineEmissionsTracker(output_handlers=[recorder], api_call_interval=2, **FAST)
    tracker.start()
    burn(0.6)
    tracker.stop()
    names = [name for name, _ in recorder.calls]
    assert names.count("live_out") >= 2 and names[-2:] == ["out", "exit"]
    total, delta = recorder.calls[-2][1]
    assert total.emissions >= delta.emissions >= 0
    assert sum(a[1].duration for n, a in recorder.calls if n in ("live_out", "out")) == pytest.approx(
        total.duration, rel=1e-9)


def test_live_out_interval_minus_one_means_only_at_flush_and_stop() -> None:
    recorder = Recorder()
    tracker = OfflineEmissionsTracker(output_handlers=[recorder], api_call_interval=-1, **FAST)
    tracker.start()
    burn(0.4)
    tracker.stop()
    assert [name for name, _ in recorder.calls] == ["out", "exit"]


def test_a_failing_output_never_reaches_user_code_and_the_csv_still_gets_its_row() -> None:
    class Broken(BaseOutput):
        def out(self, total, delta):
            raise RuntimeError("boom")

        def live_out(self, total, delta):
            raise RuntimeError("boom")

    tracker = OfflineEmissionsTracker(output_handlers=[Broken()], api_call_interval=1, **FAST)
    tracker.start()
    burn(0.3)
    assert tracker.stop() > 0
    assert len(rows()) == 1


def test_one_sampling_thread_at_a_tenth_of_a_second() -> None:
    """One sampling thread per run; besides it only ``codecarbon-exit`` (idle until a SIGTERM); none after stop."""
    before = {t.ident for t in threading.enumerate() if t.name != "codecarbon-exit"}
    tracker = OfflineEmissionsTracker(**FAST)
    tracker.start()
    burn(0.5)
    during = [t for t in threading.enumerate() if t.ident not in before and t.name != "codecarbon-exit"]
    tracker.stop()
    assert [t.name for t in during] == ["codecarbon-sampler"]
    assert not any(t.name.startswith("codecarbon-") and t.ident not in before for t in threading.enumerate())


def test_bad_values_fail_at_construction_naming_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="measure_power_secs"):
        OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=-1)
    with pytest.raises(ValueError, match="tracking_mode"):
        OfflineEmissionsTracker(country_iso_code="FRA", tracking_mode="everything")
    with pytest.raises(ValueError, match="country_iso_code"):
        OfflineEmissionsTracker(country_iso_code="XYZ")
    with pytest.raises(ValueError, match="output_dir"):
        OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="output_methods"):
        OfflineEmissionsTracker(country_iso_code="FRA", output_methods=["carrier-pigeon"])


def test_allow_multiple_runs_false_refuses_a_second_live_tracker(codecarbon_log) -> None:
    first = OfflineEmissionsTracker(allow_multiple_runs=False, **FAST)
    second = OfflineEmissionsTracker(allow_multiple_runs=False, output_file="second.csv", **FAST)
    first.start()
    second.start()
    assert second.stop() is None
    assert any("another CodeCarbon tracker is running" in r.getMessage() for r in codecarbon_log.records)
    first.stop()
    assert not Path("second.csv").exists()
    third = OfflineEmissionsTracker(allow_multiple_runs=False, output_file="third.csv", **FAST)
    third.start()
    assert third.stop() is not None


def test_output_methods_accept_enum_members_and_strings() -> None:
    tracker = OfflineEmissionsTracker(output_methods=[OutputMethod.CSV, "csv"], **FAST)
    tracker.start()
    tracker.stop()
    assert len(rows()) == 1


def test_stop_logs_one_summary_line_through_the_codecarbon_logger_only(codecarbon_log) -> None:
    root_handlers = list(logging.getLogger().handlers)
    tracker = OfflineEmissionsTracker(logger_preamble="job-7", **FAST)
    tracker.start()
    burn(0.1)
    codecarbon_log.clear()
    tracker.stop()
    infos = [r for r in codecarbon_log.records if r.levelno == logging.INFO and r.name == "codecarbon"]
    assert len(infos) == 1 and "g CO2eq" in infos[0].getMessage()
    assert logging.getLogger().handlers == root_handlers


def test_log_level_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODECARBON_LOG_LEVEL", "error")
    OfflineEmissionsTracker(**FAST)
    assert logging.getLogger("codecarbon").level == logging.ERROR
    OfflineEmissionsTracker(log_level=10, **FAST)
    assert logging.getLogger("codecarbon").level == logging.DEBUG
    logging.getLogger("codecarbon").setLevel(logging.INFO)


def test_process_mode_row() -> None:
    tracker = OfflineEmissionsTracker(tracking_mode="process", **FAST)
    tracker.start()
    burn(0.3)
    tracker.stop()
    (row,) = rows()
    assert row["tracking_mode"] == "process"
    assert row["cpu_measure"].endswith("+process-share") and row["ram_measure"].endswith("+process-share")
    # the process's share of a forced 100 W CPU and 10 W of RAM cannot exceed the whole machine's
    assert float(row["cpu_power"]) <= 100.0 and float(row["ram_power"]) <= 10.0




def test_online_tracker_with_nothing_answering_uses_the_world_average(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from codecarbon.intensity import geolocation

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: every request is refused at once
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setattr(geolocation, "GEOJS_URL", f"{base}/geo.json")
    monkeypatch.setattr(geolocation, "IPINFO_URL", f"{base}/json")
    monkeypatch.setattr(geolocation, "METADATA_BASE", base)
    tracker = EmissionsTracker(measure_power_secs=0.1, force_cpu_power=100.0, force_ram_power=10.0)
    tracker.start()
    burn(0.2)
    kg = tracker.stop()
    (row,) = rows()
    assert kg > 0 and row["country_iso_code"] == "" and row["on_cloud"] == "N"
    assert float(row["carbon_intensity"]) == pytest.approx(475.0)
    assert "world" in row["intensity_source"]


def test_os_column_matches_platform_platform() -> None:
    import platform

    from codecarbon.core.rows import platform_facts as _platform_facts

    assert _platform_facts() == (platform.platform(), platform.python_version())


def test_the_users_folders_hold_only_the_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoints, locks and recovery state live in the state directory, never in output_dir or the cwd."""
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(tmp_path / "state"))
    tracker = OfflineEmissionsTracker(output_dir=str(out), allow_multiple_runs=False, **FAST)
    tracker.start()
    burn(0.4)  # a few ticks: the checkpoint is written
    assert list((tmp_path / "state" / "runs").rglob("*.json"))
    tracker.flush()
    tracker.stop()
    assert sorted(p.name for p in out.iterdir()) == ["emissions.csv"]
    assert list(Path.cwd().iterdir()) == []
    assert not list((tmp_path / "state" / "runs").rglob("*.json"))
