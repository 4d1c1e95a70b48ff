"""Machine utilisation each tick, without blocking: CPU-time deltas and one small memory read.

CPU percent is the busy share of the CPUs available to us since the previous ``sample()`` (the container's
quota when there is one). RAM is MemTotal − MemAvailable from ``<proc_root>/meminfo`` (psutil elsewhere), or the
container's own usage against its limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from codecarbon.hardware.attribution import (
    CgroupLimits,
    CpuClock,
    CpuTimes,
    _pread_head,
    load_fraction,
    read_cgroup_limits,
    read_cgroup_memory_used,
)
from codecarbon.hardware.base import Utilization

_GIB = 1024 ** 3


class UtilizationMeter:
    """``sample()`` → ``Utilization`` for the interval since the previous call (or construction)."""

    def __init__(self, seams: Optional[object] = None, *, clock: Optional[CpuClock] = None,
                 limits: Optional[CgroupLimits] = None) -> None:
        proc_root = Path(getattr(seams, "proc_root", "/proc"))
        sysfs_root = Path(getattr(seams, "sysfs_root", "/sys"))
        self._limits = limits if limits is not None else read_cgroup_limits(proc_root, sysfs_root / "fs" / "cgroup")
        self._clock = clock or CpuClock(proc_root, self._limits)
        self._meminfo = proc_root / "meminfo"
        self._last: Optional[CpuTimes] = self._safe_read()

    def _safe_read(self) -> Optional[CpuTimes]:
        try:
            return self._clock.read()
        except Exception:
            return None

    def _memory(self) -> tuple[float, float]:
        """(percent used, GiB used)."""
        used_container = read_cgroup_memory_used(self._limits)
        if used_container is not None and self._limits.memory_limit_bytes:
            return 100.0 * used_container / self._limits.memory_limit_bytes, used_container / _GIB
        total = available = None
        try:
            for line in _pread_head(self._meminfo, 256).splitlines():  # MemTotal, MemFree, MemAvailable lead
                if line.startswith(b"MemTotal:"):
                    total = int(line.split()[1]) * 1024
                elif line.startswith(b"MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                if total is not None and available is not None:
                    break
        except (OSError, ValueError, IndexError):
            pass
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
        ram_percent, ram_used = self._memory()
        return Utilization(cpu_percent=cpu, ram_percent=ram_percent, ram_used_gb=ram_used)
