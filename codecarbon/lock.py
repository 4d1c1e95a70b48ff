"""The machine-wide guard behind ``allow_multiple_runs=False``.

It is an OS advisory lock on a file in the temporary directory, not the file's existence: the kernel releases it
when the holding process ends, however it ends, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import os
from typing import Optional


def _default_lockfile() -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), ".codecarbon.lock")


def __getattr__(name: str) -> str:
    if name == "LOCKFILE":  # computed on first use: finding the temp dir touches the disk
        return _default_lockfile()
    raise AttributeError(name)


class LockError(RuntimeError):
    """Another live tracker holds the machine-wide lock."""


class Lock:
    """Exclusive, non-blocking, released by ``release()`` or by the process ending."""

    def __init__(self, path: Optional[str] = None):
        self.lockfile_path = path or _default_lockfile()
        self._fd: Optional[int] = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise LockError naming the holder's pid when it is known."""
        if self._fd is not None:
            return
        fd = os.open(self.lockfile_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if os.name == "nt":  # pragma: no cover
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() if os.name != "nt" else ""
            os.close(fd)
            raise LockError(
                f"another CodeCarbon tracker is running on this machine (pid {holder or 'unknown'}) and "
                "allow_multiple_runs=False; stop it first or set allow_multiple_runs=True"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
