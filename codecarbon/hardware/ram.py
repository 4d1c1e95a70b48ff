"""RAM power: a model from the memory size, a forced constant, and the memory size itself.

Model (CodeCarbon 3.x's, kept for comparability): estimate the DIMM count from the size — ≤2 GB: 1, ≤16 GB: 2,
≤64 GB: 4, ≤128 GB: 8, above: size divided by the largest standard module (128, 64, 32, 16, 8 or 4 GB) not
exceeding an eighth of it, rounded up, at most 32 — then 5 W per DIMM on x86 (1.5 W on ARM), counting the first
4 in full, the 5th–8th at 90 %, the 9th–16th at 80 % and the rest at 70 % (large banks share buffers and idle
more), with a floor of 10 W on x86 and 3 W on ARM (a board never draws less for its memory).
The size is GiB, limited by the container's memory limit when there is one.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from codecarbon.hardware.attribution import CgroupLimits
from codecarbon.hardware.base import EnergySource

_MODULE_SIZES_GB = (128, 64, 32, 16, 8, 4)


def dimm_count(size_gb: float) -> int:
    """Estimated number of memory modules for ``size_gb`` GB of RAM."""
    if size_gb <= 2:
        return 1
    if size_gb <= 16:
        return 2
    if size_gb <= 64:
        return 4
    if size_gb <= 128:
        return 8
    module = next((m for m in _MODULE_SIZES_GB if m <= size_gb / 8), _MODULE_SIZES_GB[-1])
    return min(32, math.ceil(size_gb / module))


def ram_power_w(size_gb: float, *, arm: bool = False) -> float:
    """Watts drawn by ``size_gb`` GB of RAM under the model above."""
    per_dimm = 1.5 if arm else 5.0
    count = dimm_count(size_gb)
    weighted = (min(count, 4) + 0.9 * max(0, min(count, 8) - 4) + 0.8 * max(0, min(count, 16) - 8)
                + 0.7 * max(0, count - 16))
    return max(3.0 if arm else 10.0, per_dimm * weighted)


def read_total_bytes(proc_root: Path = Path("/proc"), limits: Optional[CgroupLimits] = None) -> int:
    """Memory available to us: MemTotal (or psutil's total), capped by the cgroup memory limit."""
    total: Optional[int] = None
    if sys.platform.startswith("linux"):
        try:
            with open(proc_root / "meminfo", "rb") as handle:
                for line in handle:
                    if line.startswith(b"MemTotal:"):
                        total = int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            total = None
    if total is None:
        import psutil

        total = int(psutil.virtual_memory().total)
    if limits is not None and limits.memory_limit_bytes:
        total = min(total, limits.memory_limit_bytes)
    return total


class ConstantPowerSource(EnergySource):
    """A component drawing a fixed power: energy = watts × elapsed time."""

    def __init__(self, power_w: float, *, component: str = "ram", method: str = "ram-model",
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if not power_w >= 0:
            raise ValueError(f"power_w: expected a non-negative number of watts, got {power_w!r}")
        self.power_w = float(power_w)
        self.component = component  # type: ignore[assignment]
        self.method = method
        self._monotonic = monotonic
        self._opened_at: Optional[float] = None

    def open(self) -> None:
        self._opened_at = self._monotonic()

    def read_joules(self) -> float:
        if self._opened_at is None:
            return 0.0
        return self.power_w * max(0.0, self._monotonic() - self._opened_at)

    def max_read_gap_s(self) -> Optional[float]:
        return None  # watts × time since open(): exact whenever it is read
