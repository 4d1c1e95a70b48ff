"""The bundled carbon-intensity table (codecarbon/data/carbon_intensity.json), read once on first need.

The file is built by scripts/build_intensity_data.py from public sources; this module only looks things up in
it, so that importing codecarbon costs nothing and every lookup after the first is a dict access.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Optional

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "carbon_intensity.json"

#: Countries whose regional table is complete: an unknown region there is a user error, not a gap in the data.
STRICT_REGION_COUNTRIES = frozenset({"USA", "CAN"})


@functools.lru_cache(maxsize=1)
def load_table() -> dict[str, Any]:
    """The whole table, parsed once per process."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def world_average() -> dict[str, Any]:
    """The figure used when nothing is known of the location: {"g", "year", "src"}."""
    return load_table()["world_average"]


def country(iso3: str) -> Optional[dict[str, Any]]:
    """The country's record {"name", "iso2", "g", "year", "src"} or None when the table has no figure."""
    return load_table()["countries"].get(iso3.upper())


def is_iso_country(iso3: str) -> bool:
    """True for any ISO 3166-1 alpha-3 code, with or without a figure in the table."""
    code = iso3.upper()
    table = load_table()
    return code in table["countries"] or code in table["iso_alpha2"]


def alpha2_of(iso3: str) -> Optional[str]:
    return load_table()["iso_alpha2"].get(iso3.upper())


def alpha3_of(iso2: str) -> Optional[str]:
    """The alpha-3 code of an alpha-2 code (what ipinfo.io and Electricity Maps speak), or None."""
    wanted = iso2.upper()
    return _alpha3_by_alpha2().get(wanted)


@functools.lru_cache(maxsize=1)
def _alpha3_by_alpha2() -> dict[str, str]:
    return {a2: a3 for a3, a2 in load_table()["iso_alpha2"].items()}


def regions(iso3: str) -> dict[str, dict[str, Any]]:
    """Lower-case region name → record, for the countries with regional figures; empty otherwise."""
    return load_table()["regions"].get(iso3.upper(), {})


def find_region(iso3: str, region: str) -> Optional[tuple[str, dict[str, Any]]]:
    """(canonical lower-case name, record) for a region of that country, any case; None when unknown.

    A region is found by its name, another name the source gives it ("nei mongol"), its code (US state
    "TX", ISO 3166-2 "CN-BJ"), or a Chinese province name with "province", "municipality" or "autonomous
    region" after it, as geolocation services and users write them.
    """
    index = _region_index(iso3.upper())
    if not index:
        return None
    key = _fold(region)
    name = index.get(key)
    if name is None:
        for suffix in _REGION_SUFFIXES.get(iso3.upper(), ()):
            if key.endswith(" " + suffix):
                name = index.get(key[: -len(suffix) - 1].rstrip())
                break
    return (name, regions(iso3)[name]) if name is not None else None


#: Trailing words a region's name may carry that the table's names do not.
_REGION_SUFFIXES = {"CHN": ("province", "municipality", "autonomous region")}


@functools.lru_cache(maxsize=16)
def _region_index(iso3: str) -> dict[str, str]:
    """Every folded spelling (name, other names, code) of a country's regions → the table's name."""
    table = regions(iso3)
    index = {_fold(name): name for name in table}  # a name always wins over another region's alias or code
    for name, record in table.items():
        for spelling in (*record.get("aka", ()), str(record.get("code") or "")):
            if spelling:
                index.setdefault(_fold(spelling), name)
    return index


def _fold(name: str) -> str:
    """Lower case, single spaces, accents dropped: "Québec " and "quebec" are one province."""
    import unicodedata  # on first use: most runs name a country by its code, never by a name to fold

    decomposed = unicodedata.normalize("NFKD", " ".join(name.split()).lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def cloud_region(provider: str, region: str) -> Optional[dict[str, Any]]:
    """The cloud region's record {"iso3", "country", "state", "city", "g", "year", "src"} or None."""
    return load_table()["cloud"].get(provider.lower(), {}).get(region.strip().lower())


def sources() -> dict[str, dict[str, Any]]:
    """Credits: source id → title, url, licence (and year where one year covers it)."""
    return load_table()["sources"]


def list_countries() -> list[tuple[str, str]]:
    """(alpha-3 code, name) of every country with a figure, sorted by code."""
    return sorted((code, record["name"]) for code, record in load_table()["countries"].items())


def list_regions(country_iso_code: str) -> list[str]:
    """Region names with their own figure in that country (US states, Canadian provinces, Nordic zones)."""
    return sorted(regions(country_iso_code))


def list_cloud_regions(provider: Optional[str] = None) -> list[tuple[str, str]]:
    """(provider, region id) pairs of the cloud table, optionally for one provider, sorted."""
    cloud = load_table()["cloud"]
    wanted = [provider.lower()] if provider else list(cloud)
    return sorted((name, region) for name in wanted for region in cloud.get(name, {}))
