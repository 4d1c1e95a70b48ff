"""Detection policy: which sources measure (or estimate) the CPU, the GPUs and the RAM on this machine.

``detect_hardware(options, seams)`` decides once per process and per set of options, and returns fresh source
objects each call so that two trackers never share a baseline.

CPU, in order: ``force_cpu_power`` → the load model with that TDP, nothing probed; Linux with readable RAPL →
RAPL (unless ``force_mode_cpu_load``); macOS → powermetrics; Windows → the Energy Meter Interface's RAPL package
channels (``emi``), else Intel Power Gadget; otherwise the load model over the TDP table (``cpu_estimate``). RAM:
``force_ram_power`` → constant; RAPL (or EMI) DRAM when ``rapl_include_dram`` and readable; otherwise the DIMM
model (``ram``). ``tracking_mode="process"`` wraps the
CPU and RAM sources in the process tree's share (``process_share``). GPUs: only where a vendor's driver is
visible are the vendor modules and bindings loaded (``gpus``). Nothing heavy is imported at module load.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from codecarbon.hardware.attribution import CgroupLimits
    from codecarbon.hardware.base import EnergySource, Hardware
    from codecarbon.hardware.cpu_model import CpuInfo
    from codecarbon.hardware.cpu_tdp import TdpMatch
    from codecarbon.hardware.emi import EmiDiscovery
    from codecarbon.hardware.rapl import RaplDiscovery

__all__ = ["HardwareOptions", "SystemSeams", "detect_hardware", "clear_cache"]

_TRACKING_MODES = ("machine", "process")


def _machine_architecture() -> str:
    """``uname -m``: read from the kernel where it can be (importing ``platform`` costs milliseconds)."""
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class HardwareOptions:
    """The configuration that decides what is measured; validated here so bad input fails at construction."""

    tracking_mode: str = "machine"
    force_cpu_power: Optional[float] = None
    force_ram_power: Optional[float] = None
    force_mode_cpu_load: bool = False
    gpu_ids: Optional[list] = None
    rapl_include_dram: bool = False
    rapl_prefer_psys: bool = False

    def __post_init__(self) -> None:
        if self.tracking_mode not in _TRACKING_MODES:
            raise ValueError(f"tracking_mode: expected 'machine' or 'process', got {self.tracking_mode!r}")
        for name in ("force_cpu_power", "force_ram_power"):
            value = getattr(self, name)
            if value is not None and not (_is_number(value) and value > 0):
                raise ValueError(f"{name}: expected a positive number of watts or None, got {value!r}")
        for name in ("force_mode_cpu_load", "rapl_include_dram", "rapl_prefer_psys"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        if self.gpu_ids is not None:
            if not isinstance(self.gpu_ids, (list, tuple)) or not all(
                    isinstance(g, (int, str)) and not isinstance(g, bool) for g in self.gpu_ids):
                raise ValueError(f"gpu_ids: expected a list of GPU indexes or UUID prefixes, got {self.gpu_ids!r}")


@dataclass(frozen=True)
class SystemSeams:
    """Where the hardware is read from: the real system by default, fake trees and modules in tests."""

    sysfs_root: Path = Path("/sys")
    proc_root: Path = Path("/proc")
    nvml: Any = None
    amdsmi: Any = None
    environ: Optional[Mapping[str, str]] = None
    pid: Optional[int] = None
    dev_root: Path = Path("/dev")  # where GPU drivers' device nodes appear (/dev/nvidiactl, /dev/kfd)
    emi: Any = None  # Windows' Energy Meter Interface (an ``emi.EmiSystem``); None: the real one, on Windows

    def __post_init__(self) -> None:
        object.__setattr__(self, "sysfs_root", Path(self.sysfs_root))
        object.__setattr__(self, "proc_root", Path(self.proc_root))
        object.__setattr__(self, "dev_root", Path(self.dev_root))
        if self.pid is not None and (not isinstance(self.pid, int) or isinstance(self.pid, bool) or self.pid <= 0):
            raise ValueError(f"pid: expected a positive process id or None, got {self.pid!r}")


class _Facts:
    """What does not change while the process lives: read once per (roots, RAPL options)."""

    __slots__ = ("cpu", "limits", "ram_total_bytes", "arm", "rapl", "tdp", "tdp_looked_up", "notes")

    def __init__(self, cpu: CpuInfo, limits: CgroupLimits, ram_total_bytes: int, arm: bool,
                 rapl: Optional[RaplDiscovery], tdp: Optional[TdpMatch], tdp_looked_up: bool = False,
                 notes: Optional[list[str]] = None) -> None:
        self.cpu = cpu
        self.limits = limits
        self.ram_total_bytes = ram_total_bytes
        self.arm = arm
        self.rapl = rapl
        self.tdp = tdp
        self.tdp_looked_up = tdp_looked_up
        self.notes: list[str] = notes if notes is not None else []


_cache_lock = threading.Lock()
_facts_cache: dict[tuple, _Facts] = {}


def clear_cache() -> None:
    """Forget what detection learnt (tests; hot-plugged hardware)."""
    with _cache_lock:
        _facts_cache.clear()
    from codecarbon.hardware.cpu_tdp import lookup_tdp

    lookup_tdp.cache_clear()


def known_cgroup_limits(proc_root: Path, sysfs_root: Path) -> Optional[CgroupLimits]:
    """The cgroup limits detection already read for these roots (static while the process lives), or None."""
    with _cache_lock:
        for key, facts in _facts_cache.items():
            if key[0] == sysfs_root and key[1] == proc_root:
                return facts.limits
    return None


def _wants_rapl(options: HardwareOptions) -> bool:
    cpu_from_rapl = options.force_cpu_power is None and not options.force_mode_cpu_load
    return sys.platform.startswith("linux") and (cpu_from_rapl or options.rapl_include_dram)


def _emi(options: HardwareOptions, seams: SystemSeams, notes: list[str]) -> Optional[EmiDiscovery]:
    """Windows' energy meters, read when they could measure the CPU or (``rapl_include_dram``) the RAM."""
    cpu_from_meters = options.force_cpu_power is None and not options.force_mode_cpu_load
    if not sys.platform.startswith("win") or not (cpu_from_meters or options.rapl_include_dram):
        return None
    from codecarbon.hardware.emi import default_system, discover_emi

    system = seams.emi if seams.emi is not None else default_system()
    if system is None:
        return None
    found = discover_emi(system, prefer_psys=options.rapl_prefer_psys, include_dram=options.rapl_include_dram)
    notes.extend(found.notes)
    return found


def _facts(options: HardwareOptions, seams: SystemSeams) -> _Facts:
    key = (seams.sysfs_root, seams.proc_root, options.rapl_prefer_psys, options.rapl_include_dram,
           _wants_rapl(options))
    with _cache_lock:
        cached = _facts_cache.get(key)
    if cached is not None:
        return cached
    from codecarbon.hardware.attribution import read_cgroup_limits
    from codecarbon.hardware.cpu_model import read_cpu_info
    from codecarbon.hardware.ram import read_total_bytes

    limits = read_cgroup_limits(seams.proc_root, seams.sysfs_root / "fs" / "cgroup")
    cpu = read_cpu_info(seams.proc_root)
    machine = _machine_architecture().lower()
    facts = _Facts(cpu=cpu, limits=limits, ram_total_bytes=read_total_bytes(seams.proc_root, limits),
                   arm="arm" in machine or "aarch" in machine, rapl=None, tdp=None)
    powercap = ("class/powercap", "devices/virtual/powercap")
    if _wants_rapl(options) and any((seams.sysfs_root / folder).is_dir() for folder in powercap):
        from codecarbon.hardware.rapl import discover_rapl  # only where the kernel has a powercap tree

        facts.rapl = discover_rapl(seams.sysfs_root, prefer_psys=options.rapl_prefer_psys,
                                   include_dram=options.rapl_include_dram)
        facts.notes.extend(facts.rapl.notes)
    with _cache_lock:
        _facts_cache.setdefault(key, facts)
        return _facts_cache[key]


def _tdp(facts: _Facts) -> Optional[TdpMatch]:
    if not facts.tdp_looked_up:
        from codecarbon.hardware.cpu_tdp import lookup_tdp

        facts.tdp = lookup_tdp(facts.cpu.model)
        facts.tdp_looked_up = True
    return facts.tdp


def _container_fraction(facts: _Facts) -> float:
    """The slice of the machine a CPU quota leaves us (1.0 when not limited)."""
    limit = facts.limits.cpu_limit
    if limit is None or facts.cpu.logical <= 0 or limit >= facts.cpu.logical:
        return 1.0
    return limit / facts.cpu.logical


def _estimate_cpu(options: HardwareOptions, facts: _Facts, clock: Any, notes: list[str]) -> EnergySource:
    from codecarbon.hardware.cpu_estimate import CONSTANT_W_PER_THREAD, CpuLoadModelSource

    if options.force_cpu_power is not None:
        notes.append(f"cpu: load model with forced power {options.force_cpu_power:g} W")
        return CpuLoadModelSource(float(options.force_cpu_power), clock, method="tdp-model")
    fraction = _container_fraction(facts)
    match = _tdp(facts)
    if match is not None:
        scale = match.tdp_w * facts.cpu.sockets * fraction
        notes.append(f"cpu: load model, TDP {match.tdp_w:g} W × {facts.cpu.sockets} socket(s) from table entry "
                     f"'{match.entry}'" + ("" if fraction == 1.0 else f", container share {fraction:.3g}"))
        return CpuLoadModelSource(scale, clock, method="tdp-model")
    threads = max(1, facts.cpu.logical)
    scale = CONSTANT_W_PER_THREAD * threads * fraction
    notes.append(f"cpu: model {facts.cpu.model!r} not in the TDP table; load model with "
                 f"{CONSTANT_W_PER_THREAD:g} W per thread × {threads} threads")
    from codecarbon.external.logger import log_once

    log_once("cpu-unknown-tdp", logging.WARNING,
             "CPU model %r is not in the TDP table: estimating CPU power as %g W per thread (%g W); pass "
             "force_cpu_power=<TDP in W> for a better estimate", facts.cpu.model, CONSTANT_W_PER_THREAD, scale)
    return CpuLoadModelSource(scale, clock, method="constant")


def _optional_sources(module: str, function: str) -> list[EnergySource]:
    """Sources from the Apple / Windows helpers, which may not be installed in this tree."""
    try:
        found = getattr(__import__(f"codecarbon.hardware.{module}", fromlist=[function]), function)
    except (ImportError, AttributeError):
        return []
    try:
        return list(found() or [])
    except Exception as error:  # a helper failing must not stop detection
        from codecarbon.external.logger import logger

        logger.debug("%s.%s failed: %s", module, function, error)
        return []


def _cpu_sources(options: HardwareOptions, facts: _Facts, clock: Any, notes: list[str],
                 emi: Optional[EmiDiscovery] = None) -> list[EnergySource]:
    if options.force_cpu_power is None and not options.force_mode_cpu_load:
        if facts.rapl is not None:
            if facts.rapl.usable:
                from codecarbon.hardware.rapl import RaplSource

                return [RaplSource(facts.rapl.cpu_zones, component="cpu", method=facts.rapl.cpu_method)]
            if facts.rapl.unreadable:
                from codecarbon.hardware.rapl import warn_unreadable

                warn_unreadable(facts.rapl)
                notes.append("cpu: RAPL not readable; estimate used instead (see the log for the remedy)")
        elif sys.platform == "darwin":  # powermetrics; Power Gadget still serves older Intel Macs
            for module, function in (("powermetrics", "detect_powermetrics"),
                                     ("power_gadget", "detect_power_gadget")):
                found = _optional_sources(module, function)
                if any(s.component == "cpu" for s in found):
                    return found
        elif sys.platform.startswith("win"):
            if emi is not None and emi.usable:  # measured by Windows itself: before Power Gadget and the model
                from codecarbon.hardware.emi import EmiSource

                return [EmiSource(emi.system, emi.cpu_channels, emi.channel_counts, component="cpu",
                                  method=emi.cpu_method)]
            found = _optional_sources("power_gadget", "detect_power_gadget")
            if any(s.component == "cpu" for s in found):
                return found
    return [_estimate_cpu(options, facts, clock, notes)]


def _ram_source(options: HardwareOptions, facts: _Facts, notes: list[str],
                emi: Optional[EmiDiscovery] = None) -> EnergySource:
    from codecarbon.hardware.ram import ConstantPowerSource, ram_power_w

    if options.force_ram_power is not None:
        notes.append(f"ram: forced power {options.force_ram_power:g} W")
        return ConstantPowerSource(float(options.force_ram_power), component="ram", method="constant")
    if facts.rapl is not None and facts.rapl.dram_zones:
        from codecarbon.hardware.rapl import RaplSource

        return RaplSource(facts.rapl.dram_zones, component="ram", method="rapl-dram")
    if emi is not None and emi.dram_channels:
        from codecarbon.hardware.emi import EmiSource

        return EmiSource(emi.system, emi.dram_channels, emi.channel_counts, component="ram", method="emi-dram")
    size_gb = facts.ram_total_bytes / 1024 ** 3
    power = ram_power_w(size_gb, arm=facts.arm)
    notes.append(f"ram: DIMM model, {size_gb:.1f} GiB → {power:g} W")
    return ConstantPowerSource(power, component="ram", method="ram-model")


def _gpus(options: HardwareOptions, seams: SystemSeams) -> tuple[list[EnergySource], int, str, Optional[list],
                                                                  list[str]]:
    """GPU sources and facts. Where no vendor driver is visible (GPU-less Linux) no GPU module is imported."""
    from codecarbon.hardware.base import driver_seen

    roots = {"dev_root": seams.dev_root, "proc_root": seams.proc_root, "sysfs_root": seams.sysfs_root}
    drivers = {"nvidia": driver_seen("nvidia", **roots), "amd": driver_seen("amd", **roots)}
    if seams.nvml is None and seams.amdsmi is None and drivers["nvidia"] is False and drivers["amd"] is False:
        return [], 0, "", None, []
    from codecarbon.hardware.gpus import detect_gpus

    environ = seams.environ if seams.environ is not None else os.environ
    try:
        inventory = detect_gpus(options.gpu_ids, environ=environ, nvml=seams.nvml, amdsmi=seams.amdsmi,
                                tracking_mode=options.tracking_mode, pid=seams.pid, drivers=drivers)
    except ValueError:
        raise
    except Exception as error:  # GPUs failing to enumerate must not stop CPU/RAM tracking
        from codecarbon.external.logger import log_once

        log_once("gpu-detect-failed", logging.WARNING, "GPU detection failed (%s); GPUs not tracked", error)
        return [], 0, "", None, []
    return (list(inventory.sources), inventory.gpu_count, inventory.gpu_model, inventory.gpu_ids,
            list(inventory.warnings))


def detect_hardware(options: Optional[HardwareOptions] = None, seams: Optional[SystemSeams] = None) -> Hardware:
    """Decide the sources and gather the static facts; cheap after the first call in a process."""
    from codecarbon.hardware.attribution import CpuClock
    from codecarbon.hardware.base import Hardware

    options = options or HardwareOptions()
    seams = seams or SystemSeams()
    facts = _facts(options, seams)
    notes = list(facts.notes)
    clock = CpuClock(seams.proc_root, facts.limits)

    emi = _emi(options, seams, notes)
    cpu_sources = _cpu_sources(options, facts, clock, notes, emi)
    ram = _ram_source(options, facts, notes, emi)
    if options.tracking_mode == "process":
        from codecarbon.hardware.attribution import CpuShare, MemoryShare, ProcessTreeMeter
        from codecarbon.hardware.process_share import ProcessShareSource

        tree = ProcessTreeMeter(seams.pid)
        # the tree is read from the real /proc; so is the machine counter it is divided by
        roots = (seams.sysfs_root / "fs" / "cgroup",) + ((Path("/sys/fs/cgroup"),)
                                                         if str(seams.proc_root) == "/proc" else ())
        cpu_sources = [ProcessShareSource(s, CpuShare.for_machine(tree, clock, roots)) if s.component == "cpu" else s
                       for s in cpu_sources]
        ram = ProcessShareSource(ram, MemoryShare(tree, facts.ram_total_bytes))
        notes.append("process mode: CPU and RAM energy apportioned to the process tree's share")

    gpu_sources, gpu_count, gpu_model, gpu_ids, warnings = _gpus(options, seams)
    if not gpu_count and any(s.component == "gpu" for s in cpu_sources):  # Apple chip GPU via powermetrics
        gpu_count, gpu_model = 1, facts.cpu.model or "Apple Silicon GPU"

    logical = max(1, facts.cpu.logical)
    if facts.limits.cpu_limit is not None:
        logical = max(1, min(logical, math.ceil(facts.limits.cpu_limit)))
    return Hardware(
        sources=cpu_sources + gpu_sources + [ram],
        cpu_model=facts.cpu.model,
        cpu_count=logical,
        cpu_physical_count=facts.cpu.physical_cores,
        gpu_count=gpu_count,
        gpu_model=gpu_model,
        gpu_ids=gpu_ids,
        ram_total_size=facts.ram_total_bytes / 1024 ** 3,
        notes=notes,
        warnings=warnings,
    )
