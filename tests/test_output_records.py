"""Records for output tests, and the small helpers every network output relies on."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import replace

from codecarbon.output_methods.delivery import channel_key, json_safe, redact_url
from codecarbon.output_methods.emissions_data import CSV_COLUMNS, EmissionsData


def make_record(**changes: object) -> EmissionsData:
    """A plausible 60 s window of a run in France on a machine with one GPU."""
    base = EmissionsData(
        timestamp="2025-03-01T12:00:00", project_name="demo", run_id=str(uuid.uuid4()),
        experiment_id="5b0fa12a-3dd7-45bb-9766-cc326314d9f1", duration=60.0, emissions=0.0001,
        emissions_rate=0.0001 / 60, cpu_power=30.0, gpu_power=100.0, ram_power=5.0, cpu_energy=0.0005,
        gpu_energy=0.0016667, ram_energy=0.0000833, energy_consumed=0.00225, water_consumed=0.0,
        country_name="France", country_iso_code="FRA", region=None, cloud_provider="", cloud_region="",
        os="Linux-6.1-x86_64", python_version="3.11.7", codecarbon_version="3.3.2", cpu_count=8,
        cpu_model="Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz", gpu_count=1, gpu_model="1 x NVIDIA A100",
        longitude=2.35, latitude=48.86, ram_total_size=32.0, tracking_mode="machine",
        cpu_utilization_percent=42.0, gpu_utilization_percent=80.0, ram_utilization_percent=30.0,
        ram_used_gb=9.6, on_cloud="N", pue=1.0, wue=0.0, cpu_measure="rapl", gpu_measure="nvml-energy",
        ram_measure="ram-model", carbon_intensity=56.0, intensity_source="country mix",
    )
    return replace(base, **changes)


def test_json_safe_turns_nan_into_null_and_keeps_column_order() -> None:
    record = make_record(latitude=float("nan"), region=None)
    safe = json_safe(record.values)
    assert list(safe)[:len(CSV_COLUMNS)] == list(CSV_COLUMNS)
    assert safe["latitude"] is None and safe["region"] is None
    json.dumps(safe, allow_nan=False)  # strict JSON accepts it


def test_redact_url_drops_credentials_and_query() -> None:
    assert redact_url("https://user:secret@example.org:8443/api?token=abc#x") == "https://example.org:8443/api"
    assert "secret" not in redact_url("http://u:secret@h/")


def test_channel_key_is_stable_and_file_safe() -> None:
    key = channel_key("http", "http://example.org/a")
    assert key == channel_key("http", "http://example.org/a") != channel_key("http", "http://example.org/b")
    assert key.startswith("http-") and all(c.isalnum() or c == "-" for c in key)


def test_make_record_is_consistent() -> None:
    record = make_record()
    assert math.isclose(record.energy_consumed,
                        record.cpu_energy + record.gpu_energy + record.ram_energy, rel_tol=1e-3)


def test_the_summary_a_person_reads_has_no_e_notation() -> None:
    """The table under a ``%%codecarbon`` cell and IPython's plain view of a short run: ``1.25 mg``, ``22.3 µWh``
    (not ``1.25e-06 g``), each component with its unit."""
    import re

    from IPython.lib.pretty import pretty

    from codecarbon import OfflineEmissionsTracker

    tracker = OfflineEmissionsTracker(country_iso_code="FRA", force_cpu_power=1.0, force_ram_power=0.1,
                                      output_methods=[], log_level="error")
    tracker.start()
    tracker.stop()
    data = tracker.final_emissions_data
    rows = dict(data.summary_rows())
    assert re.fullmatch(r"[\d.]+ (mg|µg|ng) CO2eq", rows["emissions"]), rows
    assert re.fullmatch(r"[\d.]+ (mWh|µWh|nWh) \(CPU / GPU / RAM: [\d.]+ (mWh|µWh|nWh) / 0 Wh / "
                        r"[\d.]+ (mWh|µWh|nWh)\)", rows["energy"]), rows
    table = re.sub(r"<caption.*?</caption>", "", data._repr_html_())  # the caption names the run (hex)
    for shown in (pretty(data), table):
        assert not re.search(r"\de[-+]?\d", shown), shown
