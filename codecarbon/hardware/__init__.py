"""Energy sources, one module per kind of hardware, behind the interface in ``base.py``.

This package is a facade: every name is resolved on first use, so ``import codecarbon.hardware`` loads nothing
(psutil, pynvml and amdsmi least of all). Where each job lives:

- ``detect``: the policy that picks, once per process, which sources measure or estimate the CPU, GPUs and RAM
  (``detect_hardware``, ``HardwareOptions``, ``SystemSeams``, ``clear_cache``).
- ``base``: the ``EnergySource`` interface and the ``Hardware`` inventory detection returns.
- ``attribution``: CPU-time clocks, cgroup limits and a process tree's share (process mode, containers).
- ``utilization``: the per-tick CPU and RAM utilisation figures.
- one module per source: ``rapl``, ``emi`` (Windows' Energy Meter Interface), ``nvidia``, ``amd``,
  ``powermetrics``, ``power_gadget``, ``cpu_estimate``, ``ram``; ``gpus`` holds what the GPU vendors share.
- ``_linux``, ``_macos``, ``_windows``: each operating system's own way of reading the same facts.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codecarbon.hardware.base import EnergySource, Hardware, Utilization
    from codecarbon.hardware.detect import HardwareOptions, SystemSeams, clear_cache, detect_hardware
    from codecarbon.hardware.utilization import UtilizationMeter

#: public name -> the submodule that defines it
_HOMES = {
    "HardwareOptions": "detect",
    "SystemSeams": "detect",
    "detect_hardware": "detect",
    "clear_cache": "detect",
    "UtilizationMeter": "utilization",
    "EnergySource": "base",
    "Hardware": "base",
    "Utilization": "base",
}

__all__ = ["HardwareOptions", "SystemSeams", "detect_hardware", "UtilizationMeter", "clear_cache",
           "EnergySource", "Hardware", "Utilization"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'codecarbon.hardware' has no attribute {name!r}")
    value = getattr(import_module(f"codecarbon.hardware.{home}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
