"""Legacy 3.x module paths that scripts import keep working, answering with the package's own figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from codecarbon.core.units import Energy
from codecarbon.intensity import resolve_offline_location, static_intensity

REPO = Path(__file__).resolve().parents[1]


def grid(iso3=None, **where) -> float:
    return static_intensity(resolve_offline_location(iso3, **where)).g_co2e_per_kwh


def test_core_emissions_with_geography_records() -> None:
    from codecarbon.core.emissions import Emissions
    from codecarbon.external.geography import CloudMetadata, GeoMetadata
    from codecarbon.input import DataSource

    emissions = Emissions(DataSource())
    assert emissions.get_country_emissions(Energy(2.0), GeoMetadata("FRA")) == pytest.approx(2 * grid("FRA") / 1000)
    california = GeoMetadata(country_iso_code="USA", region="california")
    assert emissions.get_private_infra_emissions(Energy(1.0), california) == pytest.approx(
        grid("USA", region="california") / 1000)
    assert emissions.get_private_infra_emissions(Energy(1.0), GeoMetadata("DEU")) == pytest.approx(grid("DEU") / 1000)
    cloud = CloudMetadata(provider="gcp", region="europe-west1")
    assert not cloud.is_on_private_infra and CloudMetadata().is_on_private_infra
    assert emissions.get_cloud_emissions(Energy(1.0), cloud) == pytest.approx(
        grid(cloud_provider="gcp", cloud_region="europe-west1") / 1000)
    assert emissions.get_cloud_country_iso_code(cloud) == "BEL"
    assert emissions.get_cloud_country_name(cloud) == "Belgium"


def test_input_data_source_gives_the_country_figures() -> None:
    from codecarbon.input import DataSource, DataSourceException

    mix = DataSource().get_global_energy_mix_data()
    assert mix["FRA"]["country_name"] == "France" and mix["FRA"]["carbon_intensity"] == grid("FRA")
    assert len(mix) > 150 and issubclass(DataSourceException, Exception)


def test_legacy_paths_import_nothing_heavy_and_import_codecarbon_does_not_load_them() -> None:
    code = ("import sys, codecarbon; before = set(sys.modules)\n"
            "assert not {'codecarbon.input', 'codecarbon.core.emissions', 'codecarbon.external.geography'} & before\n"
            "import codecarbon.input, codecarbon.core.emissions, codecarbon.external.geography\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'pandas', 'requests', 'pynvml'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "[]"
