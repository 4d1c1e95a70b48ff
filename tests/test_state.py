"""Our state on disk (core/state.py): whose run is dead, and which checkpoints a tracker honours."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codecarbon.core import state
from codecarbon.core.state import Checkpoint, ProcessIdentity, recover_orphans
from codecarbon.output_methods.file import FileOutput


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "state"
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(root))
    return root


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def row(run_id: str, **values) -> dict:
    return {"timestamp": "2026-12-01T10:00:00", "project_name": "crashed", "run_id": run_id, "duration": 12.5,
            "emissions": 0.001, **values}


def plant(folder: Path, name: str, csv_path: str, identity: dict, **changes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"version": 1, "process": identity, "uid": os.getuid() if hasattr(os, "getuid") else None,
               "csv": csv_path, "mode": "append", "run_id": name, "row": row(name)}
    payload.update(changes)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(payload))
    return path


def dead_identity() -> dict:
    me = ProcessIdentity.current()
    return {"pid": dead_pid(), "started": "ticks-1", "boot": me.boot, "host": me.host}


def test_this_process_is_alive_and_an_ended_one_is_gone() -> None:
    me = ProcessIdentity.current()
    assert not me.is_gone()
    assert ProcessIdentity(dead_pid(), me.started, me.boot, me.host).is_gone()


def test_a_reused_pid_or_another_boot_means_the_run_is_dead_and_another_host_is_never_judged() -> None:
    me = ProcessIdentity.current()
    assert me.started is not None and me.boot is not None
    assert ProcessIdentity(me.pid, "ticks-1", me.boot, me.host).is_gone()  # same pid, other process
    assert ProcessIdentity(me.pid, me.started, "another-boot", me.host).is_gone()  # the machine restarted
    assert not ProcessIdentity(dead_pid(), None, None, "some-other-host").is_gone()


def test_a_dead_run_of_our_csv_is_recovered_once_into_it(state_dir: Path, out_dir: Path) -> None:
    output = FileOutput(output_dir=str(out_dir))
    folder = state.runs_dir(output.save_file_path)
    plant(folder, "dead-run", os.path.realpath(output.save_file_path), dead_identity())
    assert recover_orphans(output.save_file_path, output.write_row) == ["dead-run"]
    assert recover_orphans(output.save_file_path, output.write_row) == []
    text = (out_dir / "emissions.csv").read_text()
    assert text.count("dead-run") == 1 and "crashed" in text
    assert not any(folder.iterdir())


def test_planted_checkpoints_cannot_make_the_tracker_write_anywhere_else(state_dir: Path, out_dir: Path,
                                                                       tmp_path: Path, codecarbon_log) -> None:
    output = FileOutput(output_dir=str(out_dir))
    ours = os.path.realpath(output.save_file_path)
    folder = state.runs_dir(ours)
    elsewhere = tmp_path / "elsewhere" / "victim.csv"
    elsewhere.parent.mkdir()
    plant(folder, "other-file", str(elsewhere), dead_identity())  # names another file
    plant(folder, "wrong-id", ours, dead_identity(), run_id="different")  # file name and content disagree
    plant(folder, "not-ours", ours, dead_identity(), uid=12345)  # another user's
    plant(folder, "alive", ours, ProcessIdentity.current().as_dict())  # its process still runs
    plant(folder, "garbage", ours, dead_identity(), row={"run_id": "garbage", "x": {"nested": 1}})
    target = plant(tmp_path / "planted", "linked", ours, dead_identity())
    (folder / "linked.json").symlink_to(target)  # a symbolic link is never read
    # a checkpoint in another CSV's folder that names that CSV: this tracker never looks there
    plant(state.runs_dir(elsewhere), "theirs", str(elsewhere), dead_identity())

    assert recover_orphans(output.save_file_path, output.write_row) == []
    assert not elsewhere.exists()
    assert not (out_dir / "emissions.csv").exists()
    assert (folder / "alive.json").exists()


def test_a_tracker_start_recovers_only_its_own_csvs_runs(state_dir: Path, out_dir: Path, tmp_path: Path) -> None:
    from codecarbon import OfflineEmissionsTracker

    ours = os.path.realpath(out_dir / "emissions.csv")
    other = tmp_path / "other.csv"
    plant(state.runs_dir(ours), "mine", ours, dead_identity())
    plant(state.runs_dir(ours), "crafted", str(other), dead_identity())
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(out_dir), measure_power_secs=5)
    tracker.start()
    tracker.stop()
    text = (out_dir / "emissions.csv").read_text()
    assert "mine" in text and "crafted" not in text
    assert not other.exists()


def test_checkpoints_live_in_the_state_dir_keyed_by_the_csvs_real_path(state_dir: Path, out_dir: Path) -> None:
    link = out_dir.parent / "link-to-out"
    link.symlink_to(out_dir)
    checkpoint = Checkpoint(link / "emissions.csv", "r1")
    checkpoint.save(row("r1"))
    assert checkpoint.path is not None
    assert checkpoint.path.parent == state.runs_dir(out_dir / "emissions.csv")
    assert str(checkpoint.path).startswith(str(state_dir))
    assert os.stat(checkpoint.path).st_mode & 0o777 == 0o600
    assert json.loads(checkpoint.path.read_text())["csv"] == os.path.realpath(out_dir / "emissions.csv")
    checkpoint.remove()
    assert not checkpoint.path.exists()


def test_checkpoint_cadence_bounds_what_a_kill_loses() -> None:
    from codecarbon import OfflineEmissionsTracker

    for interval, every in ((0.1, 4.9), (1.0, 4.0), (5.0, 0.0), (15.0, 0.0)):
        tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=interval)
        assert tracker._checkpoint_every() == pytest.approx(every)
        # a checkpoint at most every `every` s, taken at a tick: the gap is at most max(interval, 5 s)
        assert every + interval <= max(interval, 5.0) + 1e-9


@pytest.mark.parametrize("mode", ["append", "update"])
def test_a_checkpoint_whose_run_row_reached_the_csv_is_dropped_not_written_again(state_dir: Path, out_dir: Path,
                                                                                 mode: str) -> None:
    """A second signal can end the process between the final row's write and the checkpoint's removal."""
    output = FileOutput(output_dir=str(out_dir), on_csv_write=mode)
    real = os.path.realpath(output.save_file_path)
    output.write_row(row("other", duration=99.0))
    output.write_row(row("finished", duration=30.0))  # the final row, written by the run before it died
    output.write_row(row("cut-short", duration=5.0))  # a flush row, older than that run's checkpoint
    folder = state.runs_dir(real)
    finished = plant(folder, "finished", real, dead_identity(), mode=mode, row=row("finished", duration=30.0))
    cut_short = plant(folder, "cut-short", real, dead_identity(), mode=mode, row=row("cut-short", duration=7.5))
    assert recover_orphans(output.save_file_path, output.write_row) == ["cut-short"]
    assert not finished.exists() and not cut_short.exists()
    with open(real, newline="") as handle:
        rows = [(r["run_id"], r["duration"]) for r in csv.DictReader(handle)]
    expected = [("other", "99.0"), ("finished", "30.0")]
    assert rows == expected + ([("cut-short", "5.0"), ("cut-short", "7.5")] if mode == "append" else
                               [("cut-short", "7.5")])
