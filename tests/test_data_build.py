"""The bundled intensity table is what scripts/build_intensity_data.py makes of ../shared/reference-data."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "build_intensity_data.py"
REFERENCE = REPO.parent / "shared" / "reference-data"
COMMITTED = REPO / "codecarbon" / "data" / "carbon_intensity.json"

needs_reference = pytest.mark.skipif(not (REFERENCE / "codecarbon-3.x").is_dir(),
                                     reason="../shared/reference-data is not beside this checkout")


@pytest.fixture(scope="module")
def builder():
    spec = importlib.util.spec_from_file_location("build_intensity_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


@needs_reference
def test_committed_table_equals_a_fresh_build(builder):
    assert COMMITTED.read_text(encoding="utf-8") == builder.render(builder.build(REFERENCE))


@needs_reference
def test_build_is_deterministic_and_check_mode_agrees(builder, tmp_path):
    out = tmp_path / "table.json"
    assert builder.main(["--reference", str(REFERENCE), "--output", str(out)]) == 0
    first = out.read_bytes()
    assert builder.main(["--reference", str(REFERENCE), "--output", str(out)]) == 0
    assert out.read_bytes() == first
    assert builder.main(["--reference", str(REFERENCE), "--output", str(out), "--check"]) == 0
    out.write_text("{}\n")
    assert builder.main(["--reference", str(REFERENCE), "--output", str(out), "--check"]) == 1


@needs_reference
def test_no_source_file_is_copied_verbatim():
    ours = COMMITTED.read_bytes()
    for source in REFERENCE.rglob("*"):
        if source.is_file():
            assert source.read_bytes() != ours, source


@needs_reference
def test_us_states_are_converted_from_lbs_per_mwh(committed):
    raw = json.loads((REFERENCE / "codecarbon-3.x" / "2016_usa_emissions.json").read_text())
    states = committed["regions"]["USA"]
    for name in ("california", "texas", "new york"):
        assert states[name]["g"] == pytest.approx(raw[name]["emissions"] * 0.45359237, abs=1e-3)
        assert states[name]["code"] == raw[name]["regionCode"]
    assert "usa" not in states and "_unit" not in states


@needs_reference
def test_gcp_regions_use_the_latest_google_figures(committed):
    with (REFERENCE / "google-cloud-region-carbon" / "2024.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    gcp = committed["cloud"]["gcp"]
    for region, _location, _cfe, grid in rows:
        assert gcp[region]["g"] == pytest.approx(float(grid)), region
        assert gcp[region]["year"] == 2024
    assert "me-cenrtal1" not in gcp and gcp["me-central1"]["iso3"] == "QAT"


def test_country_published_figure_wins_and_mix_fills_gaps(committed):
    france = committed["countries"]["FRA"]
    assert (france["g"], france["src"], france["year"], france["iso2"]) == (56.039, "owid-energy", 2023, "FR")
    # The Central African Republic publishes no intensity: all its generation is hydro, 26 g/kWh life-cycle.
    caf = committed["countries"]["CAF"]
    assert (caf["g"], caf["src"]) == (26.0, "owid-energy-mix")


def test_canadian_provinces_weight_the_mix_by_lifecycle_factors(committed):
    factors = committed["sources"]["lifecycle-factors"]["factors"]
    quebec = committed["regions"]["CAN"]["quebec"]
    assert quebec["src"] == "cer-2023-mix" and quebec["year"] == 2023
    assert factors["hydroelectricity"] * 0.9 < quebec["g"] < factors["hydroelectricity"] * 1.5
    alberta = committed["regions"]["CAN"]["alberta"]
    assert alberta["g"] > 10 * quebec["g"]


def test_every_record_names_a_credited_source(committed):
    sources = committed["sources"]
    used = {committed["world_average"]["src"]}
    used |= {c["src"] for c in committed["countries"].values()}
    used |= {r["src"] for regions in committed["regions"].values() for r in regions.values()}
    used |= {r["src"] for regions in committed["cloud"].values() for r in regions.values()}
    assert used <= set(sources)
    for source in sources.values():
        assert source["title"] and source["url"].startswith("http") and source["licence"]


def test_table_is_small(committed):
    assert COMMITTED.stat().st_size < 64 * 1024
    assert len(committed["countries"]) > 200
