"""The guard behind ``allow_multiple_runs=False``: one live tracker per user and machine.

It is an OS advisory lock on a file in the per-user state directory, not the file's existence: the OS releases it
when the holding process ends, however it ends, so a crashed run never leaves a stale lock behind. The attempt
never waits (on Windows too: no ``msvcrt`` retry loop that gives up after ten seconds).
"""

from __future__ import annotations

from typing import Optional

from codecarbon.support import files


def _default_lockfile() -> str:
    from codecarbon.support.statedir import lock_path

    return str(lock_path("machine"))


def __getattr__(name: str) -> str:
    if name == "LOCKFILE":  # computed on first use: finding the state directory touches the disk
        return _default_lockfile()
    raise AttributeError(name)


class LockError(RuntimeError):
    """Another live tracker holds the lock."""


class Lock:
    """Exclusive, non-blocking, released by ``release()`` or by the process ending; a forked child never holds
    it (``support.files.FileLock``), so a worker outliving the run cannot keep the next run out."""

    def __init__(self, path: Optional[str] = None):
        self.lockfile_path = path or _default_lockfile()
        self._lock = files.FileLock(self.lockfile_path)

    @property
    def held(self) -> bool:
        return self._lock.held

    def acquire(self) -> None:
        """Take the lock or raise LockError naming the holder's pid when it is known."""
        if self._lock.held:
            return
        if not self._lock.acquire(blocking=False):
            raise LockError(
                f"another CodeCarbon tracker is running on this machine (pid {self._holder() or 'unknown'}) "
                "and allow_multiple_runs=False; stop it first or set allow_multiple_runs=True")
        self._lock.note_holder()  # the pid is only a courtesy for the message above

    def _holder(self) -> str:
        try:
            return files.read_bytes_no_follow(self.lockfile_path, limit=32).decode(errors="replace").strip()
        except OSError:
            return ""

    def release(self) -> None:
        self._lock.release()
