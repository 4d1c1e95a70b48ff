"""Units the package reports in, as small value types, so conversions live in one place."""

from __future__ import annotations

from dataclasses import dataclass

JOULES_PER_KWH = 3_600_000.0
LBS_PER_MWH_TO_G_PER_KWH = 0.45359237  # 1 lb = 453.59237 g; per MWh → per kWh divides by 1000


@dataclass(frozen=True, order=True)
class Energy:
    """Energy, stored in kWh (the unit of every *_energy column)."""

    kWh: float  # noqa: N815 - unit name

    @classmethod
    def from_joules(cls, joules: float) -> Energy:
        return cls(joules / JOULES_PER_KWH)

    @classmethod
    def from_ujoules(cls, microjoules: float) -> Energy:
        return cls(microjoules / 1e6 / JOULES_PER_KWH)

    @classmethod
    def from_power_and_time(cls, *, power: Power, time: Time) -> Energy:
        return cls(power.kW * time.hours)

    @property
    def joules(self) -> float:
        return self.kWh * JOULES_PER_KWH

    def __add__(self, other: Energy) -> Energy:
        return Energy(self.kWh + other.kWh)

    def __sub__(self, other: Energy) -> Energy:
        return Energy(self.kWh - other.kWh)

    def __mul__(self, factor: float) -> Energy:
        return Energy(self.kWh * factor)

    __rmul__ = __mul__


@dataclass(frozen=True, order=True)
class Power:
    """Power, stored in kW; ``W`` gives watts (the unit of every *_power column)."""

    kW: float  # noqa: N815

    @classmethod
    def from_watts(cls, watts: float) -> Power:
        return cls(watts / 1000.0)

    @classmethod
    def from_energies_and_delay(cls, later: Energy, earlier: Energy, delay: Time) -> Power:
        return cls((later.kWh - earlier.kWh) / delay.hours) if delay.hours > 0 else cls(0.0)

    @property
    def W(self) -> float:  # noqa: N802
        return self.kW * 1000.0


@dataclass(frozen=True, order=True)
class Time:
    """A duration, stored in seconds."""

    seconds: float

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0


@dataclass(frozen=True, order=True)
class Water:
    """Water, in litres (``water_consumed`` = energy × WUE)."""

    litres: float


@dataclass(frozen=True, order=True)
class EmissionsPerKWh:
    """Carbon intensity; stored in kg CO2eq per kWh."""

    kgs_per_kWh: float  # noqa: N815

    @classmethod
    def from_g_per_kWh(cls, g_per_kwh: float) -> EmissionsPerKWh:  # noqa: N802
        return cls(g_per_kwh / 1000.0)

    @classmethod
    def from_lbs_per_mWh(cls, lbs_per_mwh: float) -> EmissionsPerKWh:  # noqa: N802
        return cls(lbs_per_mwh * LBS_PER_MWH_TO_G_PER_KWH / 1000.0)

    @property
    def g_per_kWh(self) -> float:  # noqa: N802
        return self.kgs_per_kWh * 1000.0
