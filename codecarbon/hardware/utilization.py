"""Machine utilisation each tick, without blocking: CPU-time deltas and a memory figure refreshed every few s.

CPU percent is the busy share of the CPUs available to us since the previous ``sample()`` (the container's
quota when there is one); the CPU clock is shared with the CPU estimate, so one ``/proc/stat`` read serves both.
RAM is MemTotal − MemAvailable from ``<proc_root>/meminfo`` on Linux (psutil elsewhere), or the container's own
usage against its limit. Memory in use moves slowly next to a tick, so it is re-read at most every
``MEMORY_EVERY_S`` and held in between: the time-weighted means the rows report barely move, and the sampling
thread saves most of its memory reads.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from codecarbon.hardware.attribution import CgroupLimits, CpuClock, CpuTimes, load_fraction, read_cgroup_limits
from codecarbon.hardware.base import Utilization

_GIB = 1024 ** 3


class UtilizationMeter:
    """``sample()`` → ``Utilization`` for the interval since the previous call (or construction)."""

    #: seconds a memory reading is reused before the next one
    MEMORY_EVERY_S = 3.0

    def __init__(self, seams: Optional[object] = None, *, clock: Optional[CpuClock] = None,
                 limits: Optional[CgroupLimits] = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        proc_root = Path(getattr(seams, "proc_root", "/proc"))
        sysfs_root = Path(getattr(seams, "sysfs_root", "/sys"))
        if limits is None:  # start() builds a meter: reuse what detection read rather than walk cgroups again
            from codecarbon.hardware.detect import known_cgroup_limits

            limits = known_cgroup_limits(proc_root, sysfs_root)
        self._limits = limits if limits is not None else read_cgroup_limits(proc_root, sysfs_root / "fs" / "cgroup")
        self._clock = clock or CpuClock(proc_root, self._limits)
        self._monotonic = monotonic
        self._meminfo = None
        self._container_memory = None
        if sys.platform.startswith("linux"):
            from codecarbon.hardware._linux import kernel_file

            self._meminfo = kernel_file(proc_root / "meminfo", 256)  # MemTotal, MemFree, MemAvailable lead
            if self._limits.memory_limit_bytes and self._limits.memory_usage_file is not None:
                self._container_memory = kernel_file(self._limits.memory_usage_file, 64)
        self._memory_at: Optional[float] = None
        self._memory_now = (0.0, 0.0)
        self._last: Optional[CpuTimes] = self._safe_read()

    def _safe_read(self) -> Optional[CpuTimes]:
        try:
            return self._clock.read()
        except Exception:  # a clock that cannot be read means no utilisation figure, not a failed tick
            return None

    def _container_used(self) -> Optional[int]:
        if self._container_memory is None:
            return None
        try:
            return int(self._container_memory.read().strip())
        except (OSError, ValueError):
            return None

    def _memory(self) -> tuple[float, float]:
        """(percent used, GiB used) now."""
        used_container = self._container_used()
        if used_container is not None and self._limits.memory_limit_bytes:
            return 100.0 * used_container / self._limits.memory_limit_bytes, used_container / _GIB
        total = available = None
        if self._meminfo is not None:
            from codecarbon.hardware._linux import parse_meminfo

            try:
                total, available = parse_meminfo(self._meminfo.read())
            except (OSError, ValueError, IndexError):
                total = available = None
        if total is None or available is None:
            import psutil

            memory = psutil.virtual_memory()
            total, available = int(memory.total), int(memory.available)
        used = max(0, total - available)
        return (100.0 * used / total if total else 0.0), used / _GIB

    def sample(self) -> Utilization:
        now = self._safe_read()
        cpu = load_fraction(self._last, now) * 100.0 if (self._last and now) else 0.0
        if now is not None:
            self._last = now
        at = self._monotonic()
        if self._memory_at is None or not 0.0 <= at - self._memory_at < self.MEMORY_EVERY_S:
            self._memory_now = self._memory()
            self._memory_at = at
        ram_percent, ram_used = self._memory_now
        return Utilization(cpu_percent=cpu, ram_percent=ram_percent, ram_used_gb=ram_used)
