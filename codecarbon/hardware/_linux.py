"""Linux's own way of reading CPU time, memory and CPU facts: small procfs/sysfs files, read without a process.

The kernel regenerates a procfs or sysfs file each time it is read from offset 0, so a descriptor opened once and
``pread`` at offset 0 each tick gives fresh figures with one system call instead of open/read/close (three, and
a path walk). The sampling thread reads a few of them every tick, so this is where its cost is decided.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional


class KernelFile:
    """One procfs/sysfs file kept open and re-read with ``pread`` from offset 0."""

    __slots__ = ("path", "size", "_fd", "_lock")

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self._fd: Optional[int] = None
        self._lock = threading.Lock()

    def read(self) -> bytes:
        """The first ``size`` bytes now; OSError when the file cannot be read."""
        fd = self._fd
        if fd is None:
            with self._lock:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                fd = self._fd
        try:
            return os.pread(fd, self.size, 0)
        except OSError:
            self.close()  # reopened at the next read (a file replaced under us, e.g. a test's fake tree)
            raise

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def __del__(self, _close=os.close) -> None:  # bound now: at interpreter exit the os global may be gone
        fd = getattr(self, "_fd", None)
        if fd is not None:
            try:
                _close(fd)
            except OSError:
                pass


_files_lock = threading.Lock()
_files: dict[tuple[str, int], KernelFile] = {}


def kernel_file(path: Path, size: int) -> KernelFile:
    """A ``KernelFile`` for ``path``. The kernel's own files (under /proc and /sys) are shared: one descriptor
    per file per process, whoever reads it; any other path (a test's fake tree) gets its own, closed with it."""
    text = str(path)
    if not text.startswith(("/proc/", "/sys/")):
        return KernelFile(path, size)
    key = (text, size)
    found = _files.get(key)
    if found is None:
        with _files_lock:
            found = _files.setdefault(key, KernelFile(path, size))
    return found


def close_kernel_files() -> None:
    """Close every kept descriptor (tests; a forked child that wants none of the parent's)."""
    with _files_lock:
        files = list(_files.values())
        _files.clear()
    for file in files:
        file.close()


# /proc/stat's first line: "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (USER_HZ ticks)
def parse_stat_cpu_line(data: bytes) -> tuple[int, int]:
    """(busy, busy + idle) ticks from the start of /proc/stat. Guest time is already inside user and nice."""
    end = data.find(b"\n")
    fields = (data if end < 0 else data[:end]).split()
    if len(fields) < 5 or fields[0] != b"cpu":
        raise ValueError("not a /proc/stat cpu line")
    values = [int(x) for x in fields[1:9]]
    values += [0] * (8 - len(values))
    user, nice, system, idle, iowait, irq, softirq, steal = values
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def parse_meminfo(data: bytes) -> tuple[Optional[int], Optional[int]]:
    """(MemTotal, MemAvailable) in bytes from the start of /proc/meminfo; None for a field not found."""
    total = available = None
    for line in data.split(b"\n"):
        if line.startswith(b"MemTotal:"):
            total = int(line.split()[1]) * 1024
        elif line.startswith(b"MemAvailable:"):
            available = int(line.split()[1]) * 1024
            break  # MemAvailable comes third; the rest of the file is not needed
    return total, available


def clock_ticks_per_second() -> float:
    """USER_HZ, the unit of /proc/stat (100 on every mainstream kernel)."""
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100.0


def online_cpus() -> Optional[int]:
    """CPUs the kernel has online (what /proc/stat sums over), or None when unknown."""
    try:
        count = os.sysconf("SC_NPROCESSORS_ONLN")
    except (AttributeError, ValueError, OSError):
        return os.cpu_count()
    return count if count and count > 0 else os.cpu_count()
