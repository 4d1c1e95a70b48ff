"""The one file helper: atomic writes, appends that leave no half row, advisory locks, no planted symlinks.

Every file this package creates or extends goes through here, so the same guarantees hold everywhere:

- ``atomic_write`` writes a temporary file created with ``O_EXCL | O_NOFOLLOW`` (mode 0600 by default) beside the
  target and renames it over the target, so a reader sees the old content or the new, never a mix.
- ``open_append`` opens a file for appending, creating it with ``O_EXCL`` when it is absent, and never follows a
  symbolic link planted at the path (``O_NOFOLLOW``; a check of the opened file where the flag does not exist).
- ``append_all`` writes all the bytes or none: a short write (a full disk, a file size limit) is rolled back by
  truncating to the size the file had, so no half line stays.
- ``FileLock`` / ``lock_fd`` take an exclusive advisory lock that waits as long as asked: ``flock`` on POSIX (plus
  a lock per file inside the process, since some network filesystems emulate ``flock`` with per-process record
  locks), ``msvcrt`` on Windows polled without its own ten-second give-up. It is the package's only lock: a
  forked child drops the copies it inherited, so a parent's released lock is never kept alive by its children.
- ``encode_text`` / ``escape_unencodable``: text UTF-8 cannot hold (bytes carried by ``surrogateescape``) is
  written as escapes, never lost with its row.
- ``unique_file`` creates a new file under an unguessable name (fallback rows, spooled payloads).

Platform checks read ``sys.platform`` at call time, so tests can simulate Windows with a fake ``msvcrt``.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional, Union

from codecarbon.support.errors import CodeCarbonError, LockingUnavailable

PathLike = Union[str, "os.PathLike[str]"]

O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
O_BINARY: int = getattr(os, "O_BINARY", 0)
O_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)

#: Windows locks a byte range, and its locks are mandatory: lock a byte far beyond any real content so readers and
#: writers of the data itself are never blocked by it (below 2 GiB: the C runtime's offsets may be 32-bit).
WINDOWS_LOCK_OFFSET = 0x7FFFFFF0
_WINDOWS_POLL_S = (0.005, 0.2)  # first and longest pause between attempts

#: the mode the user's outputs are created with: their umask decides, as for any file their program writes
#: (our private files, in the state directory, are 0600)
USER_FILE_MODE = 0o666

#: the seam through which every byte is written (tests replace it to simulate a disk that fills mid-write)
_write = os.write


class LockTimeout(CodeCarbonError, TimeoutError):
    """The lock was not obtained within the time asked for."""


class SymlinkRefused(CodeCarbonError, OSError):
    """A symbolic link sits where we create or append a file; we do not follow it."""

    def __init__(self, path: PathLike):
        super().__init__(errno.ELOOP, "a symbolic link is in the way; not followed", os.fspath(path))


def _is_windows() -> bool:
    return sys.platform.startswith("win")


# --- opening -------------------------------------------------------------------------------------------------------
def open_no_follow(path: PathLike, flags: int, mode: int = 0o600) -> int:
    """``os.open`` that refuses a symbolic link at the last component of ``path``.

    Where the OS has no ``O_NOFOLLOW`` (Windows), the path is checked with ``lstat`` before opening; that check is
    racy, but there creating a symbolic link needs a privilege an attacker in the same folder rarely has."""
    if not O_NOFOLLOW or _is_windows():
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                raise SymlinkRefused(path)
        except FileNotFoundError:
            pass
    try:
        return os.open(path, flags | O_NOFOLLOW | O_BINARY | O_CLOEXEC, mode)
    except OSError as error:
        if error.errno == errno.ELOOP or (error.errno == errno.EMLINK and sys.platform.startswith("freebsd")):
            raise SymlinkRefused(path) from None
        raise


def open_append(path: PathLike, mode: int = 0o644) -> tuple[int, bool]:
    """Open ``path`` for appending (and reading), creating it exclusively when absent; returns ``(fd, created)``.

    Never follows a symbolic link at the path, whether it was there before or appears meanwhile: an existing path
    is opened with ``O_NOFOLLOW`` and a new one with ``O_CREAT | O_EXCL``, which fails on any existing entry."""
    for _attempt in range(16):
        try:
            return open_no_follow(path, os.O_RDWR | os.O_APPEND), False
        except FileNotFoundError:
            pass
        try:
            return open_no_follow(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL, mode), True
        except FileExistsError:
            continue  # somebody created it meanwhile: open theirs
    raise OSError(errno.EAGAIN, "the file keeps appearing and disappearing", os.fspath(path))


def is_regular_file(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


def same_file(fd: int, path: PathLike) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (it may have been replaced or moved meanwhile)."""
    try:
        current = os.lstat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino)


# --- text ----------------------------------------------------------------------------------------------------------
@functools.cache
def _surrogate() -> re.Pattern[str]:
    """Compiled at the first non-ASCII text, not at import (issue 16)."""
    return re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    # a byte that was not UTF-8, carried by Python as U+DC80..U+DCFF (``surrogateescape``: os.environ, argv,
    # file names): shown as that byte; any other lone surrogate as its code point
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def escape_unencodable(text: str, where: str = "") -> str:
    """``text`` with every character UTF-8 cannot encode (lone surrogates) written as an escape, so that no
    row, report or payload is lost over an encoding. The first time in a process it is said once."""
    if text.isascii() or not _surrogate().search(text):
        return text
    from codecarbon.external.logger import log_once

    log_once("text-escaped", 30, "a text value (%s) held bytes that are not UTF-8 (from os.environb, a file name "
             "or a surrogateescape'd string); they are written as \\xNN escapes (said once)",
             where or "a row's column")
    return _surrogate().sub(_escape_surrogate, text)


def encode_text(text: str, where: str = "") -> bytes:
    """UTF-8 bytes of ``text``, never failing: see ``escape_unencodable``."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return escape_unencodable(text, where).encode("utf-8")


# --- writing -------------------------------------------------------------------------------------------------------
def write_all(fd: int, data: bytes) -> None:
    """Write every byte (``os.write`` may write fewer than asked)."""
    view = memoryview(data)
    while view:
        written = _write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "no byte could be written")
        view = view[written:]


def append_all(fd: int, data: bytes) -> None:
    """Append all of ``data`` or nothing: on a failed or short write the file is cut back to its former size.

    The caller holds the file's lock, so nobody else appended meanwhile and the former size is the right cut."""
    size = os.fstat(fd).st_size
    try:
        write_all(fd, data)
    except BaseException:
        try:
            os.ftruncate(fd, size)
        except OSError:  # pragma: no cover - nothing more we can do; the caller reports the write error
            pass
        raise


def append_bytes(path: PathLike, data: bytes, mode: int = 0o644) -> bool:
    """Append ``data`` to ``path`` (created when absent) under its lock, all or nothing; True when it was created."""
    fd, created = open_append(path, mode)
    try:
        lock_fd(fd)
    except BaseException:
        os.close(fd)
        raise
    try:
        append_all(fd, data)
        return created
    finally:
        close_locked(fd)


def atomic_write(path: PathLike, data: Union[bytes, str], mode: int = 0o600, fsync: bool = False,
                 exact_mode: bool = False) -> None:
    """Replace ``path`` with ``data`` through a temporary file and a rename (the one atomic write of the package).

    The temporary file is created with ``O_EXCL | O_NOFOLLOW`` under an unguessable name, so nothing planted can
    be written through; the rename replaces a symbolic link at ``path`` itself rather than following it.
    ``mode`` is filtered by the umask, as for any file a program creates: 0o666 for the user's outputs, 0o600
    (the default) for private files; ``exact_mode`` sets it as given (keeping the mode of a file we replace).
    Text is encoded as UTF-8, a character it cannot hold written as an escape (see ``encode_text``)."""
    target = Path(path)
    payload = encode_text(data, os.fspath(path)) if isinstance(data, str) else data
    temp = target.with_name(f".{target.name}.{os.urandom(8).hex()}.tmp")
    fd = open_no_follow(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            if exact_mode and hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            write_all(fd, payload)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def unique_file(directory: PathLike, prefix: str, suffix: str, data: bytes = b"", mode: int = 0o600) -> Path:
    """Create a new file (0600, unguessable name, ``O_EXCL``) in ``directory`` holding ``data``; returns its path."""
    for _attempt in range(8):
        path = Path(directory) / f"{prefix}{os.urandom(12).hex()}{suffix}"
        try:
            fd = open_no_follow(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        try:
            append_all(fd, data)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        os.close(fd)
        return path
    raise OSError(errno.EEXIST, "could not create a unique file", os.fspath(directory))


def read_bytes_no_follow(path: PathLike, limit: Optional[int] = None) -> bytes:
    """Read a regular file without following a symbolic link at ``path`` (at most ``limit`` bytes)."""
    fd = open_no_follow(path, os.O_RDONLY)
    try:
        if not is_regular_file(fd):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        chunks: list[bytes] = []
        remaining = limit if limit is not None else -1
        while remaining != 0:
            chunk = os.read(fd, 1 << 16 if remaining < 0 else min(remaining, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            if remaining > 0:
                remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# --- locking -------------------------------------------------------------------------------------------------------
#: the one lock of the package: ``lock_fd`` / ``FileLock`` below. The machine lock (codecarbon/lock.py), device
#: ownership (hardware/ownership.py), CSV writes and recoveries all take it.
_inode_locks: dict[tuple[int, int], threading.Lock] = {}
_inode_locks_guard = threading.Lock()
_held: dict[int, threading.Lock] = {}  # fd -> the in-process lock taken with it


def _drop_inherited_locks() -> None:
    """In a forked child: hold none of the parent's locks.

    ``flock`` belongs to the open file, which a fork shares: a child that kept the descriptor would keep the
    parent's lock alive after the parent released it (a device owned by nobody, a machine lock nobody can take,
    for as long as a DataLoader worker or a Pool lives). The child closes its copies, which leaves the parent's
    lock as it is (no ``LOCK_UN``: that would release it for the parent too), and forgets the in-process locks
    that threads which did not follow it across the fork may hold."""
    global _inode_locks_guard
    for fd in list(_held):
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()
    _inode_locks.clear()
    _inode_locks_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


def _inode_lock(fd: int) -> threading.Lock:
    info = os.fstat(fd)
    key = (info.st_dev, info.st_ino)
    with _inode_locks_guard:
        lock = _inode_locks.get(key)
        if lock is None:
            lock = _inode_locks[key] = threading.Lock()
        return lock


def _remaining(deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def lock_fd(fd: int, blocking: bool = True, timeout_s: Optional[float] = None) -> bool:
    """Take an exclusive advisory lock on the open file ``fd``; release it with ``unlock_fd`` or ``close_locked``
    (closing ``fd`` alone frees the OS lock but not the in-process one).

    ``blocking=False`` tries once; ``timeout_s`` bounds the wait (``LockTimeout`` when it expires); otherwise it
    waits as long as the holder keeps it. Returns False only for a failed non-blocking attempt."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    local = _inode_lock(fd)
    if not blocking:
        if not local.acquire(blocking=False):
            return False
    else:
        wait = _remaining(deadline)
        if not local.acquire(timeout=-1 if wait is None else wait):
            raise LockTimeout(f"lock not obtained within {timeout_s} s")
    try:
        got = _os_lock(fd, blocking, deadline)
    except BaseException:
        local.release()
        raise
    if not got:
        local.release()
        return False
    _held[fd] = local
    return True


def unlock_fd(fd: int) -> None:
    """Release a lock taken by ``lock_fd`` (closing the descriptor also releases the OS lock)."""
    local = _held.pop(fd, None)
    try:
        _os_unlock(fd)
    except OSError:
        pass
    finally:
        if local is not None:
            local.release()


def close_locked(fd: int) -> None:
    """Release the lock on ``fd`` and close it."""
    try:
        unlock_fd(fd)
    finally:
        os.close(fd)


_BUSY = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK, getattr(errno, "EDEADLOCK", errno.EDEADLK)}


def _unavailable(error: OSError) -> LockingUnavailable:
    return LockingUnavailable(error.errno, f"file locks do not work here: {error.strerror}")


def _os_lock(fd: int, blocking: bool, deadline: Optional[float]) -> bool:
    if _is_windows():
        return _windows_lock(fd, blocking, deadline)
    import fcntl

    if blocking and deadline is None:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                return True
            except InterruptedError:  # pragma: no cover - Python retries EINTR itself
                continue
            except OSError as error:
                raise _unavailable(error) from error
    pause = _WINDOWS_POLL_S[0]
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except OSError as error:
            if error.errno not in _BUSY:
                raise _unavailable(error) from error
        if not blocking:
            return False
        left = _remaining(deadline)
        if not left:
            raise LockTimeout("lock not obtained in time")
        time.sleep(min(pause, left))
        pause = min(pause * 2, _WINDOWS_POLL_S[1])


def _windows_lock(fd: int, blocking: bool, deadline: Optional[float]) -> bool:
    """``msvcrt.locking`` with ``LK_NBLCK``, polled: its blocking mode gives up after ten one-second tries."""
    import msvcrt

    pause = _WINDOWS_POLL_S[0]
    while True:
        position = os.lseek(fd, 0, os.SEEK_CUR)
        try:
            os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            return True
        except OSError as error:
            if error.errno not in _BUSY:
                raise _unavailable(error) from error
        finally:
            os.lseek(fd, position, os.SEEK_SET)
        if not blocking:
            return False
        left = _remaining(deadline)
        if left is not None and left <= 0:
            raise LockTimeout("lock not obtained in time")
        time.sleep(pause if left is None else min(pause, left))
        pause = min(pause * 2, _WINDOWS_POLL_S[1])


def _os_unlock(fd: int) -> None:
    if _is_windows():
        import msvcrt

        position = os.lseek(fd, 0, os.SEEK_CUR)
        try:
            os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        finally:
            os.lseek(fd, position, os.SEEK_SET)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


class FileLock:
    """An exclusive advisory lock held through a lock file (created 0600, never through a symbolic link).

    The OS releases it when the holding process ends, however it ends, so a crash never leaves a stale lock; a
    forked child holds none of it (see ``_drop_inherited_locks``). A lock file that its previous holder removed
    while we waited (an old job's folder swept away) is noticed after locking, and the new file is locked."""

    def __init__(self, path: PathLike, mode: int = 0o600):
        self.path = Path(path)
        self._mode = mode
        self._fd: Optional[int] = None
        self._pid = 0

    @property
    def held(self) -> bool:
        return self._fd is not None and self._pid == os.getpid()

    @property
    def fd(self) -> Optional[int]:
        return self._fd if self.held else None

    def acquire(self, blocking: bool = True, timeout_s: Optional[float] = None) -> bool:
        """Take the lock: False when ``blocking`` is False and another holds it; ``LockTimeout`` past
        ``timeout_s``; ``LockingUnavailable`` where the file system cannot lock; ``SymlinkRefused`` for a link."""
        if self.held:
            return True
        self._fd = None  # a copy inherited through fork: its descriptor was closed in this child
        for _attempt in range(16):
            fd, _created = open_append(self.path, self._mode)
            try:
                got = lock_fd(fd, blocking=blocking, timeout_s=timeout_s)
            except BaseException:
                os.close(fd)
                raise
            if not got:
                os.close(fd)
                return False
            if same_file(fd, self.path):
                self._fd, self._pid = fd, os.getpid()
                return True
            close_locked(fd)  # we locked a file its holder had just removed: lock the one at the path now
        raise OSError(errno.EAGAIN, "the lock file keeps being replaced", os.fspath(self.path))

    def note_holder(self) -> None:
        """Write our pid in the lock file, for messages naming the holder (best effort)."""
        fd = self.fd
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
            write_all(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None and self._pid == os.getpid():  # in a forked child the copy was already closed
            close_locked(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextmanager
def locked(path: PathLike, timeout_s: Optional[float] = None) -> Iterator[FileLock]:
    """Hold the lock file ``path`` for the block."""
    lock = FileLock(path)
    lock.acquire(timeout_s=timeout_s)
    try:
        yield lock
    finally:
        lock.release()
