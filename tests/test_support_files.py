"""The one file helper: atomic writes, all-or-nothing appends, locks, and no planted symbolic link followed."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from codecarbon.support import files

POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="POSIX file semantics")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of its own (the shared tmp_path also holds the test's HOME and working directory)."""
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_atomic_write_replaces_content_privately_and_leaves_no_temporary(folder: Path) -> None:
    target = folder / "state.json"
    target.write_text("old")
    files.atomic_write(target, '{"new": 1}')
    assert target.read_text() == '{"new": 1}'
    assert _mode(target) == 0o600
    assert [p.name for p in folder.iterdir()] == ["state.json"]


def test_atomic_write_that_fails_keeps_the_old_content(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = folder / "state.json"
    target.write_text("old")

    def full_disk(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_write", full_disk)
    with pytest.raises(OSError):
        files.atomic_write(target, "new content")
    assert target.read_text() == "old"
    assert [p.name for p in folder.iterdir()] == ["state.json"]


@POSIX_ONLY
def test_atomic_write_replaces_a_planted_symlink_instead_of_writing_through_it(folder: Path) -> None:
    victim = folder / "victim"
    victim.write_text("precious")
    target = folder / "state.json"
    target.symlink_to(victim)
    files.atomic_write(target, "ours")
    assert victim.read_text() == "precious"
    assert not target.is_symlink() and target.read_text() == "ours"


@POSIX_ONLY
def test_open_append_refuses_a_planted_symlink(folder: Path) -> None:
    victim = folder / "victim"
    victim.write_text("precious")
    planted = folder / "emissions.csv"
    planted.symlink_to(victim)
    with pytest.raises(files.SymlinkRefused):
        files.open_append(planted)
    dangling = folder / "new.csv"
    dangling.symlink_to(folder / "would-be-created")
    with pytest.raises(files.SymlinkRefused):
        files.append_bytes(dangling, b"row\n")
    assert victim.read_text() == "precious"
    assert not (folder / "would-be-created").exists()


def test_open_append_creates_once_then_appends(folder: Path) -> None:
    path = folder / "rows.csv"
    assert files.append_bytes(path, b"a\n", mode=0o640) is True
    assert files.append_bytes(path, b"b\n") is False
    assert path.read_bytes() == b"a\nb\n"
    if os.name != "nt":
        assert _mode(path) == 0o640 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_a_short_write_is_rolled_back(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = folder / "rows.csv"
    path.write_bytes(b"header\nrow1\n")
    calls = []

    def fills_up(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return os.write(fd, bytes(data[:3]))  # the disk takes three bytes, then is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_write", fills_up)
    with pytest.raises(OSError):
        files.append_bytes(path, b"row2,with,many,fields\n")
    assert path.read_bytes() == b"header\nrow1\n"


@POSIX_ONLY
def test_a_file_size_limit_hit_mid_row_leaves_no_half_row(folder: Path) -> None:
    """A real short write: RLIMIT_FSIZE in a child makes the kernel stop the write part-way (EFBIG after)."""
    path = folder / "rows.csv"
    path.write_bytes(b"header\n" + b"x" * 93)  # 100 bytes
    script = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (120, 120))
        from codecarbon.support import files
        try:
            files.append_bytes({str(path)!r}, b"y" * 50 + b"\\n")
        except OSError as error:
            print("failed", error.errno)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert "failed" in result.stdout, result.stderr
    assert path.read_bytes() == b"header\n" + b"x" * 93


def test_unique_files_are_private_and_distinct(folder: Path) -> None:
    made = {files.unique_file(folder, "rows-", ".csv", b"data") for _ in range(20)}
    assert len(made) == 20
    for path in made:
        assert path.read_bytes() == b"data"
        if os.name != "nt":
            assert _mode(path) == 0o600
        assert len(path.name) >= len("rows-.csv") + 24  # 96 random bits in the name


def test_lock_excludes_other_threads(folder: Path) -> None:
    lock_path = folder / "lock"
    inside = []
    overlap = []

    def worker() -> None:
        for _ in range(30):
            with files.locked(lock_path):
                inside.append(1)
                if len(inside) > 1:
                    overlap.append(1)
                time.sleep(0.0005)
                inside.pop()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not overlap


def test_lock_excludes_another_process_until_it_ends(folder: Path) -> None:
    lock_path = folder / "lock"
    script = textwrap.dedent(f"""
        import sys, time
        from codecarbon.support import files
        lock = files.FileLock({str(lock_path)!r})
        lock.acquire()
        print("held", flush=True)
        sys.stdin.readline()
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        mine = files.FileLock(lock_path)
        assert mine.acquire(blocking=False) is False
        with pytest.raises(files.LockTimeout):
            mine.acquire(timeout_s=0.05)
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(timeout=30)
        assert mine.acquire(timeout_s=10) is True
        mine.release()
    finally:
        child.kill()
        child.communicate()


def test_lock_released_by_close_locked_can_be_taken_again(folder: Path) -> None:
    fd, _ = files.open_append(folder / "f")
    assert files.lock_fd(fd)
    files.close_locked(fd)
    fd, _ = files.open_append(folder / "f")
    assert files.lock_fd(fd, blocking=False)
    files.close_locked(fd)


def test_read_bytes_no_follow(folder: Path) -> None:
    path = folder / "data"
    path.write_bytes(b"0123456789")
    assert files.read_bytes_no_follow(path) == b"0123456789"
    assert files.read_bytes_no_follow(path, limit=4) == b"0123"
    if os.name != "nt":
        link = folder / "link"
        link.symlink_to(path)
        with pytest.raises(files.SymlinkRefused):
            files.read_bytes_no_follow(link)


class _ForkedChild:
    """A child forked while a lock is held, alive until closed (a DataLoader worker, a Pool process)."""

    def __init__(self, in_child=None) -> None:
        self._read, self._write = os.pipe()
        self._answer_read, answer_write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - runs in the child
            try:
                os.close(self._write)
                os.write(answer_write, (in_child() if in_child else "ready").encode())
                os.read(self._read, 1)
            finally:
                os._exit(0)
        os.close(self._read)
        os.close(answer_write)
        self.answer = os.read(self._answer_read, 200).decode()
        os.close(self._answer_read)

    def close(self) -> None:
        os.close(self._write)
        os.waitpid(self.pid, 0)


def _taken_by_another_process(path: Path) -> bool:
    code = f"from codecarbon.support import files; print(files.FileLock({str(path)!r}).acquire(blocking=False))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    return done.stdout.strip() == "True"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_holds_none_of_its_parents_locks(folder: Path) -> None:
    lock = files.FileLock(folder / "lock")
    assert lock.acquire(blocking=False)

    def in_child() -> str:
        seen = f"held={lock.held}"
        lock.release()  # the child's copy: must not release the parent's lock
        return seen

    child = _ForkedChild(in_child)
    try:
        assert child.answer == "held=False"
        assert lock.held and not _taken_by_another_process(folder / "lock")  # the parent still holds it
        lock.release()
        assert _taken_by_another_process(folder / "lock")  # the living child does not keep it alive
        assert lock.acquire(blocking=False)
        lock.release()
    finally:
        child.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_the_machine_lock_is_free_again_after_stop_while_a_forked_child_lives(folder: Path) -> None:
    from codecarbon.lock import Lock, LockError

    first = Lock(str(folder / "machine.lock"))
    first.acquire()
    child = _ForkedChild()
    try:
        with pytest.raises(LockError, match=f"pid {os.getpid()}"):
            Lock(str(folder / "machine.lock")).acquire()
        first.release()
        again = Lock(str(folder / "machine.lock"))
        again.acquire()  # before: "another CodeCarbon tracker is running" for as long as the child lived
        assert again.held
        again.release()
    finally:
        child.close()


@pytest.mark.skipif(os.name == "nt", reason="symbolic links")
def test_a_lock_file_planted_as_a_link_is_never_followed(folder: Path) -> None:
    victim = folder / "victim"
    victim.write_text("precious")
    (folder / "lock").symlink_to(victim)
    (folder / "dangling").symlink_to(folder / "would-be-created")
    for name in ("lock", "dangling"):
        with pytest.raises(files.SymlinkRefused):
            files.FileLock(folder / name).acquire(blocking=False)
    assert victim.read_text() == "precious" and not (folder / "would-be-created").exists()
