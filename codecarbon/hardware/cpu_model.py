"""What CPU this is and how it is laid out, read without spawning processes on Linux.

Linux: one read of ``<proc_root>/cpuinfo`` gives the model name, the logical CPUs, the sockets ("physical id")
and the physical cores ((physical id, core id) pairs). macOS (``_macos``): ``sysctl -n machdep.cpu.brand_string``.
Windows (``_windows``): the registry's ProcessorNameString, no process at all. Counts there come from psutil.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Final, Optional

from codecarbon.support.record import Record


class CpuInfo(Record):
    """Static facts about the CPUs; read once per process."""

    __slots__ = ("model", "logical", "physical_cores", "sockets")

    def __init__(self, model: Optional[str], logical: int, physical_cores: Optional[int], sockets: int) -> None:
        self.model: Final = model
        self.logical: Final = logical
        self.physical_cores: Final = physical_cores
        self.sockets: Final = sockets


def parse_cpuinfo(text: str) -> CpuInfo:
    """Facts from the text of /proc/cpuinfo (x86 and ARM layouts)."""
    model: Optional[str] = None
    board: Optional[str] = None
    soc: Optional[str] = None
    logical = 0
    sockets: set[str] = set()
    cores: set[tuple[str, str]] = set()
    physical_id = "0"
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        value = value.strip()
        if key == "processor":
            logical += 1
            physical_id = "0"
        elif key == "model name" and model is None and value:
            model = value
        elif key == "physical id":
            physical_id = value
            sockets.add(value)
        elif key == "core id":
            cores.add((physical_id, value))
        elif key == "Model" and value:
            board = value  # ARM boards (Raspberry Pi ...) name the machine here instead
        elif key == "Hardware" and value:
            soc = value
    return CpuInfo(model or board or soc, logical, len(cores) or None, max(1, len(sockets)))


def _linux(proc_root: Path) -> Optional[CpuInfo]:
    try:
        text = (proc_root / "cpuinfo").read_text(errors="replace")
    except OSError:
        return None
    info = parse_cpuinfo(text)
    if info.model is None:
        import platform  # only for a cpuinfo without a model name: the module costs milliseconds to import

        info = CpuInfo(platform.processor() or None, info.logical, info.physical_cores, info.sockets)
    return info


def read_cpu_info(proc_root: Path = Path("/proc")) -> CpuInfo:
    """CPU model and layout for this platform; counts fall back to psutil where the OS file says nothing."""
    info: Optional[CpuInfo] = None
    if sys.platform.startswith("linux"):
        info = _linux(proc_root)
        if info is not None and info.logical > 0:
            return info
    import psutil

    if sys.platform == "darwin":
        from codecarbon.hardware import _macos

        model = _macos.cpu_name()
    elif sys.platform.startswith("win"):
        from codecarbon.hardware import _windows

        model = _windows.cpu_name()
    else:
        import platform

        model = (info.model if info else None) or platform.processor() or None
    return CpuInfo(model, psutil.cpu_count() or os.cpu_count() or 1, psutil.cpu_count(logical=False), 1)
