"""Legacy 3.x path ``codecarbon.external.geography``: where a computation runs, as 3.x scripts build it.

``GeoMetadata`` and ``CloudMetadata`` are plain records; :mod:`codecarbon.core.emissions` turns them into
emissions with the package's own intensity tables. Nothing is looked up on import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: 3.3.2's bound on each geolocation request of ``GeoMetadata.from_geo_js``.
GEO_JS_TIMEOUT_S = 0.5


@dataclass
class GeoMetadata:
    """A country (ISO 3166-1 alpha-3), optionally a region within it, and coordinates."""

    country_iso_code: Optional[str] = None
    country_name: Optional[str] = None
    region: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    country_2letter_iso_code: Optional[str] = None

    @classmethod
    def from_geo_js(cls, url: str) -> GeoMetadata:
        """Where this machine is, by IP: ``url`` (a get.geojs.io ``geo.json`` URL, as ``DataSource().geo_js_url``)
        first, ipinfo.io when it gives nothing, each bounded. When neither answers, every field is None and a
        warning says so (3.3.2 made up Canada/Quebec there; a made-up location would mislead)."""
        from codecarbon.external.logger import logger
        from codecarbon.intensity import geolocation
        from codecarbon.support.http import HttpError

        found = None
        try:
            found = geolocation.geo_from_geojs(GEO_JS_TIMEOUT_S, url=url)
        except (HttpError, OSError, ValueError) as error:
            logger.debug("geolocation by %s failed: %s", url, error)
        if found is None:
            try:
                found = geolocation.geo_from_ipinfo(GEO_JS_TIMEOUT_S)
            except (HttpError, OSError, ValueError) as error:
                logger.debug("geolocation by %s failed: %s", geolocation.IPINFO_URL, error)
        if found is None:
            logger.warning("the location could not be found by IP (%s, then %s): it is unknown", url,
                           geolocation.IPINFO_URL)
            return cls()
        name = found["name"]
        if not name:
            from codecarbon.intensity.location import country_name_of

            name = country_name_of(found["iso3"])
        return cls(country_iso_code=found["iso3"], country_name=name, region=found["region"],
                   latitude=found["latitude"], longitude=found["longitude"],
                   country_2letter_iso_code=found["iso2"])


@dataclass
class CloudMetadata:
    """A cloud provider and region (``gcp``, ``europe-west1``); both None on private infrastructure."""

    provider: Optional[str] = None
    region: Optional[str] = None

    @property
    def is_on_private_infra(self) -> bool:
        return not (self.provider and self.region)


__all__ = ["CloudMetadata", "GeoMetadata"]
