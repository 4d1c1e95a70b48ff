"""macOS code paths, simulated on Linux (``sys.platform`` says darwin): no /proc, psutil answers instead."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from codecarbon.core import state
from codecarbon.support import files


@pytest.fixture
def macos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")


def test_process_identity_without_proc(macos) -> None:
    me = state.ProcessIdentity.current()
    assert me.boot is not None and me.boot.startswith("boot-")
    assert me.started is not None and me.started.startswith("t-")
    assert not me.is_gone()
    assert state.ProcessIdentity(me.pid, "t-1.00", me.boot, me.host).is_gone()  # the pid was reused
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert state.ProcessIdentity(child.pid, "t-1.00", me.boot, me.host).is_gone()


def test_locks_use_flock_on_macos(macos, tmp_path: Path) -> None:
    first = files.FileLock(tmp_path / "lock")
    second = files.FileLock(tmp_path / "lock")
    assert first.acquire(blocking=False)
    assert not second.acquire(blocking=False)
    first.release()
    assert second.acquire(blocking=False)
    second.release()


def test_state_dir_on_macos_follows_xdg_rules(macos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODECARBON_STATE_DIR", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    assert state.runs_dir(tmp_path / "emissions.csv").is_relative_to(Path.home() / ".local" / "state")


def test_a_boot_time_that_wobbles_never_marks_a_live_run_dead(macos, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """psutil derives the boot time from the clock and the uptime: it moves by a second between two reads."""
    import psutil

    from codecarbon.output_methods.file import FileOutput

    real_boot = psutil.boot_time()
    wobble = iter([0.4, 1.6] * 50)  # int(boot time) differs by one second from read to read
    monkeypatch.setattr(psutil, "boot_time", lambda: real_boot + next(wobble))
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(tmp_path / "state"))
    me = state.ProcessIdentity.current()
    assert state.ProcessIdentity.current().boot != me.boot  # the wobble this test is about
    assert not me.is_gone()
    output = FileOutput(output_dir=str(tmp_path))
    checkpoint = state.Checkpoint(output.save_file_path, "live-run")
    checkpoint.save({"run_id": "live-run", "duration": 1.0})
    assert state.recover_orphans(output.save_file_path, output.write_row) == []  # the live run is left alone
    assert checkpoint.path is not None and checkpoint.path.exists()
    assert not (tmp_path / "emissions.csv").exists()
    after_reboot = f"boot-{int(real_boot) - 3 * 3600}"  # an earlier boot: a pid that lives now is another process
    assert state.ProcessIdentity(me.pid, "t-1.00", after_reboot, me.host).is_gone()
    assert not state.same_boot(after_reboot, me.boot or "")
