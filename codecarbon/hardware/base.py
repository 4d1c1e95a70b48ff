"""The one interface every energy source implements, and the inventory the tracker gets back.

A source returns *cumulative* energy since it was opened; the tracker only ever subtracts two readings, so a
window of any length is exact. Wraparound, de-duplication, per-device failures and model integration are the
source's business and never leak upward. Sources are read from one sampling thread and, at window boundaries,
from the user's thread: the tracker serialises those calls, so a source needs no lock of its own.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple, Optional, Protocol, runtime_checkable

Component = Literal["cpu", "gpu", "ram"]

#: Linux NVIDIA drivers expose /dev/nvidiactl (containers too) or /proc/driver/nvidia; WSL2 exposes /dev/dxg.
NVIDIA_DRIVER_PATHS = ("/dev/nvidiactl", "/proc/driver/nvidia/version", "/dev/dxg")
#: The amdgpu kernel driver exposes its compute node /dev/kfd and /sys/module/amdgpu.
AMD_DRIVER_PATHS = ("/dev/kfd", "/sys/module/amdgpu")

#: What each vendor's GPU energy needs in Python, and how to install it (README "Extras").
GPU_BINDINGS = {
    "nvidia": ("pynvml", "NVIDIA", "pip install nvidia-ml-py"),
    "amd": ("amdsmi", "AMD", "pip install 'codecarbon[amd]'"),
}


def driver_visible(*paths: str) -> bool:
    """A cheap look for a vendor's kernel driver before paying for its library's import on GPU-less Linux.

    Elsewhere the only reliable test is loading the library, so this says yes."""
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return True
    return any(os.path.exists(path) for path in paths)


def driver_seen(vendor: str, *, dev_root: str | os.PathLike = "/dev", proc_root: str | os.PathLike = "/proc",
                sysfs_root: str | os.PathLike = "/sys") -> bool | None:
    """Whether ``vendor``'s ("nvidia" or "amd") kernel driver is visible under these roots: True or False on
    Linux, None elsewhere (no cheap look exists there; only loading the library tells)."""
    import sys

    if not sys.platform.startswith("linux"):
        return None
    roots = {"/dev": Path(dev_root), "/proc": Path(proc_root), "/sys": Path(sysfs_root)}
    paths = NVIDIA_DRIVER_PATHS if vendor == "nvidia" else AMD_DRIVER_PATHS
    for path in paths:
        top, rest = "/" + path.split("/")[1], path.split("/", 2)[2]
        if (roots[top] / rest).exists():
            return True
    return False


class EnergySource(ABC):
    """Cumulative energy of one component (cpu, gpu or ram) over one or more devices."""

    component: Component
    #: how the figure is obtained: rapl, rapl-psys, rapl-dram, emi, emi-psys, emi-dram, nvml-energy, nvml-power,
    #: amdsmi, powermetrics, power-gadget, tdp-model, ram-model, constant, ... ; "+process-share" appended when
    #: apportioned.
    method: str

    @abstractmethod
    def open(self) -> None:
        """Take the baseline. Called at start(); may be called again for a new run."""

    @abstractmethod
    def read_joules(self) -> float:
        """Energy in joules since open(); never decreases. Must not raise: a failing device is dropped
        (logged once) and its last energy kept."""

    def utilization_percent(self) -> Optional[float]:
        """Mean utilisation of this source's devices now (GPUs), or None when it has no such figure."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release handles (NVML shutdown, subprocesses)."""


@runtime_checkable
class GpuDevice(Protocol):
    """One GPU of a per-device source, as device ownership (``hardware/ownership.py``) reads it.

    ``uuid`` is the GPU's identity on the host, the same in every process ("" when it could not be read; the
    index then stands in); ``index`` is its place in the vendor library's enumeration, shown in the row's
    ``attribution``; ``joules`` is its running energy since the source's ``open()``, advanced by every
    ``read_joules()`` of the source (a device that stopped answering keeps its last figure)."""

    index: int
    uuid: str
    joules: float


@runtime_checkable
class PerDeviceSource(Protocol):
    """A GPU energy source that measures several GPUs and shows each (NVML's and amdsmi's do).

    Its ``read_joules()`` is the sum of its devices' ``joules`` and advances every one of them, so ownership can
    read the source and keep only the devices this process owns. A GPU source without ``devices`` (Apple's,
    through powermetrics) is owned with the host instead."""

    component: Component

    @property
    def devices(self) -> Sequence[GpuDevice]: ...

    def read_joules(self) -> float: ...


class Utilization(NamedTuple):
    """Machine figures sampled each tick; the tracker averages them over each window (time-weighted).
    A named tuple: one is built every tick, and this is the cheapest immutable record Python has."""

    cpu_percent: float
    ram_percent: float
    ram_used_gb: float


@dataclass
class Hardware:
    """What detection found: the sources to read and the static facts rows report."""

    sources: list[EnergySource]
    cpu_model: Optional[str]
    cpu_count: int
    cpu_physical_count: Optional[int]
    gpu_count: int
    gpu_model: str
    gpu_ids: Optional[list] = None
    ram_total_size: float = 0.0  # GB (GiB, as the reference computes it)
    notes: list[str] = field(default_factory=list)
    #: what the user should fix for a complete measurement (e.g. GPU bindings to install); also logged once
    warnings: list[str] = field(default_factory=list)

    def measure_label(self, component: Component) -> str:
        """How the component's figure is obtained, e.g. "rapl" or "tdp-model"; "" when absent."""
        return "+".join(sorted({s.method for s in self.sources if s.component == component}))
