"""Windows code paths, simulated on Linux: ``sys.platform`` says win32 and a fake ``msvcrt`` stands in.

The fake follows the documented ``msvcrt.locking`` behaviour: ``LK_NBLCK`` raises ``OSError(EACCES)`` at once
when the byte range is locked by someone else; ``LK_LOCK`` retries ten times a second apart, then raises."""

from __future__ import annotations

import errno
import os
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
