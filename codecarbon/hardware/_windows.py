"""Windows' own way of reading the CPU facts and times: the registry and psutil, never /proc or os.pread.

CPU time: psutil reports ``user``, ``system``, ``idle``, ``interrupt`` and ``dpc``, where ``system`` is kernel
time less idle and already holds the interrupt and DPC time, so summing every field would count those twice.
"""

from __future__ import annotations

import importlib
import platform
from typing import Any, Optional

_CPU_KEY = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"


def cpu_name() -> Optional[str]:
    """The CPU's marketing name from the registry (what Task Manager shows), no process spawned."""
    try:
        winreg: Any = importlib.import_module("winreg")
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, _CPU_KEY) as key:
            return str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).strip() or None
    except (ImportError, OSError):
        return platform.processor() or None


def busy_and_total_seconds(times: Any) -> tuple[float, float]:
    """(busy, busy + idle) CPU seconds from ``psutil.cpu_times()`` on Windows."""
    busy = float(times.user) + float(times.system)
    return busy, busy + float(times.idle)
