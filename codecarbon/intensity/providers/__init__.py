"""Live grid-intensity providers, one module each, loaded only when one is used.

``carbon_intensity_provider``: ``auto`` (Electricity Maps when a token is set, else the keyless provider covering
the place: Great Britain → ``uk-grid``, Denmark → ``energidataservice``, else ``static``), ``static``,
``electricitymaps``, ``uk-grid``, ``energidataservice``, ``watttime``. :func:`choose` decides; :func:`make`
builds the provider with its URL setting and credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Optional

PROVIDERS = ("auto", "static", "electricitymaps", "uk-grid", "energidataservice", "watttime")

#: provider → (module, class, URL setting)
_HOMES = {
    "electricitymaps": ("electricitymaps", "ElectricityMaps", "electricitymaps_api_url"),
    "uk-grid": ("ukgrid", "UkGrid", "uk_grid_api_url"),
    "energidataservice": ("energidataservice", "EnergiDataService", "energidataservice_api_url"),
    "watttime": ("watttime", "WattTime", "watttime_api_url"),
}

DEFAULT_URLS = {
    "electricitymaps": "https://api.electricitymaps.com/v3",
    "uk-grid": "https://api.carbonintensity.org.uk",
    "energidataservice": "https://api.energidataservice.dk",
    "watttime": "https://api.watttime.org",
}


@dataclass(frozen=True)
class Choice:
    """Which provider serves a run, and where: ``zone`` may be None when coordinates will be asked about."""

    provider: str  # a PROVIDERS name other than auto; "static" means no live provider
    zone: Optional[str]
    reason: str


def setting(settings: Any, name: str) -> Any:
    """A setting's value from a Settings object, a mapping or any object with attributes (None when unset)."""
    getter = getattr(settings, "get", None)
    if callable(getter):
        return getter(name, None)
    return getattr(settings, name, None)


def choose(settings: Any, *, country_iso_code: Optional[str] = None, grid_zone: Optional[str] = None) -> Choice:
    """The provider for the settings and place (``country_iso_code`` alpha-3, ``grid_zone`` as given)."""
    wanted = str(setting(settings, "carbon_intensity_provider") or "auto")
    zone = grid_zone or None
    if wanted == "static":
        return Choice("static", None, "carbon_intensity_provider = static")
    if wanted != "auto":
        return Choice(wanted, zone, f"carbon_intensity_provider = {wanted}")
    if setting(settings, "electricitymaps_api_token"):
        return Choice("electricitymaps", zone, "an Electricity Maps token is set")
    head = (zone or "").upper()
    if head.startswith(("GB", "UK")) or (not zone and country_iso_code == "GBR"):
        return Choice("uk-grid", zone, "the place is in Great Britain")
    if head.startswith("DK") or (not zone and country_iso_code == "DNK"):
        return Choice("energidataservice", zone, "the place is in Denmark")
    return Choice("static", None, "no token and no keyless provider covers the place")


def make(name: str, settings: Any, **kwargs: Any) -> Any:
    """The provider object for ``name`` (its module imported now), with its URL and credentials."""
    module_name, class_name, url_setting = _HOMES[name]
    cls = getattr(import_module(f"codecarbon.intensity.providers.{module_name}"), class_name)
    url = str(setting(settings, url_setting) or DEFAULT_URLS[name])
    if name == "electricitymaps":
        return cls(url, str(setting(settings, "electricitymaps_api_token") or ""), **kwargs)
    if name == "watttime":
        return cls(url, str(setting(settings, "watttime_username") or ""),
                   str(setting(settings, "watttime_password") or ""), **kwargs)
    return cls(url, **kwargs)


def credentials_missing(name: str, settings: Any) -> Optional[str]:
    """The setting to fill when a provider that needs credentials has none, else None."""
    if name == "electricitymaps" and not setting(settings, "electricitymaps_api_token"):
        return "electricitymaps_api_token"
    if name == "watttime" and not (setting(settings, "watttime_username") and setting(settings, "watttime_password")):
        return "watttime_username and watttime_password"
    return None
