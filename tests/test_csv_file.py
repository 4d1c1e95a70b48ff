"""The CSV output: exact columns, append/update, foreign headers, several writer processes, failed writes."""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from codecarbon.output_methods.emissions_data import (
    CSV_COLUMNS,
    EXTRA_COLUMNS,
    EmissionsData,
    TaskEmissionsData,
)
from codecarbon.output_methods.file import FileOutput

SPEC_COLUMNS = (
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
    "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,country_iso_code,"
    "region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,"
    "gpu_model,longitude,latitude,ram_total_size,tracking_mode,cpu_utilization_percent,"
    "gpu_utilization_percent,ram_utilization_percent,ram_used_gb,on_cloud,pue,wue"
).split(",")


def make_record(run_id: str = "run-1", emissions: float = 0.001, **changes) -> EmissionsData:
    record = EmissionsData(
        timestamp="2026-11-23T10:00:00", project_name="p", run_id=run_id, experiment_id="exp", duration=10.0,
        emissions=emissions, emissions_rate=emissions / 10, cpu_power=20.0, gpu_power=0.0, ram_power=5.0,
        cpu_energy=2e-5, gpu_energy=0.0, ram_energy=5e-6, energy_consumed=2.5e-5, water_consumed=0.0,
        country_name="France", country_iso_code="FRA", region=None, cloud_provider="", cloud_region="",
        os="Linux", python_version="3.11", codecarbon_version="3.4.0", cpu_count=2, cpu_model="CPU",
        gpu_count=0, gpu_model="", longitude=None, latitude=None, ram_total_size=16.0, tracking_mode="machine",
        cpu_measure="rapl", ram_measure="ram-model", carbon_intensity=40.0, intensity_source="test")
    return replace(record, **changes)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_columns_are_the_38_of_the_spec_in_order_then_extras(tmp_path: Path) -> None:
    assert list(CSV_COLUMNS) == SPEC_COLUMNS
    output = FileOutput(output_dir=str(tmp_path))
    output.out(make_record(), make_record())
    header, rows = read_rows(tmp_path / "emissions.csv")
    assert header[:38] == SPEC_COLUMNS
    assert header[38:] == list(EXTRA_COLUMNS)
    assert rows[0]["country_iso_code"] == "FRA" and rows[0]["region"] == ""
    assert float(rows[0]["emissions"]) == 0.001


def test_append_adds_a_row_per_write_and_update_replaces_the_runs_row(tmp_path: Path) -> None:
    appending = FileOutput(output_dir=str(tmp_path))
    appending.out(make_record("a", 1.0), make_record())
    appending.out(make_record("a", 2.0), make_record())
    assert [r["emissions"] for r in read_rows(tmp_path / "emissions.csv")[1]] == ["1.0", "2.0"]

    updating = FileOutput(output_file_name="u.csv", output_dir=str(tmp_path), on_csv_write="update")
    updating.out(make_record("x", 1.0), make_record())
    updating.out(make_record("y", 5.0), make_record())
    updating.out(make_record("x", 3.0), make_record())
    rows = read_rows(tmp_path / "u.csv")[1]
    assert [(r["run_id"], r["emissions"]) for r in rows] == [("x", "3.0"), ("y", "5.0")]


def test_bad_mode_and_missing_directory_are_errors_naming_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="on_csv_write"):
        FileOutput(output_dir=str(tmp_path), on_csv_write="overwrite")
    with pytest.raises(ValueError, match="output_dir"):
        FileOutput(output_dir=str(tmp_path / "missing"))
    (tmp_path / "a-folder.csv").mkdir()
    with pytest.raises(ValueError, match="output_file"):
        FileOutput(output_file_name="a-folder.csv", output_dir=str(tmp_path))
    with pytest.raises(ValueError, match="output_file"):
        FileOutput(output_file_name="no/such/folder.csv", output_dir=str(tmp_path))


def test_a_file_of_the_original_38_columns_keeps_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "emissions.csv"
    path.write_text(",".join(SPEC_COLUMNS) + "\n" + ",".join(["old"] * 38) + "\n")
    FileOutput(output_dir=str(tmp_path)).out(make_record(), make_record())
    header, rows = read_rows(path)
    assert header == SPEC_COLUMNS
    assert rows[0]["run_id"] == "old" and rows[1]["run_id"] == "run-1"


def test_a_foreign_header_is_moved_aside_and_never_over_an_earlier_backup(tmp_path: Path, codecarbon_log) -> None:
    path = tmp_path / "emissions.csv"
    path.write_text("name,score\nalice,3\n")
    output = FileOutput(output_dir=str(tmp_path))
    output.out(make_record(), make_record())
    output.out(make_record("run-2"), make_record())
    assert (tmp_path / "emissions.csv.bak").read_text() == "name,score\nalice,3\n"
    assert [r["run_id"] for r in read_rows(path)[1]] == ["run-1", "run-2"]
    assert sum("moved to" in r.getMessage() and "emissions.csv.bak" in r.getMessage()
               for r in codecarbon_log.records) == 1
    path.write_text("other,file\n1,2\n")  # a second foreign file: the first backup stays
    output.out(make_record("run-3"), make_record())
    assert (tmp_path / "emissions.csv.bak").read_text() == "name,score\nalice,3\n"
    assert (tmp_path / "emissions.csv.1.bak").read_text() == "other,file\n1,2\n"
    assert [r["run_id"] for r in read_rows(path)[1]] == ["run-3"]


def test_a_header_that_is_not_utf8_is_moved_aside_and_the_row_kept(tmp_path: Path) -> None:
    path = tmp_path / "emissions.csv"
    original = "Zeitstempel,Größe\n1,2\n".encode("latin-1")
    path.write_bytes(original)
    FileOutput(output_dir=str(tmp_path)).out(make_record(), make_record())
    assert (tmp_path / "emissions.csv.bak").read_bytes() == original
    assert [r["run_id"] for r in read_rows(path)[1]] == ["run-1"]


def test_rows_that_are_not_utf8_survive_an_update_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "emissions.csv"
    FileOutput(output_dir=str(tmp_path)).out(make_record("other"), make_record())
    foreign_row = ",".join(["x"] * 5).encode() + b",caf\xe9\n"
    with open(path, "ab") as handle:
        handle.write(foreign_row)
    output = FileOutput(output_dir=str(tmp_path), on_csv_write="update")
    output.out(make_record("mine", 1.0), make_record())
    output.out(make_record("mine", 2.0), make_record())
    data = path.read_bytes()
    assert foreign_row in data
    text = data.decode("utf-8", "replace").splitlines()
    assert sum(",mine," in line for line in text) == 1 and ",2.0," in text[-1]


@pytest.mark.parametrize("cut", ["2026-11-23T10:00:00,p,half-a-r", '2026-11-23T10:00:00,p,r,e,1,2,3,4,5,6,"Intel, cut'])
@pytest.mark.parametrize("mode", ["append", "update"])
def test_a_last_line_cut_short_is_mended_before_the_new_row(tmp_path: Path, cut: str, mode: str) -> None:
    path = tmp_path / "emissions.csv"
    FileOutput(output_dir=str(tmp_path)).out(make_record("before"), make_record())
    with open(path, "a") as handle:
        handle.write(cut)
    FileOutput(output_dir=str(tmp_path), on_csv_write=mode).out(make_record("after"), make_record())
    header, rows = read_rows(path)
    assert header[:38] == SPEC_COLUMNS
    assert rows[0]["run_id"] == "before" and rows[-1]["run_id"] == "after"
    assert rows[-1]["intensity_source"] == "test" and len(rows) == 3


def test_a_short_write_leaves_no_half_row_and_the_row_is_written_next_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from codecarbon.support import files

    output = FileOutput(output_dir=str(tmp_path))
    output.out(make_record("first"), make_record())
    before = (tmp_path / "emissions.csv").read_bytes()
    real_write = files._write

    def disk_fills(fd: int, data) -> int:
        if len(data) > 20:
            return real_write(fd, bytes(data[:20]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "_write", disk_fills)
    output.out(make_record("second"), make_record())
    assert (tmp_path / "emissions.csv").read_bytes() == before
    monkeypatch.setattr(files, "_write", real_write)
    output.out(make_record("third"), make_record())
    assert [r["run_id"] for r in read_rows(tmp_path / "emissions.csv")[1]] == ["first", "second", "third"]


@pytest.mark.skipif(os.name == "nt", reason="symbolic links")
def test_a_symlink_planted_at_the_csv_is_not_followed_and_the_row_goes_to_the_state_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codecarbon_log) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(state))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "emissions.csv").symlink_to(victim)
    output = FileOutput(output_dir=str(tmp_path))
    output.out(make_record("r"), make_record())
    output.exit()
    assert victim.read_text() == "precious\n"
    (saved,) = (state / "unwritten").iterdir()
    assert os.stat(saved).st_mode & 0o777 == 0o600
    assert [r["run_id"] for r in read_rows(saved)[1]] == ["r"]
    assert any(str(saved) in r.getMessage() for r in codecarbon_log.records)


def test_task_rows_go_to_their_own_file_with_task_name_first(tmp_path: Path) -> None:
    output = FileOutput(output_dir=str(tmp_path))
    rows = [TaskEmissionsData.from_emissions(name, make_record("r9")) for name in ("load", "train")]
    output.task_out(rows, "base")
    output.task_out(rows, "base")  # rewritten, not doubled
    header, read = read_rows(tmp_path / "emissions_base_r9.csv")
    assert header[0] == "task_name" and "experiment_id" not in header
    assert [r["task_name"] for r in read] == ["load", "train"]


def _append_many(directory: str, worker: int, count: int) -> None:
    output = FileOutput(output_dir=directory)
    for index in range(count):
        output.out(make_record(f"w{worker}-{index}", cpu_model="x" * 3000), make_record())


def _update_many(directory: str, worker: int, count: int) -> None:
    output = FileOutput(output_dir=directory, on_csv_write="update")
    for index in range(count):
        output.out(make_record(f"u{worker}", float(index), cpu_model="y" * 500), make_record())
        FileOutput(output_dir=directory).out(make_record(f"a{worker}-{index}"), make_record())


def test_update_and_append_processes_on_one_file_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    workers = [context.Process(target=_update_many, args=(str(tmp_path), w, 25)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    _, rows = read_rows(tmp_path / "emissions.csv")
    updated = sorted((r["run_id"], r["emissions"]) for r in rows if r["run_id"].startswith("u"))
    assert updated == [(f"u{w}", "24.0") for w in range(4)]
    assert sorted(r["run_id"] for r in rows if r["run_id"].startswith("a")) == \
        sorted(f"a{w}-{i}" for w in range(4) for i in range(25))
    assert [p.name for p in tmp_path.iterdir() if p.name not in ("home", "work")] == ["emissions.csv"]


def test_processes_sharing_one_file_never_interleave_or_lose_rows(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), w, 60)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    header, rows = read_rows(tmp_path / "emissions.csv")
    assert header[:38] == SPEC_COLUMNS
    assert sorted(r["run_id"] for r in rows) == sorted(f"w{w}-{i}" for w in range(4) for i in range(60))
    assert all(r["cpu_model"] == "x" * 3000 and r["intensity_source"] == "test" for r in rows)
    assert (tmp_path / "emissions.csv").read_text().count("timestamp,project_name") == 1


def test_a_failed_write_keeps_the_row_and_writes_it_next_time(tmp_path: Path) -> None:
    output = FileOutput(output_dir=str(tmp_path))
    blocker = tmp_path / "emissions.csv"
    blocker.mkdir()  # writing to a directory fails like a full or read-only disk would
    output.out(make_record("first"), make_record())
    blocker.rmdir()
    output.out(make_record("second"), make_record())
    assert [r["run_id"] for r in read_rows(blocker)[1]] == ["first", "second"]


# --- property: whatever bytes the file held, the row is written and nothing of the user's is lost ------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_OUR_HEADER = ",".join(CSV_COLUMNS + EXTRA_COLUMNS)
_HEADERS = st.sampled_from([_OUR_HEADER, ",".join(SPEC_COLUMNS), ",".join(SPEC_COLUMNS[:5]), "name,score",
                            "", "\ufefftimestamp,run_id", "run_id,run_id", "  "])
_LINES = st.one_of(
    st.text(alphabet=st.sampled_from('ab,"\r\n é'), max_size=30),
    st.binary(max_size=30),
    st.just(",".join(["x"] * 38)),
)


@st.composite
def existing_csv(draw) -> bytes:
    header = draw(_HEADERS).encode("utf-8")
    lines = [line.encode("utf-8") if isinstance(line, str) else line for line in draw(st.lists(_LINES, max_size=5))]
    data = b"\n".join([header, *lines])
    if draw(st.booleans()):
        data += b"\n"
    if draw(st.booleans()):
        data = data.replace(b"\n", b"\r\n")
    cut = draw(st.integers(min_value=0, max_value=len(data)))
    return data[:cut] if draw(st.booleans()) else data


def _check_row_is_there(folder: Path, original: bytes, run_id: str, mode: str) -> None:
    path = folder / "emissions.csv"
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    records = list(csv.reader(io.StringIO(text, newline="")))
    header = records[0]
    ours = [dict(zip(header, r, strict=False)) for r in records[1:] if len(r) > 2 and run_id in r]
    assert len(ours) == 1, records
    assert ours[0]["run_id"] == run_id and float(ours[0]["emissions"]) == 0.001
    backups = sorted(folder.glob("emissions.csv*.bak"))
    if backups:
        assert backups[0].read_bytes() == original
    elif mode == "append" and original.strip():
        assert path.read_bytes().startswith(original)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(original=existing_csv(), mode=st.sampled_from(["append", "update"]))
def test_any_existing_bytes_never_lose_the_row(original: bytes, mode: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        (folder / "emissions.csv").write_bytes(original)
        output = FileOutput(output_dir=folder_name, on_csv_write=mode)
        output.out(make_record("prop-run"), make_record())
        output.exit()
        assert output.fallback_path is None
        _check_row_is_there(folder, original, "prop-run", mode)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(original=existing_csv(), mode=st.sampled_from(["append", "update"]))
def test_the_tracker_never_raises_and_writes_its_row_over_any_existing_bytes(original: bytes, mode: str) -> None:
    import tempfile

    from codecarbon import OfflineEmissionsTracker

    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        (folder / "emissions.csv").write_bytes(original)
        tracker = OfflineEmissionsTracker(country_iso_code="FRA", output_dir=folder_name, on_csv_write=mode,
                                          measure_power_secs=5)
        tracker.start()
        assert tracker.flush() is not None
        assert tracker.stop() is not None
        text = (folder / "emissions.csv").read_bytes().decode("utf-8", "surrogateescape")
        records = list(csv.reader(io.StringIO(text, newline="")))
        assert sum(1 for r in records if tracker.run_id in r) == (2 if mode == "append" else 1)


def test_update_after_a_failed_write_still_updates_the_runs_one_row(tmp_path: Path) -> None:
    output = FileOutput(output_dir=str(tmp_path), on_csv_write="update")
    output.out(make_record("run", 1.0), make_record())
    csv_path = tmp_path / "emissions.csv"
    aside = tmp_path / "aside.csv"
    csv_path.rename(aside)
    csv_path.mkdir()  # the next write fails like a full or read-only disk would
    output.out(make_record("run", 2.0), make_record())
    csv_path.rmdir()
    aside.rename(csv_path)
    for emissions in (3.0, 4.0):  # every later write of the run still replaces its row
        output.out(make_record("run", emissions), make_record())
    output.exit()
    assert [(r["run_id"], r["emissions"]) for r in read_rows(csv_path)[1]] == [("run", "4.0")]


@pytest.mark.parametrize("experiment", ["a/b", "/../../escaped", "..\\\\..\\\\win", "x" * 400, "tab\there", "nul\0"],
                         ids=["slash", "leading-slash-dotdot", "backslashes", "too-long", "control", "nul"])
def test_task_rows_stay_in_output_dir_whatever_the_experiment_name(tmp_path: Path, experiment: str) -> None:
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    output = FileOutput(output_dir=str(output_dir))
    rows = [TaskEmissionsData.from_emissions(name, make_record("r9")) for name in ("load", "train")]
    output.task_out(rows, experiment)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    (task_file,) = written
    assert task_file.parent == output_dir and task_file.name.startswith("emissions_")
    assert task_file.name.endswith("_r9.csv") and len(task_file.name.encode()) <= 220
    assert [r["task_name"] for r in read_rows(task_file)[1]] == ["load", "train"]
    output.task_out(rows, experiment)  # the same name again: rewritten, not a second file
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [task_file]


@pytest.mark.parametrize("mode", ["append", "update"])
def test_text_that_is_not_utf8_never_loses_the_row(tmp_path: Path, mode: str, codecarbon_log,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from codecarbon.external import logger as logger_module

    monkeypatch.setattr(logger_module, "_said_once", set())
    stray = os.fsdecode(b"caf\xe9")  # a Latin-1 byte in a UTF-8 world, as os.environ and argv carry it
    output = FileOutput(output_dir=str(tmp_path), on_csv_write=mode)
    rows = [TaskEmissionsData.from_emissions(stray, make_record("r1", job_name=stray))]
    for emissions in (1.0, 2.0):
        output.out(make_record("r1", emissions, project_name=stray, job_name="\ud800"), make_record())
        output.task_out(rows, stray)
    output.exit()
    read = read_rows(tmp_path / "emissions.csv")[1]
    assert [r["project_name"] for r in read] == ["caf\\xe9"] * (2 if mode == "append" else 1)
    assert read[-1]["emissions"] == "2.0" and read[-1]["job_name"] == "\\ud800"
    (task_file,) = tmp_path.glob("emissions_caf*_r1.csv")
    assert [(r["task_name"], r["job_name"]) for r in read_rows(task_file)[1]] == [("caf\\xe9", "caf\\xe9")]
    said = [r for r in codecarbon_log.records if "not UTF-8" in r.getMessage()]
    assert len(said) == 1 and said[0].levelname == "WARNING"


@pytest.mark.skipif(not hasattr(os, "umask") or os.name == "nt", reason="POSIX modes")
def test_new_outputs_follow_the_umask_and_an_updated_csv_keeps_its_own_mode(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        FileOutput(output_dir=str(tmp_path), on_csv_write="update").out(make_record("r1"), make_record())
        FileOutput(output_dir=str(tmp_path)).task_out([TaskEmissionsData.from_emissions("t", make_record("r1"))],
                                                      "e")
        assert os.stat(tmp_path / "emissions.csv").st_mode & 0o777 == 0o640
        assert os.stat(tmp_path / "emissions_e_r1.csv").st_mode & 0o777 == 0o640
        os.chmod(tmp_path / "emissions.csv", 0o664)  # the user shares it with their group
        os.umask(0o077)
        FileOutput(output_dir=str(tmp_path), on_csv_write="update").out(make_record("r1", 2.0), make_record())
    finally:
        os.umask(previous)
    assert os.stat(tmp_path / "emissions.csv").st_mode & 0o777 == 0o664
    assert [r["emissions"] for r in read_rows(tmp_path / "emissions.csv")[1]] == ["2.0"]


def test_task_file_names_keep_what_the_platform_allows_as_3_3_2_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from codecarbon.output_methods.file import task_file_name

    assert task_file_name("task:e1", "r") == "emissions_task:e1_r.csv"  # POSIX takes it: 3.3.2's name
    monkeypatch.setattr(sys, "platform", "win32")
    assert task_file_name('task:e1\\a*b?"<>|', "r") == "emissions_task_e1_a_b______r.csv"
