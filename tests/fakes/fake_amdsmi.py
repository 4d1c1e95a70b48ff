"""A stand-in for the ``amdsmi`` Python module (ROCm's AMD SMI), driven by the test.

It follows the documented Python API: ``amdsmi_init``/``amdsmi_shut_down``, ``amdsmi_get_processor_handles``,
``amdsmi_get_energy_count`` returning a dict with the accumulator (``energy_accumulator`` in current releases,
``power`` in older ones), ``counter_resolution`` (µJ per unit) and ``timestamp``; ``amdsmi_get_gpu_activity``
with ``gfx_activity`` in percent; and the ``AmdSmiException`` / ``AmdSmiLibraryException`` (``err_code``,
``err_info``) errors. The accumulator wraps at ``counter_bits`` so tests can cross the boundary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Optional

AMDSMI_STATUS_SUCCESS = 0
AMDSMI_STATUS_INVAL = 1
AMDSMI_STATUS_NOT_SUPPORTED = 2
AMDSMI_STATUS_NO_PERM = 10
AMDSMI_STATUS_INIT_ERROR = 32
AMDSMI_STATUS_DRIVER_NOT_LOADED = 51
AMDSMI_STATUS_NOT_INIT = 53


class AmdSmiException(Exception):
    """Base of every amdsmi error."""


class AmdSmiLibraryException(AmdSmiException):
    def __init__(self, err_code: int) -> None:
        super().__init__(err_code)
        self.err_code = err_code
        self.err_info = f"AMDSMI error {err_code}"

    def __str__(self) -> str:
        return f"An error occurred with code: {self.err_code}({self.err_info})"


class AmdSmiParameterException(AmdSmiException):
    pass


@dataclass
class FakeAmdGpu:
    """One AMD GPU. ``energy_uj`` is the true cumulative energy; the accumulator is derived from it."""

    uuid: str
    market_name: str = "AMD Instinct MI250X"
    energy_uj: float = 0.0
    counter_resolution: float = 15.259  # µJ per accumulator unit, a typical value
    counter_bits: int = 64
    gfx_activity: Any = 0
    fail_with: Optional[int] = None
    legacy_power_key: bool = False  # older amdsmi returns the accumulator under "power"

    def advance(self, joules: float) -> None:
        self.energy_uj += joules * 1e6

    def accumulator(self) -> int:
        return int(self.energy_uj // self.counter_resolution) % (1 << self.counter_bits)


@dataclass(frozen=True)
class _Handle:
    index: int


class FakeAmdSmi:
    """Module-like fake of ``amdsmi``; ``calls`` counts calls by function name."""

    AmdSmiException = AmdSmiException
    AmdSmiLibraryException = AmdSmiLibraryException
    AmdSmiParameterException = AmdSmiParameterException

    def __init__(self, devices: Optional[list[FakeAmdGpu]] = None, *, init_error: Optional[int] = None) -> None:
        self.devices = list(devices or [])
        self.init_error = init_error
        self.initialised = False
        self.calls: Counter[str] = Counter()
        self.AMDSMI_STATUS_NOT_SUPPORTED = AMDSMI_STATUS_NOT_SUPPORTED
        self.AMDSMI_STATUS_DRIVER_NOT_LOADED = AMDSMI_STATUS_DRIVER_NOT_LOADED

    def _device(self, handle: Any) -> FakeAmdGpu:
        if not self.initialised:
            raise AmdSmiLibraryException(AMDSMI_STATUS_NOT_INIT)
        if not isinstance(handle, _Handle):
            raise AmdSmiParameterException(handle)
        gpu = self.devices[handle.index]
        if gpu.fail_with is not None:
            raise AmdSmiLibraryException(gpu.fail_with)
        return gpu

    def amdsmi_init(self, flags: int = 0) -> None:
        self.calls["amdsmi_init"] += 1
        if self.init_error is not None:
            raise AmdSmiLibraryException(self.init_error)
        self.initialised = True

    def amdsmi_shut_down(self) -> None:
        self.calls["amdsmi_shut_down"] += 1
        if not self.initialised:
            raise AmdSmiLibraryException(AMDSMI_STATUS_NOT_INIT)
        self.initialised = False

    def amdsmi_get_processor_handles(self) -> list[_Handle]:
        self.calls["amdsmi_get_processor_handles"] += 1
        if not self.initialised:
            raise AmdSmiLibraryException(AMDSMI_STATUS_NOT_INIT)
        return [_Handle(i) for i in range(len(self.devices))]

    def amdsmi_get_gpu_device_uuid(self, handle: Any) -> str:
        self.calls["amdsmi_get_gpu_device_uuid"] += 1
        return self._device(handle).uuid

    def amdsmi_get_gpu_asic_info(self, handle: Any) -> dict[str, Any]:
        self.calls["amdsmi_get_gpu_asic_info"] += 1
        gpu = self._device(handle)
        return {"market_name": gpu.market_name, "vendor_id": "0x1002", "device_id": "0x740c"}

    def amdsmi_get_energy_count(self, handle: Any) -> dict[str, Any]:
        self.calls["amdsmi_get_energy_count"] += 1
        gpu = self._device(handle)
        key = "power" if gpu.legacy_power_key else "energy_accumulator"
        return {key: gpu.accumulator(), "counter_resolution": gpu.counter_resolution, "timestamp": 0}

    def amdsmi_get_gpu_activity(self, handle: Any) -> dict[str, Any]:
        self.calls["amdsmi_get_gpu_activity"] += 1
        gpu = self._device(handle)
        return {"gfx_activity": gpu.gfx_activity, "umc_activity": 0, "mm_activity": "N/A"}
