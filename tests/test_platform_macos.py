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
