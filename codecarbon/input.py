"""Legacy 3.x path ``codecarbon.input``: ``DataSource`` and ``DataSourceException``, as 3.x scripts import them.

The bundled data is one table here (see ``codecarbon.intensity``); ``DataSource`` reads it on first need and
offers the 3.x lookup that scripts use most, the per-country figures.
"""

from __future__ import annotations

from typing import Any


class DataSourceException(Exception):
    """A bundled table is missing or unreadable (the 3.x name)."""


class DataSource:
    """Access to the bundled carbon-intensity data."""

    @property
    def geo_js_url(self) -> str:
        """The IP geolocation service the online tracker asks first (``GeoMetadata.from_geo_js`` takes it)."""
        from codecarbon.intensity.geolocation import GEOJS_URL

        return GEOJS_URL

    def get_global_energy_mix_data(self) -> dict[str, dict[str, Any]]:
        """ISO alpha-3 → ``country_name``, ``iso_code``, ``carbon_intensity`` (gCO2eq/kWh), ``year``."""
        try:
            from codecarbon.intensity.location import resolve_offline_location
            from codecarbon.intensity.resolver import static_intensity
            from codecarbon.intensity.tables import list_countries

            result: dict[str, dict[str, Any]] = {}
            for iso3, name in list_countries():
                intensity = static_intensity(resolve_offline_location(iso3))
                result[iso3] = {"country_name": name, "iso_code": iso3,
                                "carbon_intensity": intensity.g_co2e_per_kwh, "year": intensity.year}
            return result
        except Exception as error:  # a broken install: the 3.x exception
            raise DataSourceException(f"the bundled intensity table could not be read: {error}") from error


__all__ = ["DataSource", "DataSourceException"]
