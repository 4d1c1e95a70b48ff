"""What a tracker needs of the live providers: a charger for its run, and a place from ``grid_zone``.

Kept apart from the tracker so that its changes stay small, and loaded only at the first reading of an online
run: ``import codecarbon`` loads none of this.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from codecarbon.external.logger import log_once
from codecarbon.intensity import providers, tables
from codecarbon.intensity.charger import Charger
from codecarbon.intensity.feed import shared_feed
from codecarbon.intensity.location import Location, resolve_offline_location
from codecarbon.intensity.types import Intensity
from codecarbon.support import http as _http


def explicit_location(grid_zone: Optional[str], country_iso_code: Optional[str] = None,
                      region: Optional[str] = None) -> Location:
    """The place an online tracker was told (no geolocation): the country given, else the zone's country."""
    if country_iso_code:
        return resolve_offline_location(country_iso_code, region=region)
    zone = (grid_zone or "").strip().upper()
    head = zone[:2]
    if head.isalpha() and zone[2:3] in ("", "-"):
        iso3 = tables.alpha3_of("GB" if head == "UK" else head)
        if iso3 is not None:
            return resolve_offline_location(iso3)
    return Location(None, None, None, None, None, "N")


def make_charger(settings: Any, location: Location, static: Intensity, *, allow_network: bool,
                 transport: Optional[_http.Transport] = None) -> Charger:
    """The run's charger: a shared live feed when a provider applies and may be asked, else the static figure."""
    if not allow_network or providers.setting(settings, "force_carbon_intensity_g_co2e_kwh") is not None:
        return Charger(static)
    grid_zone = providers.setting(settings, "grid_zone")
    choice = providers.choose(settings, country_iso_code=location.country_iso_code, grid_zone=grid_zone)
    if choice.provider == "static":
        return Charger(static)
    if str(providers.setting(settings, "carbon_intensity_provider") or "auto") == "auto" and not grid_zone and \
            location.cloud_provider and location.cloud_region and \
            tables.cloud_region(location.cloud_provider, location.cloud_region) is not None:
        return Charger(static)  # a known cloud region's own figure, as without live providers
    missing = providers.credentials_missing(choice.provider, settings)
    if missing:
        log_once(f"intensity.{choice.provider}.no-credentials", logging.WARNING,
                 "carbon_intensity_provider %s needs %s; the bundled static figures apply.", choice.provider,
                 missing)
        return Charger(static)
    provider = providers.make(choice.provider, settings, transport=transport)
    zone = choice.zone
    if zone is None and choice.provider in ("uk-grid", "energidataservice"):
        zone = provider.resolve_zone(None, location.latitude, location.longitude, 1.0)  # no request: pure
    if zone is None and location.latitude is None:
        zone = location.country_2letter_iso_code or (tables.alpha2_of(location.country_iso_code)
                                                     if location.country_iso_code else None)
    if zone is None and location.latitude is None:
        log_once(f"intensity.{choice.provider}.nowhere", logging.WARNING,
                 "%s needs a place: set grid_zone (or country_iso_code); the bundled static figures apply.",
                 choice.provider)
        return Charger(static)
    secret = "\n".join(str(providers.setting(settings, name) or "") for name in
                       ("electricitymaps_api_token", "watttime_username", "watttime_password"))
    feed = shared_feed(provider, zone=zone, latitude=location.latitude, longitude=location.longitude,
                       secret=secret)
    log_once(f"intensity.live.{choice.provider}.{zone}", logging.INFO,
             "Carbon intensity over time from %s (%s), zone %s; static figure %s g/kWh as the fallback.",
             choice.provider, choice.reason, zone or "from the coordinates", f"{static.g_co2e_per_kwh:g}")
    return Charger(static, feed)
