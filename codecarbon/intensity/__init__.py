"""Carbon intensity of the electricity where the computation runs.

`resolve_offline_location` checks a user-given place, `detect_online_location` finds it over the network, and
`IntensityResolver` turns a place into gCO2eq/kWh (bundled tables, Electricity Maps when a token is set).
Importing this package reads nothing: the bundled table is parsed on first need.
"""

from codecarbon.intensity.geolocation import detect_online_location
from codecarbon.intensity.location import Location, resolve_offline_location
from codecarbon.intensity.resolver import IntensityResolver, static_intensity
from codecarbon.intensity.tables import list_cloud_regions, list_countries, list_regions
from codecarbon.intensity.types import Intensity

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
