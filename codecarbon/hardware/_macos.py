"""macOS's own way of reading the CPU facts and times: sysctl and psutil, never /proc or cgroups."""

from __future__ import annotations

import subprocess
from typing import Any, Optional


def cpu_name() -> Optional[str]:
    """``machdep.cpu.brand_string`` ("Apple M2 Pro", "Intel(R) Core(TM) i7-..."): one short process, the
    cheapest reliable source there."""
    try:
        out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                             timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def busy_and_total_seconds(times: Any) -> tuple[float, float]:
    """(busy, busy + idle) CPU seconds from ``psutil.cpu_times()`` on macOS (user, nice, system, idle)."""
    busy = float(times.user) + float(getattr(times, "nice", 0.0)) + float(times.system)
    return busy, busy + float(times.idle)
