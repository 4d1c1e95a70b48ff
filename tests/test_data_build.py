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
    ours = {path: path.read_bytes() for path in (REPO / "codecarbon" / "data").iterdir() if path.is_file()}
    for source in REFERENCE.rglob("*"):
        if source.is_file():
            assert source.read_bytes() not in ours.values(), source


def _reference_json(name: str) -> dict:
    return json.loads((REFERENCE / "codecarbon-3.x" / name).read_text(encoding="utf-8"))


def _google_figures(year: int) -> dict[str, float]:
    with (REFERENCE / "google-cloud-region-carbon" / f"{year}.csv").open(encoding="utf-8") as handle:
        return {row[0]: float(row[3]) for row in list(csv.reader(handle))[1:]}


@needs_reference
def test_us_states_are_egrid2023_converted_from_lbs_per_mwh(committed):
    raw = _reference_json("2023_usa_emissions.json")
    assert raw["_source"]["year"] == 2023 and raw["_unit"]["emissions"] == "lbs/MWh"
    states = committed["regions"]["USA"]
    expected = {name: row for name, row in raw.items() if not name.startswith("_") and name != "usa"}
    assert set(states) == set(expected) and len(states) == 51  # 50 states and DC
    for name, row in expected.items():
        # 1 lb = 453.59237 g, 1 MWh = 1000 kWh: lbs/MWh × 0.45359237 = g/kWh (3.3.2: × 0.00045359237 kg/kWh)
        assert states[name]["g"] == pytest.approx(row["emissions"] * 453.59237 / 1000, abs=1e-3), name
        assert (states[name]["code"], states[name]["year"], states[name]["src"]) == (row["regionCode"], 2023,
                                                                                    "egrid-2023")
    assert states["california"]["g"] == 179.064  # 394.769 lbs/MWh
    assert "usa" not in states and "_unit" not in states and "_source" not in states


@needs_reference
def test_every_country_is_its_published_figure_as_in_3_3_2(committed):
    mix = _reference_json("global_energy_mix.json")
    for iso3, row in mix.items():
        record = committed["countries"][iso3]
        # 3.3.2 uses the published carbon_intensity as is whenever it is there, 0.0 included.
        assert record["g"] == pytest.approx(row["carbon_intensity"], abs=1e-3), iso3
        assert (record["src"], record["year"], record["name"]) == ("owid-energy", row["year"], row["country_name"])
    assert committed["countries"]["FRA"]["g"] == 56.039 and committed["countries"]["FRA"]["iso2"] == "FR"
    assert committed["world_average"] == {"g": 475.0, "src": "world-average", "year": 2019}


@needs_reference
def test_canadian_provinces_are_weighted_as_3_3_2_does(committed):
    raw = _reference_json("2023_canada_energy_mix.json")
    provinces = committed["regions"]["CAN"]
    assert set(provinces) == set(raw)
    for name, mix in raw.items():
        # 3.3.2: Σ share × factor over coal, petroleum and natural gas only (kg/kWh, energy-usage project).
        kg = (mix["coal"] * 0.995725971 + mix["petroleum"] * 0.8166885263
              + mix["naturalGas"] * 0.7438415916) / mix["total"]
        assert provinces[name]["g"] == pytest.approx(kg * 1000, abs=1e-3), name
        assert (provinces[name]["src"], provinces[name]["year"]) == ("cer-2023-mix", 2023)
    assert provinces["alberta"]["g"] > 100 * provinces["quebec"]["g"]


@needs_reference
def test_chinese_provinces_are_the_2023_official_factors(committed):
    raw = _reference_json("2023_china_provincial_emissions.json")
    provinces = committed["regions"]["CHN"]
    assert len(provinces) == len(raw["data"]) == 30
    by_code = {record["code"]: (name, record) for name, record in provinces.items()}
    for code, row in raw["data"].items():
        name, record = by_code[code]
        assert name == row["description"].lower()
        assert record["g"] == pytest.approx(row["emission_factor"], abs=1e-3), code
        assert (record["year"], record["src"]) == (2023, "mee-china-2023")
        assert {name, *record.get("aka", [])} >= set(row["names"])
    assert provinces["beijing"] == {"code": "CN-BJ", "g": 555.4, "src": "mee-china-2023", "year": 2023}
    assert committed["sources"]["mee-china-2023"]["year"] == 2023


@needs_reference
def test_nordic_zones_are_the_2025_factors(committed):
    raw = _reference_json("nordic_emissions.json")["data"]
    countries = {"SE": "SWE", "NO": "NOR", "FI": "FIN"}
    for zone, row in raw.items():
        record = committed["regions"][countries[zone[:2]]][zone.lower()]
        assert (record["g"], record["year"]) == (pytest.approx(row["emission_factor"], abs=1e-3), row["year"])
    assert committed["regions"]["SWE"]["se3"]["year"] == 2025 and committed["regions"]["NOR"]["no4"]["g"] == 51.7


@needs_reference
def test_gcp_regions_use_google_2024_figures_newer_than_3_3_2s(committed):
    gcp = committed["cloud"]["gcp"]
    latest, previous = _google_figures(2024), _google_figures(2023)
    for region, grid in latest.items():
        assert gcp[region]["g"] == pytest.approx(grid), region
        assert (gcp[region]["year"], gcp[region]["src"]) == (2024, "gcp-region-carbon")
    # 3.3.2's cloud table is Google's 2023 publication: every figure we replace is older than the one we credit.
    with (REFERENCE / "codecarbon-3.x" / "cloud_impact.csv").open(encoding="utf-8-sig") as handle:
        shipped = {row["region"].replace("cenrtal", "central"): row for row in csv.DictReader(handle)}
    for region, row in shipped.items():
        assert float(row["impact"]) == pytest.approx(previous[region]), region
        assert gcp[region]["iso3"] == row["countryIsoCode"] and region in latest
    assert "me-cenrtal1" not in gcp and gcp["me-central1"]["iso3"] == "QAT"
    assert committed["sources"]["gcp-region-carbon"]["year"] == 2024


@needs_reference
def test_per_source_factors_carry_biomass_and_the_mix_uses_biofuel(builder, committed, tmp_path):
    raw = _reference_json("carbon_intensity_per_source.json")
    factors = committed["sources"]["lifecycle-factors"]["factors"]
    for source in ("biomass", "biofuel", "waste", "coal", "hydroelectricity"):
        assert factors[source] == raw[source]
    assert factors["biofuel"] == 230
    # A country without a published figure: its mix is weighted, bioenergy at the biomass factor.
    folder = tmp_path / "codecarbon-3.x"
    folder.mkdir()
    (folder / "global_energy_mix.json").write_text(json.dumps({"XYZ": {
        "country_name": "Testland", "year": 2023, "carbon_intensity": None, "total_TWh": 10.0,
        "coal_TWh": 2.0, "gas_TWh": 0.0, "oil_TWh": 0.0, "hydroelectricity_TWh": 4.0, "nuclear_TWh": 0.0,
        "solar_TWh": 0.0, "wind_TWh": 0.0, "biofuel_TWh": 4.0, "fossil_TWh": 2.0, "renewables_TWh": 8.0}}))
    country = builder.build_countries(tmp_path, builder.lifecycle_factors(REFERENCE))["XYZ"]
    assert country["src"] == "owid-energy-mix"
    assert country["g"] == pytest.approx((2 * 995 + 4 * 26 + 4 * 230) / 10)


def test_lbs_per_mwh_conversion_constant(builder):
    assert builder.LB_PER_MWH_TO_G_PER_KWH == pytest.approx(453.59237 / 1000, rel=1e-12)


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
