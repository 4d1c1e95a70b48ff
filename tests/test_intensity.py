"""Offline lookups: user-given locations checked against the bundled table and turned into g/kWh."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from codecarbon.intensity import (
    Intensity,
    IntensityResolver,
    Location,
    list_cloud_regions,
    list_countries,
    list_regions,
    resolve_offline_location,
)

REPO = Path(__file__).resolve().parent.parent


def intensity_of(*args, **kwargs) -> Intensity:
    return IntensityResolver(resolve_offline_location(*args, **kwargs)).current()


def test_france_uses_its_published_figure():
    location = resolve_offline_location("fra")
    assert location == Location("FRA", "France", None, None, None, "N", country_2letter_iso_code="FR")
    assert intensity_of("FRA") == Intensity(56.039, "owid-energy", 2023)


def test_usa_without_region_uses_the_country_figure():
    figure = intensity_of("USA")
    assert figure.source == "owid-energy"
    assert figure.g_co2e_per_kwh * 0.3 / 1000 == pytest.approx(0.115, abs=0.005)  # the reference's test figure


@pytest.mark.parametrize("region", ["California", "CA", "ca", "  california "])
def test_us_state_by_name_or_code(region):
    location = resolve_offline_location("USA", region)
    assert location.region == "california"
    assert intensity_of("USA", region) == Intensity(179.064, "egrid-2023", 2023)


def test_canadian_province_any_case_and_accents():
    assert resolve_offline_location("CAN", "Québec").region == "quebec"
    figure = intensity_of("can", "QUEBEC")
    assert figure.source == "cer-2023-mix" and figure.year == 2023
    assert figure.g_co2e_per_kwh < intensity_of("CAN", "Alberta").g_co2e_per_kwh


def test_nordic_zone_is_a_region_of_its_country():
    assert intensity_of("SWE", "SE2") == Intensity(25.7, "entsoe-nordic", 2025)
    assert intensity_of("NOR", "no4") == Intensity(51.7, "entsoe-nordic", 2025)
    assert intensity_of("FIN", "fi") == Intensity(72.0, "entsoe-nordic", 2025)


def test_region_without_regional_data_uses_country_and_says_so(codecarbon_log):
    location = resolve_offline_location("FRA", "Bretagne")
    assert location.region == "bretagne"
    assert IntensityResolver(location).current() == intensity_of("FRA")
    assert any("Bretagne" in r.getMessage() for r in codecarbon_log.records)
    # A zone the table lacks (Denmark here) falls back to the country too.
    assert intensity_of("DNK", "DK1") == intensity_of("DNK")


def test_gcp_region_uses_the_cloud_table():
    location = resolve_offline_location(None, cloud_provider="GCP", cloud_region="europe-west9")
    assert (location.country_iso_code, location.country_name, location.on_cloud) == ("FRA", "France", "Y")
    assert (location.cloud_provider, location.cloud_region) == ("gcp", "europe-west9")
    assert IntensityResolver(location).current() == Intensity(16.3, "gcp-region-carbon", 2024)


def test_cloud_region_in_another_country_than_given_warns_and_uses_cloud(codecarbon_log):
    location = resolve_offline_location("DEU", "bayern", cloud_provider="gcp", cloud_region="us-west1")
    # The cloud region decides the intensity, so the location columns are the region's.
    assert (location.country_iso_code, location.country_name, location.region) == ("USA", "USA", "Oregon")
    assert location.country_2letter_iso_code == "US" and location.on_cloud == "Y"
    assert IntensityResolver(location).current().source == "gcp-region-carbon"
    assert any(r.levelno == logging.WARNING and "us-west1" in r.getMessage() for r in codecarbon_log.records)


def test_unknown_country_names_parameter_and_how_to_list():
    with pytest.raises(ValueError) as error:
        resolve_offline_location("XYZ")
    assert str(error.value) == ("unknown country_iso_code 'XYZ'; list valid codes with "
                                "`python -m codecarbon.intensity countries`")


@pytest.mark.parametrize("bad", ["FR", "FRAN", "F1A", 250, "ÉTA"])
def test_malformed_country_code(bad):
    with pytest.raises(ValueError, match="country_iso_code"):
        resolve_offline_location(bad)


def test_unknown_us_region_is_an_error_listing_regions():
    with pytest.raises(ValueError) as error:
        resolve_offline_location("USA", "Atlantis")
    message = str(error.value)
    assert "region 'Atlantis'" in message and "python -m codecarbon.intensity regions USA" in message


def test_unknown_cloud_pair_and_incomplete_cloud_settings():
    pair = r"cloud_provider/cloud_region pair 'gcp'/'us-nowhere9'.*codecarbon.intensity cloud"
    with pytest.raises(ValueError, match=pair):
        resolve_offline_location("USA", cloud_provider="gcp", cloud_region="us-nowhere9")
    # providers without bundled region figures are not typos: the country's grid is used, the cloud is kept
    aws = resolve_offline_location("USA", cloud_provider="aws", cloud_region="us-east-1")
    assert (aws.cloud_provider, aws.cloud_region, aws.on_cloud, aws.country_iso_code) == \
        ("aws", "us-east-1", "Y", "USA")
    assert IntensityResolver(aws, allow_network=False).current().source != "world-average"
    with pytest.raises(ValueError, match="cloud_provider 'gcp' needs cloud_region"):
        resolve_offline_location("USA", cloud_provider="gcp")
    with pytest.raises(ValueError, match="cloud_region 'us-west1' needs cloud_provider"):
        resolve_offline_location("USA", cloud_region="us-west1")


def test_region_without_country_is_an_error():
    with pytest.raises(ValueError, match="region 'texas' needs country_iso_code"):
        resolve_offline_location(None, "texas")


def test_two_letter_code_is_checked_and_derived():
    assert resolve_offline_location("DEU").country_2letter_iso_code == "DE"
    assert resolve_offline_location("DEU", country_2letter_iso_code="de").country_2letter_iso_code == "DE"
    with pytest.raises(ValueError, match="country_2letter_iso_code"):
        resolve_offline_location("DEU", country_2letter_iso_code="DEU")


def test_no_country_means_world_average_with_a_warning(codecarbon_log):
    location = resolve_offline_location(None)
    assert location == Location(None, None, None, None, None, "N")
    assert IntensityResolver(location).current() == Intensity(475.0, "world-average", 2019)
    assert any(r.levelno == logging.WARNING and "world average" in r.getMessage() for r in codecarbon_log.records)


def test_iso_country_without_figure_is_accepted_with_world_average():
    location = resolve_offline_location("ATA")  # Antarctica: a valid code, no grid figure
    assert location.country_iso_code == "ATA" and location.country_name is None
    assert IntensityResolver(location).current().source == "world-average"


def test_forced_intensity_overrides_everything():
    location = resolve_offline_location(None, cloud_provider="gcp", cloud_region="europe-west9")
    resolver = IntensityResolver(location, force_g_co2e_per_kwh=123, electricitymaps_api_token="token")
    assert resolver.current() == Intensity(123.0, "forced", None)
    assert resolver.live is None
    assert IntensityResolver(location, force_g_co2e_per_kwh=0).current().g_co2e_per_kwh == 0.0


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), True, "100"])
def test_forced_intensity_is_validated(bad):
    with pytest.raises(ValueError, match="force_carbon_intensity_g_co2e_kwh"):
        IntensityResolver(resolve_offline_location("FRA"), force_g_co2e_per_kwh=bad)


def test_resolver_falls_back_on_locations_it_cannot_place():
    # Online detection may bring a cloud region or a region the table lacks: never an error there.
    location = Location("USA", "United States", "nowhere county", "aws", "us-east-1", "Y")
    assert IntensityResolver(location).current() == intensity_of("USA")


def test_listings():
    countries = dict(list_countries())
    assert countries["FRA"] == "France" and len(countries) > 200
    assert "texas" in list_regions("usa") and "ontario" in list_regions("CAN") and list_regions("FRA") == []
    assert ("gcp", "europe-west9") in list_cloud_regions()
    assert all(provider == "gcp" for provider, _ in list_cloud_regions("GCP"))
    assert list_cloud_regions("nope") == []


def test_command_line_listing():
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "codecarbon.intensity", *args], capture_output=True, text=True,
                              cwd=REPO)

    countries = run("countries")
    assert countries.returncode == 0 and any(line.startswith("FRA  FR") for line in countries.stdout.splitlines())
    china = next(line for line in countries.stdout.splitlines() if line.startswith("CHN"))
    assert "30 regions" in china and "regions CHN" in china
    regions = run("regions", "usa")
    assert regions.returncode == 0 and "california" in regions.stdout and " CA " in regions.stdout
    provinces = run("regions", "chn")
    assert any(line.startswith("beijing") and "CN-BJ" in line and "555.4" in line and "2023" in line
               for line in provinces.stdout.splitlines())
    assert "nei mongol" in provinces.stdout
    cloud = run("cloud", "gcp")
    assert cloud.returncode == 0 and "europe-west9" in cloud.stdout
    assert run("cloud", "nope").returncode == 1
    assert "owid-energy" in run("sources").stdout


@pytest.mark.parametrize("region", ["CN-BJ", "cn-bj", "beijing", "Beijing", " BEIJING ", "Beijing Municipality"])
def test_chinese_province_by_iso_code_or_name_any_case(region):
    assert resolve_offline_location("CHN", region).region == "beijing"
    assert intensity_of("CHN", region) == Intensity(555.4, "mee-china-2023", 2023)


def test_chinese_province_other_names_and_suffixes():
    assert intensity_of("CHN", "Nei Mongol") == intensity_of("CHN", "CN-NM") == intensity_of("CHN", "inner mongolia")
    assert resolve_offline_location("CHN", "Guangxi Zhuang Autonomous Region").region == "guangxi"
    assert resolve_offline_location("chn", "Sichuan Province").region == "sichuan"
    assert intensity_of("CHN", "Yunnan").g_co2e_per_kwh < intensity_of("CHN", "Shanxi").g_co2e_per_kwh
    assert "beijing" in list_regions("CHN") and len(list_regions("CHN")) == 30


def test_chinese_place_without_provincial_figure_uses_the_country(codecarbon_log):
    # Tibet, Hong Kong, Macao are not in the official provincial table: China's figure, not an error.
    location = resolve_offline_location("CHN", "Tibet")
    assert location.region == "tibet"
    assert IntensityResolver(location).current() == intensity_of("CHN")
    assert intensity_of("CHN").source == "owid-energy"


def test_cloud_region_place_fills_the_location_even_without_a_country():
    location = resolve_offline_location(None, cloud_provider="gcp", cloud_region="europe-west1")
    assert (location.country_iso_code, location.country_name, location.region) == ("BEL", "Belgium", "St. Ghislain")
    assert location.country_2letter_iso_code == "BE"
    # A region in a US state: the state is the region.
    iowa = resolve_offline_location("FRA", "Bretagne", cloud_provider="gcp", cloud_region="us-central1")
    assert (iowa.country_iso_code, iowa.region) == ("USA", "Iowa")


def test_tracker_row_shows_the_cloud_regions_place_not_the_given_country(codecarbon_log):
    import csv

    from codecarbon import OfflineEmissionsTracker

    tracker = OfflineEmissionsTracker(country_iso_code="FRA", cloud_provider="gcp", cloud_region="europe-west1",
                                      measure_power_secs=0.1, force_cpu_power=100.0, force_ram_power=10.0)
    tracker.start()
    tracker.stop()
    with open("emissions.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["country_iso_code"], row["country_name"], row["region"]) == ("BEL", "Belgium", "St. Ghislain")
    assert (row["cloud_provider"], row["cloud_region"], row["on_cloud"]) == ("gcp", "europe-west1", "Y")
    assert float(row["carbon_intensity"]) == pytest.approx(103.37)  # Google's 2024 grid figure for the region
    assert row["intensity_source"] == "gcp-region-carbon 2024"
    assert any(r.levelno == logging.WARNING and "europe-west1" in r.getMessage() and "FRA" in r.getMessage()
               for r in codecarbon_log.records)


def test_tracker_row_for_a_chinese_province():
    import csv

    from codecarbon import OfflineEmissionsTracker

    tracker = OfflineEmissionsTracker(country_iso_code="CHN", region="CN-SC", measure_power_secs=0.1,
                                      force_cpu_power=100.0, force_ram_power=10.0)
    tracker.start()
    tracker.stop()
    with open("emissions.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["country_iso_code"], row["country_name"], row["region"]) == ("CHN", "China", "sichuan")
    assert float(row["carbon_intensity"]) == pytest.approx(156.4)
    assert row["intensity_source"] == "mee-china-2023 2023"
