"""A Windows Energy Meter Interface for tests: meters that answer the four documented IOCTLs with the documented
structures (emi.h), byte for byte, including the errors a too-small output buffer gets.

- ``IOCTL_EMI_GET_VERSION`` → ``EMI_VERSION`` (USHORT);
- ``IOCTL_EMI_GET_METADATA_SIZE`` → ``EMI_METADATA_SIZE`` (ULONG);
- ``IOCTL_EMI_GET_METADATA`` → ``EMI_METADATA_V1`` (unit, OEM[16], model[16], revision, name size, name) or
  ``EMI_METADATA_V2`` (OEM[16], model[16], revision, channel count, then each ``EMI_CHANNEL_V2``: unit, name size
  in bytes with its NUL, the UTF-16 name, the next record right after it);
- ``IOCTL_EMI_GET_MEASUREMENT`` → one ``EMI_CHANNEL_MEASUREMENT_DATA`` (AbsoluteEnergy pWh, AbsoluteTime 100 ns)
  per channel, in the metadata's order.
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass, field

from codecarbon.hardware import emi

ERROR_INSUFFICIENT_BUFFER = 122
ERROR_INVALID_FUNCTION = 1
PWH_PER_JOULE = 1 / emi.JOULES_PER_PWH


def _name(text: str, chars: int | None = None) -> bytes:
    raw = text.encode("utf-16-le") + b"\x00\x00"
    if chars is None:
        return raw
    return raw[:chars * 2].ljust(chars * 2, b"\x00")


@dataclass
class FakeMeter:
    """One energy meter device. ``energy_pwh[i]`` is channel i's AbsoluteEnergy; ``time_100ns`` its AbsoluteTime."""

    channels: list[str]
    version: int = emi.EMI_VERSION_V2
    oem: str = "Intel"
    model: str = "RAPL"
    revision: int = 1
    units: list[int] | None = None
    energy_pwh: list[int] = field(default_factory=list)
    time_100ns: int = 133_000_000_000_000_000
    failing: bool = False  # every IOCTL fails (a meter that went away)
    calls: list[int] = field(default_factory=list)
    open_handles: int = 0

    def __post_init__(self) -> None:
        if self.version == emi.EMI_VERSION_V1 and len(self.channels) != 1:
            raise ValueError("an EMI_VERSION_V1 meter has exactly one channel")
        if not self.energy_pwh:
            self.energy_pwh = [1_000_000_000_000 * (i + 1) for i in range(len(self.channels))]
        self.units = self.units or [emi.EMI_UNIT_PICOWATT_HOURS] * len(self.channels)

    def add_joules(self, seconds: float, **watts_by_channel: float) -> None:
        """Let ``seconds`` pass with each named channel drawing its watts (the counters may wrap at 2**64)."""
        self.time_100ns += int(seconds * 1e7)
        for name, watts in watts_by_channel.items():
            index = self.channels.index(name)
            self.energy_pwh[index] = (self.energy_pwh[index] + round(watts * seconds * PWH_PER_JOULE)) % (1 << 64)

    def metadata(self) -> bytes:
        assert self.units is not None
        if self.version == emi.EMI_VERSION_V1:
            name = _name(self.channels[0])
            return struct.pack("<I32s32sHH", self.units[0], _name(self.oem, 16), _name(self.model, 16),
                               self.revision, len(name)) + name
        body = struct.pack("<32s32sHH", _name(self.oem, 16), _name(self.model, 16), self.revision,
                           len(self.channels))
        for unit, channel in zip(self.units, self.channels, strict=True):
            name = _name(channel)
            body += struct.pack("<IH", unit, len(name)) + name
        return body

    def answer(self, code: int, output_size: int) -> bytes:
        self.calls.append(code)
        if self.failing:
            raise OSError(errno.ENODEV, "The device is not connected")
        if code == emi.IOCTL_EMI_GET_VERSION:
            data = struct.pack("<H", self.version)
        elif code == emi.IOCTL_EMI_GET_METADATA_SIZE:
            data = struct.pack("<I", len(self.metadata()))
        elif code == emi.IOCTL_EMI_GET_METADATA:
            data = self.metadata()
        elif code == emi.IOCTL_EMI_GET_MEASUREMENT:
            data = b"".join(struct.pack("<QQ", energy, self.time_100ns) for energy in self.energy_pwh)
        else:
            raise OSError(ERROR_INVALID_FUNCTION, "Incorrect function")
        if output_size < len(data):
            raise OSError(ERROR_INSUFFICIENT_BUFFER, "The data area passed to a system call is too small")
        return data


class _Handle:
    def __init__(self, meter: FakeMeter) -> None:
        self.meter: FakeMeter | None = meter
        meter.open_handles += 1

    def io_control(self, code: int, output_size: int) -> bytes:
        if self.meter is None:
            raise OSError(errno.EBADF, "The handle is invalid")
        return self.meter.answer(code, output_size)

    def close(self) -> None:
        if self.meter is not None:
            self.meter.open_handles -= 1
            self.meter = None


@dataclass
class FakeEmiSystem:
    """The energy meters present, by device path (what SetupAPI lists for GUID_DEVICE_ENERGY_METER)."""

    meters: dict[str, FakeMeter] = field(default_factory=dict)

    def device_paths(self) -> list[str]:
        return list(self.meters)

    def open(self, path: str) -> _Handle:
        meter = self.meters.get(path)
        if meter is None:
            raise OSError(errno.ENOENT, "The system cannot find the file specified")
        return _Handle(meter)


def intel_laptop() -> FakeEmiSystem:
    """What a one-package Intel laptop on Windows 11 lists: one V2 RAPL meter with its planes, and a V1 meter
    of another kind (a battery fuel gauge) that is not the CPU."""
    return FakeEmiSystem({
        r"\\?\ACPI#INTC1046#0#{45bd8344-7ed6-49cf-a440-c276c933b053}": FakeMeter(
            ["RAPL_Package0_PKG", "RAPL_Package0_PP0", "RAPL_Package0_PP1", "RAPL_Package0_DRAM",
             "RAPL_Package_PSYS"]),
        r"\\?\ACPI#PNP0C0A#1#{45bd8344-7ed6-49cf-a440-c276c933b053}": FakeMeter(
            ["Battery"], version=emi.EMI_VERSION_V1, oem="OEM", model="Fuel gauge"),
    })
