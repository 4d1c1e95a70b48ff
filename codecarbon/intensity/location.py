"""Where the computation runs, and how a user-given location is checked against the bundled table.

Bad input is a ValueError at construction that names the parameter and says how to list valid values, so a
typo in a country or region never silently turns into the world average.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from codecarbon.external.logger import log_once
from codecarbon.intensity import tables

LIST_COUNTRIES_HINT = "list valid codes with `python -m codecarbon.intensity countries`"
LIST_CLOUD_HINT = "list valid pairs with `python -m codecarbon.intensity cloud`"


def list_regions_hint(iso3: str) -> str:
    return f"list valid regions with `python -m codecarbon.intensity regions {iso3}`"


@dataclass(frozen=True)
class Location:
    """Country, region and cloud of the computation; what the CSV's location columns show."""

    country_iso_code: Optional[str]
    country_name: Optional[str]
    region: Optional[str]
    cloud_provider: Optional[str]
    cloud_region: Optional[str]
    on_cloud: str  # "Y" / "N"
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    country_2letter_iso_code: Optional[str] = None


def _text(name: str, value: object) -> Optional[str]:
    """None or a stripped non-empty string; anything else is a ValueError naming the parameter."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    value = value.strip()
    return value or None


def parse_country_iso_code(value: object) -> Optional[str]:
    """Upper-case ISO 3166-1 alpha-3 code; ValueError when malformed or unknown."""
    code = _text("country_iso_code", value)
    if code is None:
        return None
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        from codecarbon.core.parameters import alpha3_hint

        raise ValueError(f"country_iso_code must be a 3-letter ISO 3166-1 alpha-3 code such as 'FRA', got {value!r}"
                         f"{alpha3_hint(code)}; {LIST_COUNTRIES_HINT}")
    code = code.upper()
    if not tables.is_iso_country(code):
        raise ValueError(f"unknown country_iso_code {code!r}; {LIST_COUNTRIES_HINT}")
    return code


def _parse_alpha2(value: object) -> Optional[str]:
    code = _text("country_2letter_iso_code", value)
    if code is None:
        return None
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise ValueError(f"country_2letter_iso_code must be a 2-letter ISO 3166-1 alpha-2 code such as 'FR', "
                         f"got {value!r}")
    return code.upper()


def normalise_region(iso3: str, region: str, *, strict: bool) -> str:
    """The table's name for a region of that country, else the region lower-cased.

    With strict=True an unknown region of a country whose regional table is complete (USA, CAN) is a
    ValueError; elsewhere (and always when strict=False) the country's figure will be used, logged once.
    """
    found = tables.find_region(iso3, region)
    if found is not None:
        return found[0]
    if strict and iso3 in tables.STRICT_REGION_COUNTRIES:
        raise ValueError(f"unknown region {region!r} for country_iso_code {iso3!r}; {list_regions_hint(iso3)}")
    log_once(f"intensity.region.{iso3}.{region.lower()}", logging.INFO,
             "No regional carbon intensity for region %r of %s; using the country's figure.", region, iso3)
    return " ".join(region.split()).lower()


def resolve_offline_location(country_iso_code: Optional[str], region: Optional[str] = None,
                             cloud_provider: Optional[str] = None, cloud_region: Optional[str] = None,
                             country_2letter_iso_code: Optional[str] = None) -> Location:
    """Check a user-given location and complete it from the table (names, alpha-2 code, cloud country).

    When a known cloud region decides the intensity, the location columns are the cloud region's, whatever
    country or region was also given: a row never says "France" next to a Belgian figure.
    """
    iso3 = parse_country_iso_code(country_iso_code)
    region_text = _text("region", region)
    provider = _text("cloud_provider", cloud_provider)
    cloud_id = _text("cloud_region", cloud_region)
    alpha2 = _parse_alpha2(country_2letter_iso_code)

    if provider and not cloud_id:
        raise ValueError(f"cloud_provider {provider!r} needs cloud_region as well; {LIST_CLOUD_HINT}")
    if cloud_id and not provider:
        raise ValueError(f"cloud_region {cloud_id!r} needs cloud_provider as well (gcp, aws or azure); "
                         f"{LIST_CLOUD_HINT}")
    record = None
    if provider and cloud_id:
        provider, cloud_id = provider.lower(), cloud_id.lower()
        record = tables.cloud_region(provider, cloud_id)
        if record is None and tables.list_cloud_regions(provider):
            raise ValueError(f"unknown cloud_provider/cloud_region pair {provider!r}/{cloud_id!r}; {LIST_CLOUD_HINT}")
        if record is None:  # a provider with no published region figures bundled (aws, azure): not a typo
            log_once(f"intensity.cloud-provider.{provider}", logging.WARNING,
                     "No bundled carbon intensity for %s regions; %s/%s uses the country's grid figure%s.",
                     provider, provider, cloud_id, "" if iso3 else " (world average: no country_iso_code)")

    if record is not None and provider and cloud_id:
        _warn_overridden(provider, cloud_id, record, iso3, region_text)
        return cloud_location(provider, cloud_id, record)

    if region_text is not None:
        if iso3 is None:
            raise ValueError(f"region {region_text!r} needs country_iso_code as well; {LIST_COUNTRIES_HINT}")
        region_text = normalise_region(iso3, region_text, strict=True)

    return Location(
        country_iso_code=iso3,
        country_name=country_name_of(iso3),
        region=region_text,
        cloud_provider=provider,
        cloud_region=cloud_id,
        on_cloud="Y" if provider else "N",
        country_2letter_iso_code=alpha2 or (tables.alpha2_of(iso3) if iso3 else None),
    )


def cloud_place(record: dict) -> tuple[str, str, Optional[str]]:
    """(ISO alpha-3, country name, region) of a cloud region's record; the region is its state, else its city.

    These are the names the cloud table gives (as in 3.3.2's rows: "USA" for a US region), so a dashboard
    grouping cloud rows by country sees the same values it did.
    """
    iso3 = str(record["iso3"])
    name = str(record.get("country") or country_name_of(iso3) or iso3)
    place = str(record.get("state") or "").strip() or str(record.get("city") or "").strip()
    return iso3, name, place or None


def cloud_location(provider: str, cloud_id: str, record: dict, *, latitude: Optional[float] = None,
                   longitude: Optional[float] = None) -> Location:
    """The Location of a run in a known cloud region: country, name and region are the region's."""
    iso3, name, place = cloud_place(record)
    return Location(country_iso_code=iso3, country_name=name, region=place, cloud_provider=provider,
                    cloud_region=cloud_id, on_cloud="Y", latitude=latitude, longitude=longitude,
                    country_2letter_iso_code=tables.alpha2_of(iso3))


def _warn_overridden(provider: str, cloud_id: str, record: dict, iso3: Optional[str],
                     region: Optional[str]) -> None:
    """Say once that a given country or region gives way to the cloud region's (the rows show the region's)."""
    if iso3 is not None and iso3 != record["iso3"]:
        log_once(f"intensity.cloud-country.{provider}.{cloud_id}.{iso3}", logging.WARNING,
                 "cloud_region %s/%s is in %s, not in country_iso_code %s; the cloud region's intensity and "
                 "location are used.", provider, cloud_id, record["iso3"], iso3)
    if region is not None:
        log_once(f"intensity.cloud-region.{provider}.{cloud_id}.{region.lower()}", logging.INFO,
                 "region %r is not used: cloud_region %s/%s decides the intensity and the location columns.",
                 region, provider, cloud_id)


def country_name_of(iso3: Optional[str]) -> Optional[str]:
    if iso3 is None:
        return None
    record = tables.country(iso3)
    return record["name"] if record else None
