"""AMD GPUs through ROCm's ``amdsmi`` Python module, imported only when needed.

Energy comes from each GPU's energy accumulator (``amdsmi_get_energy_count``): accumulator units ×
``counter_resolution`` (µJ per unit). The accumulator is read at window boundaries and ticks; a reading lower
than the previous one is a wraparound of the hardware counter (32-bit on several boards), unless the jump it
implies is physically impossible, in which case the counter was reset and counting resumes from it.

A library present without a loaded driver (``amdsmi_init`` raising) means "no AMD GPU", logged at debug level.
A GPU that starts failing is dropped with one log line and keeps the energy measured so far.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from codecarbon.external.logger import log_once, logger
from codecarbon.hardware.base import AMD_DRIVER_PATHS, EnergySource
from codecarbon.hardware.gpus import (
    AMD_VISIBILITY,
    VendorGpus,
    as_text,
    import_vendor_library,
    match_ids,
    requested_ids,
)
from codecarbon.support.errors import GpuLibraryError

METHOD = "amdsmi"
#: counter widths tried, narrowest first, when the accumulator goes backwards
_WRAP_BITS = (32, 48, 64)
#: no single GPU draws this much; a larger implied power means a reset, not a wraparound
_MAX_PLAUSIBLE_WATTS = 5000.0


@dataclass
class AmdDevice:
    index: int
    uuid: str
    name: str
    handle: Any
    joules: float = 0.0
    alive: bool = True
    last_units: Optional[int] = None
    last_t: Optional[float] = None




def _import_amdsmi() -> Any:
    return import_vendor_library("amdsmi", "AMD", AMD_DRIVER_PATHS)


def _call(amdsmi: Any, function: str, *args: Any) -> Any:
    """One amdsmi call. The library's ``AmdSmiException`` (its library and parameter errors alike) becomes
    ``GpuLibraryError`` here and nowhere else, with amdsmi's status code kept."""
    try:
        return getattr(amdsmi, function)(*args)
    except getattr(amdsmi, "AmdSmiException", ()) as error:
        raise GpuLibraryError("amdsmi", function, error, code=getattr(error, "err_code", None)) from error


#: what a device's reading can fail with: a refused call, or an answer that is not the documented dict of numbers
_BAD_READING = (GpuLibraryError, KeyError, TypeError, ValueError, AttributeError)


def read_energy_count(amdsmi: Any, handle: Any) -> tuple[int, float]:
    """(accumulator units, µJ per unit); current releases name the accumulator ``energy_accumulator``,
    older ones ``power``."""
    info = _call(amdsmi, "amdsmi_get_energy_count", handle)
    units = info.get("energy_accumulator", info.get("power"))
    if units is None:
        raise ValueError("amdsmi_get_energy_count returned no accumulator")
    return int(units), float(info["counter_resolution"])


def counter_delta(previous: int, value: int, resolution_uj: float, elapsed_s: Optional[float]) -> int:
    """Units elapsed between two accumulator readings, across a wraparound when there was one."""
    if value >= previous:
        return value - previous
    for bits in _WRAP_BITS:
        span = 1 << bits
        if previous < span:
            units = value + span - previous
            if elapsed_s and units * resolution_uj / 1e6 / elapsed_s > _MAX_PLAUSIBLE_WATTS:
                return value  # a reset: the counter restarted from zero
            return units
    return value


def _device_name(amdsmi: Any, handle: Any) -> str:
    try:
        name = as_text(_call(amdsmi, "amdsmi_get_gpu_asic_info", handle).get("market_name", "")).strip()
        if name and name != "N/A":
            return name
    except _BAD_READING:
        pass
    try:
        name = as_text(_call(amdsmi, "amdsmi_get_gpu_board_info", handle).get("product_name", "")).strip()
        if name and name != "N/A":
            return name
    except _BAD_READING:
        pass
    return "AMD GPU"


def detect_amd(gpu_ids: Any, *, environ: Mapping[str, str], amdsmi: Any = None, tracking_mode: str = "machine",
               pid: Optional[int] = None, clock: Callable[[], float] = time.monotonic) -> Optional[VendorGpus]:
    """The tracked AMD GPUs and their source, or None without a usable amdsmi and driver (the normal case)."""
    module = amdsmi if amdsmi is not None else _import_amdsmi()
    if module is None:
        return None
    try:
        _call(module, "amdsmi_init")
    except Exception as error:  # a library present without its driver may fail in any way at init: no AMD GPU
        logger.debug("amdsmi did not initialise (%s): no AMD GPU tracking", error)
        return None
    try:
        handles = list(_call(module, "amdsmi_get_processor_handles"))
    except (GpuLibraryError, TypeError) as error:
        logger.debug("amdsmi lists no GPU (%s)", error)
        _shutdown(module)
        return None
    if not handles:
        _shutdown(module)
        return None

    uuids = []
    for handle in handles:
        try:
            uuids.append(as_text(_call(module, "amdsmi_get_gpu_device_uuid", handle)))
        except (GpuLibraryError, UnicodeDecodeError):
            uuids.append("")
    requested, origin = requested_ids(gpu_ids, environ, AMD_VISIBILITY)
    if requested is None:
        indices, unmatched = list(range(len(handles))), []
    else:
        selection = match_ids(requested, uuids)
        indices, unmatched = selection.indices, selection.unmatched
        if origin != "gpu_ids" and not requested:
            logger.info("%s hides every GPU from this process: no AMD GPU energy is tracked", origin)

    devices = []
    for index in indices:
        handle = handles[index]
        name = _device_name(module, handle)
        try:
            read_energy_count(module, handle)
        except _BAD_READING as error:
            logger.warning("AMD GPU %d (%s) has no readable energy counter (%s); it is not tracked",
                           index, name, error)
            continue
        devices.append(AmdDevice(index=index, uuid=uuids[index], name=name, handle=handle))
    if not devices:
        _shutdown(module)
        return VendorGpus(None, [], [], requested is not None, unmatched)
    if tracking_mode == "process":
        log_once("amdsmi-no-process-share", logging.INFO,
                 "Per-process energy is not available for AMD GPUs; process mode counts the whole energy of "
                 "the tracked AMD GPUs")
    source = AmdGpuSource(module, devices, clock=clock)
    return VendorGpus(source, [d.name for d in devices], [d.index for d in devices], requested is not None,
                      unmatched)


def _shutdown(amdsmi: Any) -> None:
    try:
        _call(amdsmi, "amdsmi_shut_down")
    except GpuLibraryError as error:
        logger.debug("amdsmi_shut_down failed: %s", error)


class AmdGpuSource(EnergySource):
    """Cumulative energy of the tracked AMD GPUs, summed; one amdsmi call per GPU per read."""

    component = "gpu"
    method = METHOD

    def __init__(self, amdsmi: Any, devices: list[AmdDevice], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._amdsmi = amdsmi
        self._devices = devices
        self._clock = clock
        self._initialised = True

    @property
    def devices(self) -> list[AmdDevice]:
        return self._devices

    def open(self) -> None:
        if not self._initialised:
            try:
                _call(self._amdsmi, "amdsmi_init")
                handles = list(_call(self._amdsmi, "amdsmi_get_processor_handles"))
                by_uuid = {as_text(_call(self._amdsmi, "amdsmi_get_gpu_device_uuid", h)): h for h in handles}
                self._initialised = True
            except (GpuLibraryError, TypeError, UnicodeDecodeError) as error:
                log_once("amdsmi-reopen", logging.WARNING, "amdsmi could not be initialised again (%s); AMD GPU "
                         "energy is not tracked for this run", error)
                by_uuid = {}
                for device in self._devices:
                    device.alive = False
            for device in self._devices:
                if device.alive and device.uuid in by_uuid:
                    device.handle = by_uuid[device.uuid]
                elif device.alive:
                    self._drop(device, LookupError("not found again after re-initialisation"))
        now = self._clock()
        for device in self._devices:
            device.joules = 0.0
            if not device.alive:
                continue
            try:
                device.last_units, _ = read_energy_count(self._amdsmi, device.handle)
                device.last_t = now
            except _BAD_READING as error:
                self._drop(device, error)

    def read_joules(self) -> float:
        if not self._initialised:  # closed: the library is shut down; keep the last figures
            return sum(device.joules for device in self._devices)
        now = self._clock()
        for device in self._devices:
            if not device.alive:
                continue
            try:
                units, resolution = read_energy_count(self._amdsmi, device.handle)
                if device.last_units is not None:
                    elapsed = now - device.last_t if device.last_t is not None else None
                    delta = counter_delta(device.last_units, units, resolution, elapsed)
                    device.joules += delta * resolution / 1e6
                device.last_units, device.last_t = units, now
            except _BAD_READING as error:
                self._drop(device, error)
        return sum(device.joules for device in self._devices)

    def utilization_percent(self) -> Optional[float]:
        if not self._initialised:
            return None
        values = []
        for device in self._devices:
            if not device.alive:
                continue
            try:
                activity = _call(self._amdsmi, "amdsmi_get_gpu_activity", device.handle).get("gfx_activity")
                values.append(float(activity))
            except _BAD_READING:  # "N/A" on some boards, or a failing call
                continue
        return sum(values) / len(values) if values else None

    def close(self) -> None:
        if self._initialised:
            self._initialised = False
            _shutdown(self._amdsmi)

    def _drop(self, device: AmdDevice, error: BaseException) -> None:
        device.alive = False
        log_once(f"amdsmi-drop-{device.uuid or device.index}", logging.WARNING,
                 "AMD GPU %d (%s) stopped answering (%s); it is no longer tracked and keeps the energy measured "
                 "so far", device.index, device.name, error)
