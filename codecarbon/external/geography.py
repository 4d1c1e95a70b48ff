"""Legacy 3.x path ``codecarbon.external.geography``: where a computation runs, as 3.x scripts build it.

``GeoMetadata`` and ``CloudMetadata`` are plain records; :mod:`codecarbon.core.emissions` turns them into
emissions with the package's own intensity tables. Nothing is looked up on import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class GeoMetadata:
    """A country (ISO 3166-1 alpha-3), optionally a region within it, and coordinates."""

    country_iso_code: Optional[str] = None
    country_name: Optional[str] = None
    region: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    country_2letter_iso_code: Optional[str] = None


@dataclass
class CloudMetadata:
    """A cloud provider and region (``gcp``, ``europe-west1``); both None on private infrastructure."""

    provider: Optional[str] = None
    region: Optional[str] = None

    @property
    def is_on_private_infra(self) -> bool:
        return not (self.provider and self.region)


__all__ = ["CloudMetadata", "GeoMetadata"]
