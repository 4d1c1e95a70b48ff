"""Legacy 3.x path ``codecarbon.core.emissions``: ``Emissions`` turns an energy into kg CO2eq for a place.

Kept for scripts that compute emissions by hand, e.g. ``Emissions(DataSource()).get_country_emissions(
Energy(1.0), GeoMetadata("FRA"))``. It answers with the same bundled figures the trackers use (the intensity
package); a live Electricity Maps figure is the trackers' business, so a token passed here is not used.
"""

from __future__ import annotations

from typing import Any, Optional

from codecarbon.core.units import Energy
from codecarbon.external.logger import log_once


class Emissions:
    """kg CO2eq of an energy (kWh) where it was drawn: a cloud region, a region of a country, or a country."""

    def __init__(self, data_source: Any = None, electricitymaps_api_token: Optional[str] = None,
                 co2_signal_api_token: Optional[str] = None) -> None:
        self._data_source = data_source
        if electricitymaps_api_token or co2_signal_api_token:
            log_once("legacy-emissions-token", 20, "Emissions: bundled intensity figures are used; the Electricity "
                     "Maps token is only used by the trackers")

    @staticmethod
    def _kg(energy: Energy, country_iso_code: Optional[str] = None, region: Optional[str] = None,
            cloud_provider: Optional[str] = None, cloud_region: Optional[str] = None) -> float:
        from codecarbon.intensity.location import resolve_offline_location
        from codecarbon.intensity.resolver import static_intensity

        location = resolve_offline_location(country_iso_code, region=region, cloud_provider=cloud_provider,
                                            cloud_region=cloud_region)
        return float(energy.kWh) * static_intensity(location).g_co2e_per_kwh / 1000.0

    def get_cloud_emissions(self, energy: Energy, cloud: Any, geo: Any = None) -> float:
        """The cloud region's figure; a provider without bundled region figures uses ``geo``'s country."""
        return self._kg(energy, getattr(geo, "country_iso_code", None), cloud_provider=cloud.provider,
                        cloud_region=cloud.region)

    def get_private_infra_emissions(self, energy: Energy, geo: Any) -> float:
        """The region's figure where one is bundled (US states, Canadian provinces, ...), else the country's."""
        return self.get_region_emissions(energy, geo) if getattr(geo, "region", None) else \
            self.get_country_emissions(energy, geo)

    def get_region_emissions(self, energy: Energy, geo: Any) -> float:
        return self._kg(energy, geo.country_iso_code, region=geo.region)

    def get_country_emissions(self, energy: Energy, geo: Any) -> float:
        return self._kg(energy, geo.country_iso_code)

    def get_cloud_country_iso_code(self, cloud: Any) -> Optional[str]:
        from codecarbon.intensity.location import resolve_offline_location

        return resolve_offline_location(None, cloud_provider=cloud.provider,
                                        cloud_region=cloud.region).country_iso_code

    def get_cloud_country_name(self, cloud: Any) -> Optional[str]:
        from codecarbon.intensity.location import resolve_offline_location

        return resolve_offline_location(None, cloud_provider=cloud.provider, cloud_region=cloud.region).country_name


__all__ = ["Emissions"]
