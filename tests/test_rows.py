"""Row building (core/rows.py): the columns every path writes come from two pure functions."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from codecarbon.core.rows import changing_columns, row_order, static_columns
from codecarbon.core.sampler import Reading, window_between
from codecarbon.output_methods.emissions_data import EmissionsData


def _reading(at: float, cpu_j: float, emissions_kg: float) -> Reading:
    return Reading(at=at, wall=1_700_000_000.0 + at, joules={"cpu": cpu_j, "gpu": 0.0, "ram": 360.0 * at},
                   emissions_kg=emissions_kg, cpu_util_s=50.0 * at, gpu_util_s=0.0, ram_util_s=10.0 * at,
                   ram_used_gb_s=2.0 * at, ticks=int(at))


def test_a_window_gives_its_energy_power_rate_water_and_the_intensity_it_was_charged_at():
    window = window_between(_reading(0.0, 0.0, 0.0), _reading(10.0, 3600.0, 0.0002), pue=1.0)
    cols = changing_columns(window, end_wall=1_700_000_010.0, wue=2.0, fallback_g_per_kwh=999.0)
    assert cols["duration"] == 10.0
    assert cols["cpu_energy"] == 0.001 and cols["cpu_power"] == 360.0
    assert abs(cols["ram_energy"] - 0.001) < 1e-15
    assert abs(cols["energy_consumed"] - 0.002) < 1e-15
    assert abs(cols["water_consumed"] - 0.004) < 1e-15
    assert abs(cols["emissions_rate"] - 0.00002) < 1e-15
    assert abs(cols["carbon_intensity"] - 100.0) < 1e-9  # 0.2 g over 2 Wh
    assert cols["cpu_utilization_percent"] == 50.0 and cols["ram_used_gb"] == 2.0


def test_a_window_without_energy_shows_the_intensity_of_the_moment_and_no_rate():
    window = window_between(_reading(5.0, 0.0, 0.0), _reading(5.0, 0.0, 0.0), pue=1.0)
    cols = changing_columns(window, end_wall=0.0, wue=0.0, fallback_g_per_kwh=56.0)
    assert cols["carbon_intensity"] == 56.0 and cols["emissions_rate"] == 0.0


def test_static_and_changing_columns_together_are_every_column_of_a_row_in_order():
    settings = SimpleNamespace(project_name="p", experiment_id="e", tracking_mode="machine", pue=1.2, wue=0.0)
    hardware = SimpleNamespace(cpu_count=4, cpu_model="x", gpu_count=0, gpu_model="", ram_total_size=8.0,
                               measure_label=lambda c: {"cpu": "rapl", "gpu": "", "ram": "ram-model"}[c])
    location = SimpleNamespace(country_name="France", country_iso_code="FRA", region=None, cloud_provider=None,
                               cloud_region=None, longitude=2.349, latitude=48.864, on_cloud="N")
    intensity = SimpleNamespace(source="owid", year=2023, g_co2e_per_kwh=56.0)
    from codecarbon.core.job import JOB_COLUMNS

    static = static_columns(settings, hardware, location, intensity, dict.fromkeys(JOB_COLUMNS, ""), "r-1")
    assert static["intensity_source"] == "owid 2023" and static["longitude"] == 2.3 and static["latitude"] == 48.9
    window = window_between(_reading(0.0, 0.0, 0.0), _reading(1.0, 1.0, 0.0), pue=1.2)
    row = EmissionsData(**static, **changing_columns(window, 0.0, 0.0, 56.0))
    assert tuple(f.name for f in dataclasses.fields(row)) == row_order()
    assert row.run_id == "r-1" and row.cpu_measure == "rapl" and row.pue == 1.2
