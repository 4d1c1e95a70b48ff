"""Which gCO2eq/kWh applies to a location, now.

Order: a forced figure; the cloud region's figure; a live Electricity Maps figure (token set, network allowed);
the region's figure (US state, Canadian province, Nordic zone); the country's; the world average, with a warning.
The static part is decided once at construction; `current()` then costs a dict look-up and a clock read.
The live figure is the Electricity Maps provider's interval covering now, read from the process's shared feed
(:mod:`codecarbon.intensity.feed`): the same cache, back-off and one request per interval as the tracker's charger.
"""

from __future__ import annotations

import datetime
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

from codecarbon.external.logger import log_once
from codecarbon.intensity import tables
from codecarbon.intensity.location import Location
from codecarbon.intensity.types import Intensity

if TYPE_CHECKING:  # the live feed (and urllib) load only when a token is set
    from codecarbon.intensity.feed import Feed

#: The old setting named the ``latest`` endpoint itself; the provider takes the API's base URL.
_LATEST_PATH = "/carbon-intensity/latest"


def _parse_forced(value: Optional[float]) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError("force_carbon_intensity_g_co2e_kwh must be a finite number of gCO2eq/kWh >= 0, "
                         f"got {value!r}")
    return float(value)


def _from_record(record: dict) -> Intensity:
    return Intensity(float(record["g"]), str(record["src"]), record.get("year"))


def static_intensity(location: Location) -> Intensity:
    """The bundled figure for a location; never raises (unknown parts fall back to the next level, logged)."""
    if location.cloud_provider and location.cloud_region:
        record = tables.cloud_region(location.cloud_provider, location.cloud_region)
        if record is not None:
            return _from_record(record)
        log_once(f"intensity.cloud-unknown.{location.cloud_provider}.{location.cloud_region}", logging.INFO,
                 "No carbon intensity for cloud region %s/%s in the bundled table; using the location's grid.",
                 location.cloud_provider, location.cloud_region)
    iso3 = location.country_iso_code
    if iso3:
        if location.region:
            found = tables.find_region(iso3, location.region)
            if found is not None:
                return _from_record(found[1])
            if tables.regions(iso3):
                log_once(f"intensity.region.{iso3}.{location.region.lower()}", logging.INFO,
                         "No carbon intensity for region %r of %s; using the country's figure.", location.region, iso3)
        record = tables.country(iso3)
        if record is not None:
            return _from_record(record)
    world = tables.world_average()
    log_once(f"intensity.world-average.{iso3}", logging.WARNING,
             "No carbon intensity known for %s; using the world average of %s gCO2eq/kWh. Set country_iso_code "
             "(and region) for a figure that fits where this runs.",
             f"country {iso3!r}" if iso3 else "an unknown location", f"{world['g']:g}")
    return _from_record(world)


class IntensityResolver:
    """The intensity to apply to the next slice of energy: fast, never raises, never waits on the network."""

    def __init__(self, location: Location, *, force_g_co2e_per_kwh: Optional[float] = None,
                 electricitymaps_api_token: Optional[str] = None, allow_network: bool = True,
                 electricitymaps_url: Optional[str] = None, timeout_s: Optional[float] = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.location = location
        forced = _parse_forced(force_g_co2e_per_kwh)
        if forced is not None:
            self.static = Intensity(forced, "forced", None)
        else:
            self.static = static_intensity(location)
        self.live: Optional[Feed] = None
        on_known_cloud = bool(location.cloud_provider and location.cloud_region
                              and tables.cloud_region(location.cloud_provider, location.cloud_region))
        token = (electricitymaps_api_token or "").strip()
        if forced is None and token and not on_known_cloud:
            self.live = self._make_feed(token, allow_network, electricitymaps_url, timeout_s, clock)

    def _make_feed(self, token: str, allow_network: bool, url: Optional[str], timeout_s: Optional[float],
                   clock: Callable[[], float]) -> Optional[Feed]:
        if not allow_network:
            log_once("intensity.electricitymaps.offline", logging.INFO,
                     "Offline: Electricity Maps is not queried; using the bundled carbon intensity.")
            return None
        loc = self.location
        country_code = loc.country_2letter_iso_code or (tables.alpha2_of(loc.country_iso_code)
                                                        if loc.country_iso_code else None)
        has_coordinates = loc.latitude is not None and loc.longitude is not None
        if not has_coordinates and not country_code:
            log_once("intensity.electricitymaps.nowhere", logging.WARNING,
                     "Electricity Maps needs a location (coordinates or a country); none is known.")
            return None
        from codecarbon.intensity import providers
        from codecarbon.intensity.feed import REQUEST_TIMEOUT_S, shared_feed

        base = (url or providers.DEFAULT_URLS["electricitymaps"]).rstrip("/")
        if base.endswith(_LATEST_PATH):
            base = base[:-len(_LATEST_PATH)]
        provider = providers.make("electricitymaps", {"electricitymaps_api_token": token,
                                                      "electricitymaps_api_url": base}, clock=clock)
        zone = None if has_coordinates or not country_code else country_code.upper()
        return shared_feed(provider, zone=zone, latitude=loc.latitude if has_coordinates else None,
                           longitude=loc.longitude if has_coordinates else None, secret=token, clock=clock,
                           request_timeout_s=REQUEST_TIMEOUT_S if timeout_s is None else float(timeout_s))

    def current(self) -> Intensity:
        """The live figure of the interval covering now (or the nearest known one), else the bundled one; asks
        for the current interval in the background when it is not known yet."""
        feed = self.live
        if feed is not None:
            try:
                now = feed.clock()
                feed.want_latest(now)
                point = feed.best(now) or feed.nearest(now)
            except Exception:  # defensive: the contract is "never raises"
                point = None
            if point is not None:
                year = datetime.datetime.fromtimestamp(point.start, tz=datetime.timezone.utc).year
                return Intensity(point.g_per_kwh, point.provider, year)
        return self.static
