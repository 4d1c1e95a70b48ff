"""CPU (and DRAM) energy on Windows 10 1809+ / 11 from the Energy Meter Interface (EMI), the counters Windows
exposes for RAPL and other meters (what Task Manager and ``\\Energy Meter(*)\\Energy`` read).

The interface, as Microsoft documents it in ``emi.h``: each meter is a device of interface class
``GUID_DEVICE_ENERGY_METER``; four buffered IOCTLs ask it for ``EMI_VERSION`` (1 or 2), the size of its metadata,
the metadata itself, and the current measurement. Version 1 metadata (``EMI_METADATA_V1``) describes one channel
(``MeteredHardwareName``); version 2 (``EMI_METADATA_V2``) has a ``ChannelCount`` of variable-length
``EMI_CHANNEL_V2`` records (unit, name size in bytes, NUL-terminated UTF-16 name) packed one after the other. A
measurement is one ``EMI_CHANNEL_MEASUREMENT_DATA`` per channel, in the metadata's order: ``AbsoluteEnergy``,
the energy accumulated so far in picowatt-hours, and ``AbsoluteTime``, when it was taken, in 100 ns units.

RAPL channels are named ``RAPL_Package<N>_PKG`` (a package), ``_PP0`` (its cores), ``_PP1`` (its graphics),
``_DRAM`` and ``RAPL_Package_PSYS`` (the platform). The cores and graphics planes are inside their package, so
only packages are summed (or the platform counter, when preferred or alone), DRAM is a separate RAM source, and a
channel name seen on two devices is counted once: the same choices as the Linux RAPL source.

Everything that touches Windows is one object with two methods (``device_paths()`` and ``open(path)``, whose
device answers ``io_control(code, output_size)`` with the output buffer's bytes): the real one calls SetupAPI,
``CreateFileW`` and ``DeviceIoControl`` through ctypes; tests hand in one that answers the documented structures.
"""

from __future__ import annotations

import logging
import re
import struct
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

from codecarbon.external.logger import log_once, logger
from codecarbon.hardware.base import Component, EnergySource

# --- emi.h ----------------------------------------------------------------------------------------------------------
#: GUID_DEVICE_ENERGY_METER, the device interface class of energy meters
GUID_DEVICE_ENERGY_METER = "{45BD8344-7ED6-49CF-A440-C276C933B053}"


def _ctl_code(function: int) -> int:
    """CTL_CODE(FILE_DEVICE_UNKNOWN, function, METHOD_BUFFERED, FILE_READ_ACCESS)."""
    file_device_unknown, method_buffered, file_read_access = 0x22, 0, 1
    return (file_device_unknown << 16) | (file_read_access << 14) | (function << 2) | method_buffered


IOCTL_EMI_GET_VERSION = _ctl_code(0)
IOCTL_EMI_GET_METADATA_SIZE = _ctl_code(1)
IOCTL_EMI_GET_METADATA = _ctl_code(2)
IOCTL_EMI_GET_MEASUREMENT = _ctl_code(3)
EMI_VERSION_V1 = 1
EMI_VERSION_V2 = 2
EMI_NAME_MAX = 16  # WCHARs in HardwareOEM and HardwareModel
EMI_UNIT_PICOWATT_HOURS = 0  # EmiMeasurementUnitPicowattHours, the only unit either version defines

_VERSION = struct.Struct("<H")  # EMI_VERSION.EmiVersion
_METADATA_SIZE = struct.Struct("<I")  # EMI_METADATA_SIZE.MetadataSize
_NAMES = f"{EMI_NAME_MAX * 2}s{EMI_NAME_MAX * 2}s"
_METADATA_V1_HEAD = struct.Struct(f"<I{_NAMES}HH")  # unit, OEM, model, revision, MeteredHardwareNameSize
_METADATA_V2_HEAD = struct.Struct(f"<{_NAMES}HH")  # OEM, model, revision, ChannelCount
_CHANNEL_V2_HEAD = struct.Struct("<IH")  # MeasurementUnit, ChannelNameSize; the name follows (no padding)
_MEASUREMENT = struct.Struct("<QQ")  # AbsoluteEnergy (pWh), AbsoluteTime (100 ns)

JOULES_PER_PWH = 3.6e-9  # 1 pWh = 1e-12 Wh = 3.6e-9 J
_COUNTER_SPAN = 1 << 64  # AbsoluteEnergy is a ULONGLONG
#: A backwards step is a 64-bit wrap only if the energy it implies is physically possible in the time elapsed;
#: otherwise the meter restarted (driver reload, resume) and its new reading is the energy since then.
_MAX_CHANNEL_W = 10_000.0

_RAPL_CHANNEL = re.compile(r"^RAPL_Package(\d*)_(PKG|PP0|PP1|DRAM|PSYS)$", re.IGNORECASE)


class EmiError(OSError):
    """A meter answered something that is not the documented structure."""


# --- the seam -------------------------------------------------------------------------------------------------------
class EmiDevice(Protocol):
    def io_control(self, code: int, output_size: int) -> bytes:
        """DeviceIoControl with no input: the bytes the device wrote to an ``output_size`` buffer (OSError)."""

    def close(self) -> None: ...


class EmiSystem(Protocol):
    def device_paths(self) -> list[str]:
        """The device paths of every present energy meter."""

    def open(self, path: str) -> EmiDevice:
        """Open one meter for reading (OSError when it cannot be)."""


# --- what a meter says ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmiChannel:
    """One counter of one meter: where it is (device path, index in its measurements) and what it measures."""

    path: str
    index: int
    name: str
    unit: int

    @property
    def rapl(self) -> Optional[tuple[str, str]]:
        """("0", "PKG") for RAPL_Package0_PKG; None for a channel that is not a RAPL domain."""
        match = _RAPL_CHANNEL.match(self.name)
        return (match.group(1), match.group(2).upper()) if match else None


@dataclass(frozen=True)
class EmiMeter:
    path: str
    version: int
    oem: str
    model: str
    revision: int
    channels: tuple[EmiChannel, ...]


def _utf16(raw: bytes) -> str:
    return raw.decode("utf-16-le", errors="replace").split("\x00", 1)[0].strip()


def parse_version(data: bytes) -> int:
    if len(data) < _VERSION.size:
        raise EmiError("EMI_VERSION answer too short")
    return int(_VERSION.unpack_from(data)[0])


def parse_metadata(path: str, version: int, data: bytes) -> EmiMeter:
    """EMI_METADATA_V1 (one channel) or EMI_METADATA_V2 (ChannelCount packed EMI_CHANNEL_V2 records)."""
    try:
        if version == EMI_VERSION_V1:
            unit, oem, model, revision, name_size = _METADATA_V1_HEAD.unpack_from(data)
            start = _METADATA_V1_HEAD.size
            if start + name_size > len(data):
                raise EmiError("EMI_METADATA_V1 name runs past the buffer")
            name = _utf16(data[start:start + name_size])
            return EmiMeter(path, version, _utf16(oem), _utf16(model), revision,
                            (EmiChannel(path, 0, name, unit),))
        if version == EMI_VERSION_V2:
            oem, model, revision, count = _METADATA_V2_HEAD.unpack_from(data)
            offset = _METADATA_V2_HEAD.size
            channels = []
            for index in range(count):
                unit, name_size = _CHANNEL_V2_HEAD.unpack_from(data, offset)
                start = offset + _CHANNEL_V2_HEAD.size
                if start + name_size > len(data):
                    raise EmiError(f"EMI_CHANNEL_V2 #{index} runs past the buffer")
                channels.append(EmiChannel(path, index, _utf16(data[start:start + name_size]), unit))
                offset = start + name_size  # EMI_CHANNEL_V2_NEXT_CHANNEL
            return EmiMeter(path, version, _utf16(oem), _utf16(model), revision, tuple(channels))
    except struct.error as error:
        raise EmiError(f"EMI metadata too short: {error}") from None
    raise EmiError(f"EMI version {version} is not one this code knows (1 or 2)")


def parse_measurements(data: bytes, count: int) -> list[tuple[int, int]]:
    """(AbsoluteEnergy pWh, AbsoluteTime 100 ns) for each of ``count`` channels."""
    if len(data) < count * _MEASUREMENT.size:
        raise EmiError(f"EMI measurement answer holds {len(data)} bytes, {count} channel(s) need "
                       f"{count * _MEASUREMENT.size}")
    return [_MEASUREMENT.unpack_from(data, i * _MEASUREMENT.size) for i in range(count)]


def read_meter(device: EmiDevice, path: str) -> EmiMeter:
    """Version, then metadata size, then metadata: the order the documentation asks for."""
    version = parse_version(device.io_control(IOCTL_EMI_GET_VERSION, _VERSION.size))
    size = _METADATA_SIZE.unpack_from(device.io_control(IOCTL_EMI_GET_METADATA_SIZE, _METADATA_SIZE.size))[0]
    if not 0 < size <= 1 << 20:
        raise EmiError(f"EMI metadata size {size} is not plausible")
    return parse_metadata(path, version, device.io_control(IOCTL_EMI_GET_METADATA, size))


def read_measurements(device: EmiDevice, count: int) -> list[tuple[int, int]]:
    return parse_measurements(device.io_control(IOCTL_EMI_GET_MEASUREMENT, count * _MEASUREMENT.size), count)


# --- which channels -------------------------------------------------------------------------------------------------
@dataclass
class EmiDiscovery:
    """The channels to count for the CPU and for DRAM (read through ``system``), and what was seen."""

    system: Any = None
    cpu_channels: list[EmiChannel] = field(default_factory=list)
    cpu_method: str = "emi"
    dram_channels: list[EmiChannel] = field(default_factory=list)
    channel_counts: dict[str, int] = field(default_factory=dict)  # device path -> its number of channels
    notes: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return bool(self.cpu_channels)


def _one_per_name(channels: list[EmiChannel]) -> list[EmiChannel]:
    """A channel name seen on two meters is one counter seen twice: keep the first."""
    chosen: dict[str, EmiChannel] = {}
    for channel in channels:
        chosen.setdefault(channel.name.upper(), channel)
    return list(chosen.values())


def discover_emi(system: EmiSystem, *, prefer_psys: bool = False, include_dram: bool = False) -> EmiDiscovery:
    """Read every meter's metadata and pick the channels. Never raises: a meter that fails is left out."""
    result = EmiDiscovery(system=system)
    try:
        paths = list(system.device_paths())
    except (OSError, AttributeError, ValueError) as error:
        logger.debug("EMI: no energy meters listed (%s)", error)
        return result
    meters: list[EmiMeter] = []
    for path in paths:
        try:
            device = system.open(path)
        except OSError as error:
            logger.debug("EMI: cannot open %s: %s", path, error)
            continue
        try:
            meters.append(read_meter(device, path))
        except (OSError, struct.error) as error:
            logger.debug("EMI: %s gave no usable metadata: %s", path, error)
        finally:
            device.close()
    rapl: dict[str, list[EmiChannel]] = {"PKG": [], "PSYS": [], "DRAM": [], "PP0": [], "PP1": []}
    for meter in meters:
        result.channel_counts[meter.path] = len(meter.channels)
        for channel in meter.channels:
            kind = channel.rapl
            if kind is None:
                continue
            if channel.unit != EMI_UNIT_PICOWATT_HOURS:
                result.notes.append(f"cpu: EMI channel {channel.name} has unknown unit {channel.unit}; not used")
                continue
            rapl[kind[1]].append(channel)
    packages, psys = _one_per_name(rapl["PKG"]), _one_per_name(rapl["PSYS"])
    if psys and (prefer_psys or not packages):
        result.cpu_channels, result.cpu_method = psys, "emi-psys"
    else:
        result.cpu_channels, result.cpu_method = packages, "emi"
    if include_dram:
        result.dram_channels = _one_per_name(rapl["DRAM"])
        if not result.dram_channels:
            result.notes.append("ram: rapl_include_dram is set but no EMI RAPL DRAM channel was found")
    if result.cpu_channels:
        skipped = [c.name for c in rapl["PP0"] + rapl["PP1"]]
        result.notes.append(f"cpu: {result.cpu_method} from " + ", ".join(c.name for c in result.cpu_channels)
                            + (f" (inside them, not added: {', '.join(skipped)})" if skipped else ""))
    if result.dram_channels:
        result.notes.append("ram: emi-dram from " + ", ".join(c.name for c in result.dram_channels))
    return result


# --- the source -----------------------------------------------------------------------------------------------------
class _ChannelCounter:
    """One channel's AbsoluteEnergy turned into energy since open(), across 64-bit wraps and meter restarts."""

    __slots__ = ("channel", "last_pwh", "last_time", "total_pwh")

    def __init__(self, channel: EmiChannel, energy_pwh: int, time_100ns: int) -> None:
        self.channel = channel
        self.last_pwh = energy_pwh
        self.last_time = time_100ns
        self.total_pwh = 0

    def advance(self, energy_pwh: int, time_100ns: int) -> None:
        previous, self.last_pwh = self.last_pwh, energy_pwh
        elapsed_s = ((time_100ns - self.last_time) % _COUNTER_SPAN) * 1e-7
        self.last_time = time_100ns
        if energy_pwh >= previous:
            self.total_pwh += energy_pwh - previous
            return
        wrapped = energy_pwh + _COUNTER_SPAN - previous
        if wrapped * JOULES_PER_PWH <= _MAX_CHANNEL_W * max(elapsed_s, 1.0):
            self.total_pwh += wrapped
        else:
            log_once(f"emi-restart-{self.channel.path}-{self.channel.name}", logging.INFO,
                     "EMI channel %s restarted counting; its energy since the restart is added", self.channel.name)
            self.total_pwh += energy_pwh


class _OpenMeter:
    """One open meter and the chosen channels read from it with one IOCTL per reading."""

    def __init__(self, system: EmiSystem, path: str, count: int, channels: list[EmiChannel]) -> None:
        self.path = path
        self.count = count
        self.device = system.open(path)
        try:
            readings = read_measurements(self.device, count)
        except OSError:
            self.device.close()
            raise
        self.counters = [_ChannelCounter(c, *readings[c.index]) for c in channels]
        self.alive = True

    def advance(self) -> None:
        if not self.alive:
            return
        try:
            readings = read_measurements(self.device, self.count)
        except OSError as error:
            self.alive = False
            log_once(f"emi-read-{self.path}", logging.WARNING, "stopped reading the energy meter %s (%s); its "
                     "energy so far is kept", ", ".join(c.channel.name for c in self.counters), error)
            self.close()
            return
        for counter in self.counters:
            counter.advance(*readings[counter.channel.index])

    def total_pwh(self) -> int:
        return sum(c.total_pwh for c in self.counters)

    def close(self) -> None:
        try:
            self.device.close()
        except OSError:
            pass


class EmiSource(EnergySource):
    """Cumulative energy of a set of EMI channels (packages, the platform, or DRAM) since ``open()``."""

    def __init__(self, system: EmiSystem, channels: list[EmiChannel], channel_counts: dict[str, int], *,
                 component: Component = "cpu", method: str = "emi") -> None:
        if not channels:
            raise ValueError("channels: expected at least one EMI channel")
        self.system = system
        self.channels = list(channels)
        self.channel_counts = dict(channel_counts)
        self.component = component
        self.method = method
        self._meters: list[_OpenMeter] = []

    def open(self) -> None:
        self.close()
        by_path: dict[str, list[EmiChannel]] = {}
        for channel in self.channels:
            by_path.setdefault(channel.path, []).append(channel)
        for path, channels in by_path.items():
            count = self.channel_counts.get(path, max(c.index for c in channels) + 1)
            try:
                self._meters.append(_OpenMeter(self.system, path, count, channels))
            except OSError as error:
                log_once(f"emi-open-{path}", logging.WARNING, "cannot read the energy meter for %s: %s",
                         ", ".join(c.name for c in channels), error)

    def read_joules(self) -> float:
        total = 0
        for meter in self._meters:
            meter.advance()
            total += meter.total_pwh()
        return total * JOULES_PER_PWH

    def close(self) -> None:
        for meter in self._meters:
            meter.close()
        self._meters = []


# --- the real Windows -----------------------------------------------------------------------------------------------
class WindowsEmiSystem:
    """SetupAPI lists the meters, ``CreateFileW`` opens one, ``DeviceIoControl`` asks it (through ctypes)."""

    def __init__(self) -> None:
        import ctypes

        windll = getattr(ctypes, "WinDLL", None)
        if windll is None:
            raise OSError("the Energy Meter Interface exists only on Windows")
        self._ctypes: Any = ctypes
        self._setupapi: Any = windll("setupapi", use_last_error=True)
        self._kernel32: Any = windll("kernel32", use_last_error=True)
        handle, dword, pointer = ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p
        self._setupapi.SetupDiGetClassDevsW.restype = handle
        self._setupapi.SetupDiGetClassDevsW.argtypes = [pointer, ctypes.c_wchar_p, handle, dword]
        self._setupapi.SetupDiEnumDeviceInterfaces.argtypes = [handle, pointer, pointer, dword, pointer]
        self._setupapi.SetupDiGetDeviceInterfaceDetailW.argtypes = [handle, pointer, pointer, dword, pointer,
                                                                    pointer]
        self._setupapi.SetupDiDestroyDeviceInfoList.argtypes = [handle]
        self._kernel32.CreateFileW.restype = handle
        self._kernel32.CreateFileW.argtypes = [ctypes.c_wchar_p, dword, dword, pointer, dword, dword, handle]
        self._kernel32.DeviceIoControl.argtypes = [handle, dword, pointer, dword, pointer, dword, pointer, pointer]
        self._kernel32.CloseHandle.argtypes = [handle]

    def _guid(self) -> Any:
        ctypes = self._ctypes
        import uuid

        value = uuid.UUID(GUID_DEVICE_ENERGY_METER)
        return ctypes.create_string_buffer(value.bytes_le, 16)  # GUID's in-memory layout

    def _invalid(self, handle: Any) -> bool:
        return handle is None or handle == self._ctypes.c_void_p(-1).value

    def device_paths(self) -> list[str]:
        ctypes = self._ctypes
        digcf_present, digcf_deviceinterface, error_no_more_items = 0x2, 0x10, 259
        guid = self._guid()
        devices = self._setupapi.SetupDiGetClassDevsW(guid, None, None, digcf_present | digcf_deviceinterface)
        if self._invalid(devices):
            raise OSError(ctypes.get_last_error(), "SetupDiGetClassDevsW failed")
        paths: list[str] = []
        pointer_size = ctypes.sizeof(ctypes.c_void_p)
        # SP_DEVICE_INTERFACE_DATA: cbSize, InterfaceClassGuid, Flags, Reserved (ULONG_PTR)
        interface_size = 4 + 16 + 4 + pointer_size  # 32 bytes on 64-bit, 28 on 32-bit: no padding either way
        try:
            index = 0
            while True:
                interface = ctypes.create_string_buffer(interface_size)
                struct.pack_into("<I", interface, 0, interface_size)
                if not self._setupapi.SetupDiEnumDeviceInterfaces(devices, None, guid, index, interface):
                    if ctypes.get_last_error() == error_no_more_items:
                        break
                    raise OSError(ctypes.get_last_error(), "SetupDiEnumDeviceInterfaces failed")
                index += 1
                required = ctypes.c_ulong(0)
                self._setupapi.SetupDiGetDeviceInterfaceDetailW(devices, interface, None, 0,
                                                                ctypes.byref(required), None)
                if required.value < 6:
                    continue
                detail = ctypes.create_string_buffer(required.value)
                # SP_DEVICE_INTERFACE_DETAIL_DATA_W.cbSize: the fixed part's size (8 on 64-bit, 6 on 32-bit)
                struct.pack_into("<I", detail, 0, 8 if pointer_size == 8 else 6)
                if self._setupapi.SetupDiGetDeviceInterfaceDetailW(devices, interface, detail, required.value,
                                                                   None, None):
                    paths.append(ctypes.wstring_at(ctypes.addressof(detail) + 4))
        finally:
            self._setupapi.SetupDiDestroyDeviceInfoList(devices)
        return paths

    def open(self, path: str) -> EmiDevice:
        generic_read, share_read_write, open_existing = 0x80000000, 0x3, 3
        handle = self._kernel32.CreateFileW(path, generic_read, share_read_write, None, open_existing, 0, None)
        if self._invalid(handle):
            raise OSError(self._ctypes.get_last_error(), f"CreateFileW({path}) failed")
        return _WindowsEmiDevice(self, handle)


class _WindowsEmiDevice:
    def __init__(self, system: WindowsEmiSystem, handle: Any) -> None:
        self._system = system
        self._handle = handle

    def io_control(self, code: int, output_size: int) -> bytes:
        ctypes = self._system._ctypes
        if self._handle is None:
            raise OSError("the energy meter is closed")
        buffer = ctypes.create_string_buffer(output_size)
        returned = ctypes.c_ulong(0)
        if not self._system._kernel32.DeviceIoControl(self._handle, code, None, 0, buffer, output_size,
                                                      ctypes.byref(returned), None):
            raise OSError(ctypes.get_last_error(), f"DeviceIoControl({code:#x}) failed")
        return bytes(buffer.raw[:returned.value])

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            self._system._kernel32.CloseHandle(handle)


def default_system() -> Optional[EmiSystem]:
    """The real EMI on Windows; None where it cannot be reached."""
    try:
        return WindowsEmiSystem()
    except (OSError, AttributeError, ImportError) as error:
        logger.debug("EMI not available: %s", error)
        return None
