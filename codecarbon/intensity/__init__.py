"""Carbon intensity of the electricity where the computation runs.

`resolve_offline_location` checks a user-given place, `detect_online_location` finds it over the network, and
`IntensityResolver` turns a place into gCO2eq/kWh (bundled tables, Electricity Maps when a token is set).
Importing this package reads nothing: the bundled table is parsed on first need.
"""

from importlib import import_module

_HOMES = {
    "detect_online_location": "geolocation",  # network code: loaded only by the online tracker
    "Location": "location",
    "resolve_offline_location": "location",
    "IntensityResolver": "resolver",
    "static_intensity": "resolver",
    "list_cloud_regions": "tables",
    "list_countries": "tables",
    "list_regions": "tables",
    "Intensity": "types",
}


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(import_module(f"codecarbon.intensity.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'codecarbon.intensity' has no attribute {name!r}")


__all__ = [
    "Intensity",
    "IntensityResolver",
    "Location",
    "detect_online_location",
    "list_cloud_regions",
    "list_countries",
    "list_regions",
    "resolve_offline_location",
    "static_intensity",
]
