"""NVIDIA GPUs through NVML (the ``pynvml`` module of the nvidia-ml-py package), imported only when needed.

Each tracked GPU is measured the best way it allows, decided once at detection:

* ``nvml-energy``: the driver's total-energy counter (mJ since the driver loaded); a window is the difference
  of two readings, exact whatever the sampling interval.
* ``nvml-power``: GPUs without that counter (older or consumer boards) report instantaneous power (mW); the
  source integrates it between reads with the trapezoid rule.

Static facts (names, UUIDs, which reading works, MIG parents) are read once at detection; each tick costs one
NVML call per GPU (plus one per GPU in process mode, plus one per GPU when utilisation is asked for). A GPU
that starts failing is dropped with one log line and keeps the energy it had; the others go on.

Process mode apportions each GPU's energy by the process tree's share of SM utilisation, from the per-process
samples NVML keeps (``nvmlDeviceGetProcessUtilization``); where NVML cannot report them the whole GPU's energy
is kept and the label says so (no ``+process-share``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from codecarbon.external.logger import log_once, logger
from codecarbon.hardware.base import NVIDIA_DRIVER_PATHS, EnergySource
from codecarbon.hardware.gpus import (
    NVIDIA_VISIBILITY,
    VendorGpus,
    as_text,
    import_vendor_library,
    match_ids,
    requested_ids,
)
from codecarbon.support.errors import GpuLibraryError

ENERGY = "nvml-energy"
POWER = "nvml-power"


@dataclass
class NvidiaDevice:
    """One tracked GPU and its running totals. ``joules`` is cumulative since the source was opened."""

    index: int
    uuid: str
    name: str
    handle: Any
    has_counter: bool
    shared: bool = False          # reached through a MIG slice: the energy is the whole GPU's
    per_process: bool = False     # NVML reports per-process utilisation for it
    joules: float = 0.0
    alive: bool = True
    last_mj: Optional[int] = None
    last_mw: Optional[float] = None
    last_t: Optional[float] = None
    last_seen_us: int = 0

    @property
    def method(self) -> str:
        return ENERGY if self.has_counter else POWER




def _import_pynvml() -> Any:
    return import_vendor_library("pynvml", "NVIDIA", NVIDIA_DRIVER_PATHS)


def _call(nvml: Any, function: str, *args: Any) -> Any:
    """One NVML call. The library's ``NVMLError`` becomes ``GpuLibraryError`` here and nowhere else, so the rest of
    this module handles one kind of failure (with NVML's code kept for the few checks that need it)."""
    try:
        return getattr(nvml, function)(*args)
    except getattr(nvml, "NVMLError", ()) as error:
        raise GpuLibraryError("NVML", function, error, code=getattr(error, "value", None)) from error


def _is_error(nvml: Any, error: GpuLibraryError, name: str) -> bool:
    """Whether a failed NVML call answered the named NVML_ERROR_* code."""
    code = getattr(nvml, name, None)
    return code is not None and error.code == code


class _MigIndex:
    """Maps MIG slice UUIDs to their parent GPU's index, enumerating MIG devices only when first asked."""

    def __init__(self, nvml: Any, handles: list[Any]) -> None:
        self._nvml = nvml
        self._handles = handles
        self._table: Optional[list[tuple[str, int]]] = None

    def _build(self) -> list[tuple[str, int]]:
        table: list[tuple[str, int]] = []
        nvml = self._nvml
        for index, handle in enumerate(self._handles):
            if handle is None:
                continue
            try:
                slots = _call(nvml, "nvmlDeviceGetMaxMigDeviceCount", handle)
            except GpuLibraryError:  # MIG unsupported on this GPU, or an old driver
                continue
            for slot in range(int(slots)):
                try:
                    mig = _call(nvml, "nvmlDeviceGetMigDeviceHandleByIndex", handle, slot)
                    table.append((as_text(_call(nvml, "nvmlDeviceGetUUID", mig)).lower(), index))
                except GpuLibraryError:  # an empty slot answers NOT_FOUND
                    continue
        return table

    def parent_of(self, ident: str) -> Optional[int]:
        if self._table is None:
            self._table = self._build()
        wanted = ident.strip().lower()
        for mig_uuid, parent in self._table:
            if mig_uuid.startswith(wanted):
                return parent
        return None


def _probe_reading(nvml: Any, handle: Any) -> Optional[bool]:
    """True when the GPU has the energy counter, False when only power works, None when neither does."""
    try:
        _call(nvml, "nvmlDeviceGetTotalEnergyConsumption", handle)
        return True
    except GpuLibraryError:
        pass
    try:
        _call(nvml, "nvmlDeviceGetPowerUsage", handle)
        return False
    except GpuLibraryError:
        return None


def _probe_per_process(nvml: Any, handle: Any) -> bool:
    """Whether NVML reports per-process utilisation on this GPU (NOT_FOUND only means "no samples yet")."""
    try:
        _call(nvml, "nvmlDeviceGetProcessUtilization", handle, 0)
        return True
    except GpuLibraryError as error:
        return _is_error(nvml, error, "NVML_ERROR_NOT_FOUND")


def detect_nvidia(gpu_ids: Any, *, environ: Mapping[str, str], nvml: Any = None, tracking_mode: str = "machine",
                  pid: Optional[int] = None, clock: Callable[[], float] = time.monotonic) -> Optional[VendorGpus]:
    """The tracked NVIDIA GPUs and their source, or None when there is no usable NVML (the normal case)."""
    module = nvml if nvml is not None else _import_pynvml()
    if module is None:
        return None
    try:
        _call(module, "nvmlInit")
    except (GpuLibraryError, OSError) as error:  # library not found, driver not loaded, ...
        logger.debug("NVML did not initialise (%s): no NVIDIA GPU tracking", error)
        return None
    try:
        found = _select_devices(module, gpu_ids, environ, tracking_mode)
    except Exception as error:  # the driver's answers go through vendor code: no GPU tracking, never a failed start
        logger.warning("NVIDIA GPUs could not be enumerated (%s); GPU energy is not tracked", error)
        found = None
    if found is None or not found[0]:
        _shutdown(module)
        if found is None:
            return None
        return VendorGpus(None, [], [], found[1], found[2])
    devices, applied, unmatched = found
    process_pid = None
    if tracking_mode == "process":
        process_pid = pid if pid is not None else os.getpid()
    source = NvidiaGpuSource(module, devices, process_pid=process_pid, clock=clock, initialised=True)
    return VendorGpus(source, [d.name for d in devices], [d.index for d in devices], applied, unmatched)


def _select_devices(nvml: Any, gpu_ids: Any, environ: Mapping[str, str],
                    tracking_mode: str) -> tuple[list[NvidiaDevice], bool, list[str]]:
    count = int(_call(nvml, "nvmlDeviceGetCount"))
    handles: list[Any] = []
    uuids: list[str] = []
    names: list[str] = []
    for index in range(count):
        try:
            handle = _call(nvml, "nvmlDeviceGetHandleByIndex", index)
            uuid = as_text(_call(nvml, "nvmlDeviceGetUUID", handle))
            name = as_text(_call(nvml, "nvmlDeviceGetName", handle))
        except (GpuLibraryError, UnicodeDecodeError) as error:
            logger.warning("NVIDIA GPU %d cannot be read (%s); it is not tracked", index, error)
            handle, uuid, name = None, "", ""
        handles.append(handle)
        uuids.append(uuid)
        names.append(name)

    requested, origin = requested_ids(gpu_ids, environ, NVIDIA_VISIBILITY)
    if requested is None:
        indices, shared, unmatched = list(range(count)), set(), []
    else:
        selection = match_ids(requested, uuids, _MigIndex(nvml, handles).parent_of)
        indices, shared, unmatched = selection.indices, selection.shared, selection.unmatched
        if origin != "gpu_ids" and not requested:
            logger.info("%s hides every GPU from this process: no GPU energy is tracked", origin)

    process_mode = tracking_mode == "process"
    devices: list[NvidiaDevice] = []
    for index in indices:
        handle = handles[index]
        if handle is None:
            continue
        has_counter = _probe_reading(nvml, handle)
        if has_counter is None:
            logger.warning("NVIDIA GPU %d (%s) reports neither energy nor power; it is not tracked",
                           index, names[index])
            continue
        device = NvidiaDevice(index=index, uuid=uuids[index], name=names[index], handle=handle,
                              has_counter=has_counter, shared=index in shared)
        if not has_counter:
            logger.info("NVIDIA GPU %d (%s) has no energy counter; its power is integrated between samples",
                        index, device.name)
        if device.shared:
            logger.info("NVIDIA GPU %d is tracked through a MIG slice: the energy reported is the whole GPU's, "
                        "shared with every slice on it", index)
        if process_mode:
            device.per_process = _probe_per_process(nvml, handle)
        devices.append(device)
    if process_mode and devices and not any(d.per_process for d in devices):
        log_once("nvml-no-process-util", logging.INFO,
                 "NVML cannot report per-process GPU utilisation here; process mode counts the whole energy "
                 "of the tracked GPUs")
    return devices, requested is not None, unmatched


def _shutdown(nvml: Any) -> None:
    try:
        _call(nvml, "nvmlShutdown")
    except GpuLibraryError as error:
        logger.debug("nvmlShutdown failed: %s", error)


def process_tree_pids(pid: int) -> set[int]:
    """The pid and all its descendants now (psutil); just the pid when it cannot be walked."""
    import psutil

    try:
        root = psutil.Process(pid)
        return {pid} | {child.pid for child in root.children(recursive=True)}
    except psutil.Error:
        return {pid}


class NvidiaGpuSource(EnergySource):
    """Cumulative energy of the tracked NVIDIA GPUs, summed."""

    component = "gpu"

    def __init__(self, nvml: Any, devices: list[NvidiaDevice], *, process_pid: Optional[int] = None,
                 clock: Callable[[], float] = time.monotonic, initialised: bool = False) -> None:
        self._nvml = nvml
        self._devices = devices
        self._process_pid = process_pid
        self._clock = clock
        self._initialised = initialised
        self.method = self._label()

    @property
    def devices(self) -> list[NvidiaDevice]:
        return self._devices

    def _label(self) -> str:
        methods = [m for m in (ENERGY, POWER) if any(d.method == m for d in self._devices)]
        label = "+".join(methods)
        if any(d.shared for d in self._devices):
            label += "+shared"
        if self._process_pid is not None and any(d.per_process for d in self._devices):
            label += "+process-share"
        return label

    # --- lifecycle -------------------------------------------------------------------------------------------
    def _ensure_initialised(self) -> None:
        """After close(), a new run re-initialises NVML and finds each GPU again by its UUID."""
        if self._initialised:
            return
        _call(self._nvml, "nvmlInit")
        self._initialised = True
        for device in self._devices:
            if not device.alive:
                continue
            try:
                device.handle = _call(self._nvml, "nvmlDeviceGetHandleByUUID", device.uuid)
            except GpuLibraryError as error:
                self._drop(device, error)

    def open(self) -> None:
        try:
            self._ensure_initialised()
        except (GpuLibraryError, OSError) as error:
            log_once("nvml-reopen", logging.WARNING, "NVML could not be initialised again (%s); GPU energy is "
                     "not tracked for this run", error)
            for device in self._devices:
                device.alive = False
        now = self._clock()
        for device in self._devices:
            device.joules = 0.0
            if not device.alive:
                continue
            try:
                if device.has_counter:
                    device.last_mj = int(_call(self._nvml, "nvmlDeviceGetTotalEnergyConsumption", device.handle))
                else:
                    device.last_mw = float(_call(self._nvml, "nvmlDeviceGetPowerUsage", device.handle))
                device.last_t = now
                if self._process_pid is not None and device.per_process:
                    device.last_seen_us = self._latest_sample_time(device)
            except (GpuLibraryError, TypeError, ValueError) as error:  # a refused call, or an answer not a number
                self._drop(device, error)

    def close(self) -> None:
        if self._initialised:
            self._initialised = False
            _shutdown(self._nvml)

    # --- readings --------------------------------------------------------------------------------------------
    def read_joules(self) -> float:
        if not self._initialised:  # closed: the library is shut down; keep the last figures
            return sum(device.joules for device in self._devices)
        now = self._clock()
        tree: Optional[set[int]] = None
        for device in self._devices:
            if not device.alive:
                continue
            try:
                delta = self._step(device, now)
                if self._process_pid is not None and device.per_process:
                    if tree is None:
                        tree = process_tree_pids(self._process_pid)
                    delta *= self._process_share(device, tree)
                device.joules += delta
            except (GpuLibraryError, TypeError, ValueError, AttributeError) as error:  # refused, or a bad answer
                self._drop(device, error)
        return sum(device.joules for device in self._devices)

    def _step(self, device: NvidiaDevice, now: float) -> float:
        """Whole-GPU joules since the previous read: one NVML call."""
        if device.has_counter:
            value = int(_call(self._nvml, "nvmlDeviceGetTotalEnergyConsumption", device.handle))
            previous = device.last_mj
            device.last_mj = value
            if previous is None:
                return 0.0
            if value < previous:
                log_once(f"nvml-counter-reset-{device.uuid}", logging.WARNING,
                         "The energy counter of NVIDIA GPU %d went backwards (driver reloaded?); counting "
                         "resumes from its new value", device.index)
                return 0.0
            return (value - previous) / 1000.0
        power = float(_call(self._nvml, "nvmlDeviceGetPowerUsage", device.handle))
        previous_power, previous_t = device.last_mw, device.last_t
        device.last_mw, device.last_t = power, now
        if previous_power is None or previous_t is None or now <= previous_t:
            return 0.0
        return (previous_power + power) / 2.0 / 1000.0 * (now - previous_t)

    def _latest_sample_time(self, device: NvidiaDevice) -> int:
        try:
            samples = _call(self._nvml, "nvmlDeviceGetProcessUtilization", device.handle, 0)
        except GpuLibraryError:
            return 0
        return max((int(s.timeStamp) for s in samples), default=0)

    def _process_share(self, device: NvidiaDevice, tree: set[int]) -> float:
        """The tree's share of the GPU's SM utilisation over the samples since the previous read."""
        nvml = self._nvml
        try:
            samples = _call(nvml, "nvmlDeviceGetProcessUtilization", device.handle, device.last_seen_us)
        except GpuLibraryError as error:
            if _is_error(nvml, error, "NVML_ERROR_NOT_FOUND"):
                return 0.0  # no process ran on the GPU since the previous read
            log_once(f"nvml-process-util-{device.uuid}", logging.WARNING,
                     "Per-process utilisation of NVIDIA GPU %d stopped working (%s); its whole energy is "
                     "counted from now on", device.index, error)
            device.per_process = False
            return 1.0
        if not samples:
            return 0.0
        device.last_seen_us = max(device.last_seen_us, max(int(s.timeStamp) for s in samples))
        if not tree:
            return 0.0
        pids = {int(s.pid) for s in samples}
        if not pids & tree and not _any_local(pids):
            log_once(f"nvml-foreign-pids-{device.uuid}", logging.WARNING,
                     "NVIDIA GPU %d reports processes this system cannot see (a container with its own PID "
                     "namespace?); its whole energy is counted", device.index)
            return 1.0
        total = sum(int(s.smUtil) for s in samples)
        ours = sum(int(s.smUtil) for s in samples if int(s.pid) in tree)
        if total > 0:
            return ours / total
        return sum(1 for s in samples if int(s.pid) in tree) / len(samples)

    def utilization_percent(self) -> Optional[float]:
        if not self._initialised:
            return None
        values = []
        for device in self._devices:
            if not device.alive:
                continue
            try:
                values.append(float(_call(self._nvml, "nvmlDeviceGetUtilizationRates", device.handle).gpu))
            except (GpuLibraryError, TypeError, ValueError, AttributeError) as error:  # refused, or no .gpu figure
                log_once(f"nvml-util-{device.uuid}", logging.DEBUG,
                         "Utilisation of NVIDIA GPU %d is unavailable: %s", device.index, error)
        return sum(values) / len(values) if values else None

    def _drop(self, device: NvidiaDevice, error: BaseException) -> None:
        device.alive = False
        log_once(f"nvml-drop-{device.uuid}", logging.WARNING,
                 "NVIDIA GPU %d (%s) stopped answering (%s); it is no longer tracked and keeps the energy "
                 "measured so far", device.index, device.name, error)


def _any_local(pids: set[int]) -> bool:
    import psutil

    return any(psutil.pid_exists(p) for p in pids)
