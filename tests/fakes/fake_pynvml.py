"""A stand-in for the ``pynvml`` module (package nvidia-ml-py), driven by the test.

It follows the documented NVML Python API: the same function names, the same error classes (``NVMLError``
whose constructor maps an ``NVML_ERROR_*`` code to its ``NVMLError_<Name>`` subclass) and the same units
(energy in mJ, power in mW, utilisation in percent, process-utilisation timestamps in µs). Each fake device
holds a cumulative energy counter that the test advances; the code under test reads it through the same
calls it makes on a real GPU.

``FakeNVML`` is instantiated per test and passed wherever a module is expected (``nvml=FakeNVML(...)``).
``make_fake_nvml(count)`` builds a machine of identical GPUs cheaply (benchmarks use it).
"""

from __future__ import annotations

import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

# --- error codes, as documented in nvml.h / pynvml -----------------------------------------------------------
NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_ALREADY_INITIALIZED = 5
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_INSUFFICIENT_SIZE = 7
NVML_ERROR_INSUFFICIENT_POWER = 8
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_IRQ_ISSUE = 11
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_CORRUPTED_INFOROM = 14
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_RESET_REQUIRED = 16
NVML_ERROR_OPERATING_SYSTEM = 17
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_IN_USE = 19
NVML_ERROR_MEMORY = 20
NVML_ERROR_NO_DATA = 21
NVML_ERROR_NOT_READY = 27
NVML_ERROR_UNKNOWN = 999

_CODES = {name: value for name, value in globals().items() if name.startswith("NVML_ERROR_")}


class NVMLError(Exception):
    """Base error; ``NVMLError(code)`` returns an instance of the matching subclass, as pynvml does."""

    _by_code: dict[int, type] = {}
    value: int

    def __new__(cls, value: int, *args: Any):
        if cls is NVMLError:
            cls = NVMLError._by_code.get(value, NVMLError)
        instance = Exception.__new__(cls)
        instance.value = value
        return instance

    def __init__(self, value: int, *args: Any) -> None:
        super().__init__(value)

    def __str__(self) -> str:
        for name, code in _CODES.items():
            if code == self.value:
                return name.replace("NVML_ERROR_", "").replace("_", " ").title()
        return f"NVML error {self.value}"


def _class_name(constant: str) -> str:
    return "NVMLError_" + string.capwords(constant.replace("NVML_ERROR_", ""), "_").replace("_", "")


_ERROR_CLASSES: dict[str, type] = {}
for _constant, _code in _CODES.items():
    _cls = type(_class_name(_constant), (NVMLError,), {})
    NVMLError._by_code[_code] = _cls
    _ERROR_CLASSES[_cls.__name__] = _cls
globals().update(_ERROR_CLASSES)


class c_nvmlUtilization_t:
    """What nvmlDeviceGetUtilizationRates returns: ``gpu`` and ``memory`` in percent."""

    def __init__(self, gpu: int, memory: int) -> None:
        self.gpu = gpu
        self.memory = memory


class c_nvmlProcessUtilizationSample_t:
    """One process-utilisation sample: pid, timeStamp (µs), smUtil, memUtil, encUtil, decUtil."""

    def __init__(self, pid: int, timeStamp: int, smUtil: int, memUtil: int = 0) -> None:
        self.pid = pid
        self.timeStamp = timeStamp
        self.smUtil = smUtil
        self.memUtil = memUtil
        self.encUtil = 0
        self.decUtil = 0


class c_nvmlProcessInfo_t:
    def __init__(self, pid: int, usedGpuMemory: int = 0) -> None:
        self.pid = pid
        self.usedGpuMemory = usedGpuMemory


@dataclass
class FakeGpu:
    """One GPU as the test sees it. ``energy_mj`` is the cumulative counter the test advances."""

    uuid: str
    name: str = "NVIDIA A100-SXM4-40GB"
    energy_mj: int = 0
    power_mw: int = 0
    has_energy_counter: bool = True
    has_power_reading: bool = True
    utilization: int = 0
    #: when set, every per-device call raises NVMLError(fail_with) (a lost GPU, a permission change ...)
    fail_with: Optional[int] = None
    #: MIG slices on this GPU, by UUID ("MIG-..."); index in the list = MIG device index
    mig_uuids: list[str] = field(default_factory=list)
    #: (pid, timestamp_us, smUtil) samples; None means the GPU cannot report per-process utilisation
    process_samples: Optional[list[tuple[int, int, int]]] = None

    def advance(self, joules: float) -> None:
        """The GPU consumed ``joules`` more (the counter is in whole mJ, like the driver's)."""
        self.energy_mj += int(round(joules * 1000))


@dataclass(frozen=True)
class _MigHandle:
    parent: int
    slot: int


class FakeNVML:
    """Module-like fake of pynvml. ``calls`` counts every NVML function called, by name."""

    NVMLError = NVMLError
    c_nvmlUtilization_t = c_nvmlUtilization_t

    def __init__(self, devices: Optional[list[FakeGpu]] = None, *, init_error: Optional[int] = None) -> None:
        self.devices = list(devices or [])
        self.init_error = init_error
        self.initialised = 0
        self.calls: Counter[str] = Counter()
        for name, value in _CODES.items():
            setattr(self, name, value)
        for name, cls in _ERROR_CLASSES.items():
            setattr(self, name, cls)
        self.NVML_SUCCESS = NVML_SUCCESS

    # --- helpers --------------------------------------------------------------------------------------------
    def _count(self, name: str) -> None:
        self.calls[name] += 1

    def _require_init(self) -> None:
        if self.initialised <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def _device(self, handle: Any) -> FakeGpu:
        self._require_init()
        if isinstance(handle, _MigHandle):
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        if not isinstance(handle, int) or not 0 <= handle < len(self.devices):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        gpu = self.devices[handle]
        if gpu.fail_with is not None:
            raise NVMLError(gpu.fail_with)
        return gpu

    # --- library ---------------------------------------------------------------------------------------------
    def nvmlInit(self) -> None:
        self._count("nvmlInit")
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self._count("nvmlShutdown")
        self._require_init()
        self.initialised -= 1

    def nvmlDeviceGetCount(self) -> int:
        self._count("nvmlDeviceGetCount")
        self._require_init()
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._count("nvmlDeviceGetHandleByIndex")
        self._require_init()
        if not 0 <= index < len(self.devices):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return index

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> Any:
        self._count("nvmlDeviceGetHandleByUUID")
        self._require_init()
        for index, gpu in enumerate(self.devices):
            if gpu.uuid == uuid:
                return index
            if uuid in gpu.mig_uuids:
                return _MigHandle(index, gpu.mig_uuids.index(uuid))
        raise NVMLError(NVML_ERROR_NOT_FOUND)

    # --- static facts ----------------------------------------------------------------------------------------
    def nvmlDeviceGetName(self, handle: Any) -> str:
        self._count("nvmlDeviceGetName")
        return self._device(handle).name

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        self._count("nvmlDeviceGetUUID")
        if isinstance(handle, _MigHandle):
            self._require_init()
            return self.devices[handle.parent].mig_uuids[handle.slot]
        return self._device(handle).uuid

    # --- MIG -------------------------------------------------------------------------------------------------
    def nvmlDeviceGetMaxMigDeviceCount(self, handle: Any) -> int:
        self._count("nvmlDeviceGetMaxMigDeviceCount")
        gpu = self._device(handle)
        return 7 if gpu.mig_uuids else 0

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: Any, index: int) -> _MigHandle:
        self._count("nvmlDeviceGetMigDeviceHandleByIndex")
        gpu = self._device(handle)
        if not 0 <= index < len(gpu.mig_uuids):
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return _MigHandle(handle, index)

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, mig: Any) -> int:
        self._count("nvmlDeviceGetDeviceHandleFromMigDeviceHandle")
        self._require_init()
        if not isinstance(mig, _MigHandle):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return mig.parent

    def nvmlDeviceIsMigDeviceHandle(self, handle: Any) -> int:
        self._count("nvmlDeviceIsMigDeviceHandle")
        self._require_init()
        return 1 if isinstance(handle, _MigHandle) else 0

    # --- readings --------------------------------------------------------------------------------------------
    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        self._count("nvmlDeviceGetTotalEnergyConsumption")
        gpu = self._device(handle)
        if not gpu.has_energy_counter:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return gpu.energy_mj

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        self._count("nvmlDeviceGetPowerUsage")
        gpu = self._device(handle)
        if not gpu.has_power_reading:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return gpu.power_mw

    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> c_nvmlUtilization_t:
        self._count("nvmlDeviceGetUtilizationRates")
        gpu = self._device(handle)
        return c_nvmlUtilization_t(gpu.utilization, 0)

    def nvmlDeviceGetProcessUtilization(self, handle: Any, timeStamp: int) -> list:
        """Samples newer than ``timeStamp`` (µs); NVML_ERROR_NOT_FOUND when there are none, as documented."""
        self._count("nvmlDeviceGetProcessUtilization")
        gpu = self._device(handle)
        if gpu.process_samples is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        fresh = [c_nvmlProcessUtilizationSample_t(pid, ts, sm) for pid, ts, sm in gpu.process_samples
                 if ts > timeStamp]
        if not fresh:
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return fresh

    def nvmlDeviceGetComputeRunningProcesses(self, handle: Any) -> list:
        self._count("nvmlDeviceGetComputeRunningProcesses")
        gpu = self._device(handle)
        if gpu.process_samples is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return [c_nvmlProcessInfo_t(pid) for pid in sorted({s[0] for s in gpu.process_samples})]


def fake_uuid(index: int) -> str:
    """A UUID in NVML's format ("GPU-" + 8-4-4-4-12 hex digits), distinct per index."""
    tail = f"{index:012x}"
    return f"GPU-{index:08x}-1b2c-4d5e-8f90-{tail}"


def make_fake_nvml(count: int = 8, *, name: str = "NVIDIA H100 80GB HBM3", energy_counter: bool = True,
                   power_mw: int = 300_000) -> FakeNVML:
    """A machine with ``count`` identical GPUs (cheap: plain objects, no I/O)."""
    return FakeNVML([FakeGpu(uuid=fake_uuid(i), name=name, has_energy_counter=energy_counter,
                             power_mw=power_mw) for i in range(count)])
