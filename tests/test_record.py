"""The slotted value classes that replaced internal dataclasses keep the behaviour code relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecarbon.core import sampler, units
from codecarbon.core.sampler import Reading, Window, window_between
from codecarbon.core.state import ProcessIdentity
from codecarbon.hardware.attribution import CgroupLimits


def _reading(at: float, cpu_j: float) -> Reading:
    return Reading(at=at, wall=1_700_000_000.0 + at, joules={"cpu": cpu_j, "gpu": 0.0, "ram": 0.0},
                   emissions_kg=0.001 * at, cpu_util_s=50.0 * at, gpu_util_s=0.0, ram_util_s=0.0, ram_used_gb_s=0.0,
                   ticks=int(at))


def test_equality_repr_and_hash_are_field_wise() -> None:
    assert _reading(2.0, 10.0) == _reading(2.0, 10.0)
    assert _reading(2.0, 10.0) != _reading(2.0, 11.0)
    assert repr(_reading(1.0, 3.0)).startswith("Reading(at=1.0, wall=1700000001.0, joules={'cpu': 3.0")
    one = ProcessIdentity(12, "t-1.00", "boot", "host")
    assert one == ProcessIdentity(12, "t-1.00", "boot", "host") and len({one, ProcessIdentity(12, "t-1.00", "boot",
                                                                                              "host")}) == 1
    assert one != ProcessIdentity(13, "t-1.00", "boot", "host")
    with pytest.raises(AttributeError):  # slots: a misspelt field is an error, not a new attribute
        one.pdi = 3  # type: ignore[attr-defined]


def test_window_with_emissions_changes_only_the_carbon_figure() -> None:
    window = window_between(_reading(0.0, 0.0), _reading(10.0, 3600.0), pue=1.0)
    priced = window.with_emissions(0.5)
    assert isinstance(priced, Window) and priced.emissions_kg == 0.5
    assert priced.energy_kwh == {"cpu": 0.001, "gpu": 0.0, "ram": 0.0} and priced.power_w["cpu"] == 360.0
    assert priced.with_emissions(window.emissions_kg) == window


def test_replaced_keeps_the_other_fields() -> None:
    limits = CgroupLimits(2, 1.5, 1 << 30, Path("/cg/cpu.stat"))
    wider = limits._replaced(machine_usage_file=Path("/cg-root/cpu.stat"))
    assert (wider.version, wider.cpu_limit, wider.memory_limit_bytes, wider.cpu_usage_file, wider.machine_usage_file) \
        == (2, 1.5, 1 << 30, Path("/cg/cpu.stat"), Path("/cg-root/cpu.stat"))
    assert limits.machine_usage_file is None


def test_the_sampler_converts_with_the_units_constant() -> None:
    assert sampler.JOULES_PER_KWH == units.JOULES_PER_KWH
