"""The checkpoint's two parts (core/state.py): the row written once, then small tick records recovery applies."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codecarbon.core import state
from codecarbon.core.state import TICK_COLUMNS, Checkpoint, ProcessIdentity, recover_orphans, tick_values
from codecarbon.output_methods.file import FileOutput

REPO = Path(__file__).resolve().parents[1]
POSIX_ONLY = pytest.mark.skipif(not hasattr(os, "fork"), reason="SIGKILL of a child")


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "state"
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(root))
    return root


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def dead_checkpoint(csv_path: Path, run_id: str) -> Checkpoint:
    """A checkpoint whose process is already gone, as a killed run leaves it."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    checkpoint = Checkpoint(csv_path, run_id)
    me = ProcessIdentity.current()
    checkpoint._identity = {"pid": child.pid, "started": "ticks-1", "boot": me.boot, "host": me.host}
    return checkpoint


def a_row(run_id: str, scale: float) -> dict:
    row = {"timestamp": "2026-12-01T10:00:00", "project_name": "crashed", "run_id": run_id, "country_name": "France"}
    row.update({name: scale * (index + 1) for index, name in enumerate(TICK_COLUMNS)})
    return row


def test_a_tick_rewrites_only_its_slot_and_recovery_applies_the_newest(state_dir: Path, tmp_path: Path) -> None:
    output = FileOutput(output_dir=str(tmp_path))
    checkpoint = dead_checkpoint(Path(output.save_file_path), "r1")
    checkpoint.save(a_row("r1", 1.0))
    assert checkpoint.path is not None
    before = checkpoint.path.read_bytes()
    assert checkpoint.save_tick(tick_values(a_row("r1", 2.0)), "2026-12-01T10:00:05")
    assert checkpoint.save_tick(tick_values(a_row("r1", 3.0)), "2026-12-01T10:00:10")
    after = checkpoint.path.read_bytes()
    assert len(after) == len(before)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    slots = checkpoint._slots
    assert slots is not None and changed
    assert all(slots[0] <= i < slots[1] + state._TICK_HEX for i in changed)  # the row itself was not rewritten
    assert json.loads(after)["row"]["duration"] == 1.0  # still valid JSON: the row as first written

    assert recover_orphans(output.save_file_path, output.write_row) == ["r1"]
    [recovered] = csv_rows(Path(output.save_file_path))
    assert recovered["timestamp"] == "2026-12-01T10:00:10" and recovered["country_name"] == "France"
    assert {name: float(recovered[name]) for name in TICK_COLUMNS} == \
        {name: 3.0 * (index + 1) for index, name in enumerate(TICK_COLUMNS)}


def test_a_torn_tick_record_falls_back_to_the_other_slot_then_to_the_row(state_dir: Path, tmp_path: Path) -> None:
    output = FileOutput(output_dir=str(tmp_path))
    for run_id, torn, expected_scale in (("one-torn", 1, 2.0), ("both-torn", 2, 1.0)):
        checkpoint = dead_checkpoint(Path(output.save_file_path), run_id)
        checkpoint.save(a_row(run_id, 1.0))
        checkpoint.save_tick(tick_values(a_row(run_id, 2.0)), "2026-12-01T10:00:05")
        checkpoint.save_tick(tick_values(a_row(run_id, 3.0)), "2026-12-01T10:00:10")
        assert checkpoint.path is not None and checkpoint._slots is not None
        # a kill in the middle of the newest record's write: its first half new, its second half old
        newest = checkpoint._slots[checkpoint._sequence & 1]
        older = checkpoint._slots[(checkpoint._sequence + 1) & 1]
        with open(checkpoint.path, "r+b") as handle:
            for offset in ([newest] if torn == 1 else [newest, older]):
                handle.seek(offset)
                handle.write(state._encode_tick(99, tick_values(a_row(run_id, 9.0)), "x")[: state._TICK_HEX // 2])
        assert recover_orphans(output.save_file_path, output.write_row) == [run_id]
        [recovered] = [r for r in csv_rows(Path(output.save_file_path)) if r["run_id"] == run_id]
        assert float(recovered["duration"]) == expected_scale  # never the torn 9.0
        assert float(recovered["energy_consumed"]) == expected_scale * (TICK_COLUMNS.index("energy_consumed") + 1)


KILLED_MID_RUN = """
import json, os, signal, time
from codecarbon import OfflineEmissionsTracker
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=3600, project_name="killed",
                                  force_cpu_power=100, log_level="error")
tracker.start()  # the thread sleeps an hour; this script ticks it by hand, one checkpoint per tick
run = tracker._run
for _ in range(4):
    time.sleep(0.1)
    reading = tracker._sampler.read()
    tracker._on_tick(reading)
expected = dict(tracker._record(run.start, reading).values)
time.sleep(0.1)
tracker._sampler.read()  # a later reading, never checkpointed: what a kill may lose
print(json.dumps(expected), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@POSIX_ONLY
def test_a_run_killed_after_several_ticks_is_recovered_with_its_last_checkpointed_energy(tmp_path: Path) -> None:
    state_root = tmp_path / "state"
    env = dict(os.environ, PYTHONPATH=str(REPO), CODECARBON_STATE_DIR=str(state_root))
    child = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED_MID_RUN)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr
    expected = json.loads(child.stdout.splitlines()[-1])
    [checkpoint] = list(state_root.glob("runs/*/*.json"))
    payload = json.loads(checkpoint.read_bytes())
    assert payload["row"]["duration"] < expected["duration"]  # the row on disk is the first tick's: the later
    # ticks went into the small records only

    recover = "from codecarbon.core.state import recover_orphans\n" \
              "from codecarbon.output_methods.file import FileOutput\n" \
              "o = FileOutput(output_dir='.')\nprint(recover_orphans(o.save_file_path, o.write_row))"
    result = subprocess.run([sys.executable, "-c", recover], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    [row] = csv_rows(tmp_path / "emissions.csv")
    assert row["run_id"] == expected["run_id"] and row["project_name"] == "killed"
    assert row["timestamp"] == expected["timestamp"]
    for name in ("duration", "emissions", "cpu_energy", "ram_energy", "energy_consumed", "cpu_power",
                 "cpu_utilization_percent", "carbon_intensity"):
        assert float(row[name]) == pytest.approx(expected[name], rel=1e-12), name
    assert float(row["cpu_energy"]) > 0
    for name in ("os", "cpu_model", "country_name", "intensity_source", "cpu_measure"):
        assert row[name] == str(expected[name])
    assert not list(state_root.glob("runs/*/*.json"))
