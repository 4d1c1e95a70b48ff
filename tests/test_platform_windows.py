"""Windows code paths, simulated on Linux: ``sys.platform`` says win32 and a fake ``msvcrt`` stands in.

The fake follows the documented ``msvcrt.locking`` behaviour: ``LK_NBLCK`` raises ``OSError(EACCES)`` at once
when the byte range is locked by someone else; ``LK_LOCK`` retries ten times a second apart, then raises."""

from __future__ import annotations

import csv
import errno
import os
import signal
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from codecarbon.support import files


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def fake_msvcrt(clock: FakeClock, busy_until: float) -> Any:
    module: Any = types.ModuleType("msvcrt")
    module.LK_UNLCK, module.LK_LOCK, module.LK_NBLCK, module.LK_RLCK, module.LK_NBRLCK = 0, 1, 2, 3, 4
    module.calls = []

    def locking(fd: int, mode: int, nbytes: int) -> None:
        module.calls.append((mode, os.lseek(fd, 0, os.SEEK_CUR), nbytes))
        if mode == module.LK_UNLCK:
            return
        if mode == module.LK_LOCK:  # the documented give-up: ten tries a second apart
            for _ in range(10):
                if clock.now >= busy_until:
                    return
                clock.sleep(1.0)
            raise OSError(errno.EDEADLK, "Resource deadlock avoided")
        if clock.now < busy_until:
            raise OSError(errno.EACCES, "Permission denied")

    module.locking = locking
    return module


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch):
    clock = FakeClock()
    monkeypatch.setattr(files, "time", clock)
    monkeypatch.setattr(sys, "platform", "win32")

    def install(busy_until: float) -> Any:
        module = fake_msvcrt(clock, busy_until)
        monkeypatch.setitem(sys.modules, "msvcrt", module)
        return module

    return clock, install


def test_windows_lock_waits_past_the_ten_second_give_up(tmp_path: Path, windows) -> None:
    clock, install = windows
    msvcrt = install(busy_until=clock.now + 25.0)  # another process holds it for 25 s
    lock = files.FileLock(tmp_path / "lock")
    assert lock.acquire() is True
    assert clock.now >= 1025.0
    assert all(mode != msvcrt.LK_LOCK for mode, _, _ in msvcrt.calls)
    lock.release()
    assert msvcrt.calls[-1][0] == msvcrt.LK_UNLCK


def test_windows_lock_locks_a_byte_far_from_the_data(tmp_path: Path, windows) -> None:
    clock, install = windows
    msvcrt = install(busy_until=0.0)
    path = tmp_path / "rows.csv"
    files.append_bytes(path, b"row\n")
    locks = [(pos, n) for mode, pos, n in msvcrt.calls if mode == msvcrt.LK_NBLCK]
    assert locks == [(files.WINDOWS_LOCK_OFFSET, 1)]
    assert path.read_bytes() == b"row\n"


def test_windows_lock_honours_a_timeout_and_a_non_blocking_try(tmp_path: Path, windows) -> None:
    clock, install = windows
    install(busy_until=clock.now + 60.0)
    lock = files.FileLock(tmp_path / "lock")
    assert lock.acquire(blocking=False) is False
    with pytest.raises(files.LockTimeout):
        lock.acquire(timeout_s=3.0)
    assert not lock.held


def test_hostname_without_uname_does_not_recurse(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from codecarbon.core import state

    monkeypatch.delattr(os, "uname")
    monkeypatch.setattr(socket, "gethostname", lambda: "WINBOX")
    assert state.hostname() == "WINBOX"


def test_liveness_on_windows_never_calls_os_kill(monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.kill(pid, 0)`` terminates the process on Windows; psutil answers instead."""
    import psutil

    from codecarbon.core import state

    def forbidden(*args: Any) -> None:
        raise AssertionError("os.kill called on Windows")

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(os, "kill", forbidden)
    monkeypatch.setattr(psutil, "pid_exists", lambda pid: pid == 4242)
    me = state.ProcessIdentity(4242, None, None, state.hostname())
    assert not me.is_gone()
    assert state.ProcessIdentity(4243, None, None, state.hostname()).is_gone()


def test_machine_lock_on_windows_refuses_at_once_and_lives_in_the_state_dir(
        tmp_path: Path, windows, monkeypatch: pytest.MonkeyPatch) -> None:
    from codecarbon.lock import Lock, LockError

    clock, install = windows
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(tmp_path / "state"))
    install(busy_until=clock.now + 3600.0)  # another tracker holds it
    lock = Lock()
    assert lock.lockfile_path.startswith(str(tmp_path / "state"))
    start = clock.now
    with pytest.raises(LockError):
        lock.acquire()
    assert clock.now == start  # no waiting, no ten-second give-up


def test_csv_writes_on_windows_lock_beside_the_file_in_the_state_dir(
        tmp_path: Path, windows, monkeypatch: pytest.MonkeyPatch) -> None:
    """An open file cannot be replaced on Windows, so ``update`` locks a file of the state directory."""
    from codecarbon.output_methods.file import CsvTable

    clock, install = windows
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(tmp_path / "state"))
    install(busy_until=0.0)
    out = tmp_path / "out"
    out.mkdir()
    table = CsvTable(out / "emissions.csv", columns=("run_id", "emissions"))
    table.append([{"run_id": "a", "emissions": 1.0}])
    table.upsert({"run_id": "a", "emissions": 2.0})
    table.upsert({"run_id": "b", "emissions": 3.0})
    assert (out / "emissions.csv").read_text() == "run_id,emissions\na,2.0\nb,3.0\n"
    assert sorted(p.name for p in out.iterdir()) == ["emissions.csv"]
    assert list((tmp_path / "state" / "locks").glob("csv-*.lock"))


# --- a whole run on Windows before Python 3.12 (no os.set_blocking there) ------------------------------------------
_SIMULATED_RUN = """
import os, sys
import psutil  # imported before the platform changes: its own import checks sys.platform
psutil.cpu_count = lambda logical=True: 8 if logical else 4  # its Linux backend would call os.sysconf
sys.platform = "win32"
for name in ("set_blocking", "pread", "sysconf"):  # what Windows' Python 3.10/3.11 lacks
    if hasattr(os, name):
        delattr(os, name)
from tests.test_platform_windows import FakeClock, fake_msvcrt
sys.modules["msvcrt"] = fake_msvcrt(FakeClock(), busy_until=0.0)
from codecarbon import OfflineEmissionsTracker
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.2, log_level="error")
tracker.start()
print("started" if tracker._run is not None else "not started", flush=True)
if sys.argv[1] == "stop":
    tracker.stop()
    print("stopped", flush=True)
else:
    import time
    time.sleep(120)  # until the test signals us
"""


def _simulated_windows_run(cwd: Path, mode: str) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("CODECARBON_")}
    environment.update(PYTHONPATH=str(Path(__file__).resolve().parents[1]), HOME=str(cwd.parent / "home"))
    return subprocess.Popen([sys.executable, "-c", _SIMULATED_RUN, mode], cwd=cwd, env=environment, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def test_a_tracker_starts_and_stops_on_windows_without_os_set_blocking(cwd: Path) -> None:
    process = _simulated_windows_run(cwd, "stop")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert out.split() == ["started", "stopped"], err
    assert "set_blocking" not in err
    (row,) = _rows(cwd / "emissions.csv")
    assert float(row["energy_consumed"]) > 0 and row["country_iso_code"] == "FRA"


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform.startswith("win"), reason="POSIX host signals")
def test_sigterm_on_windows_without_os_set_blocking_still_writes_the_row(cwd: Path) -> None:
    """The handler's wake-up goes through a socket pair there; the row is written and the signal still ends it."""
    process = _simulated_windows_run(cwd, "wait")
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "started"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGTERM, err
    (row,) = _rows(cwd / "emissions.csv")
    assert float(row["duration"]) > 0
