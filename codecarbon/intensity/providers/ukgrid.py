"""The Carbon Intensity API of Great Britain's electricity system operator (NESO, formerly National Grid ESO).

No key. National figures (``/intensity...``) carry a forecast and, once the half-hour is over, the actual;
regional ones (``/regional/...``, zone ``GB-<regionid>``, 1-17) carry the regional estimate. Every record has
its own ``from`` and ``to``: half-hour intervals, UTC. Figures are average intensities of direct emissions.
"""

from __future__ import annotations

from typing import Any, Optional

from codecarbon.intensity.providers.base import (
    Point,
    Provider,
    ProviderError,
    as_dict,
    as_list,
    intensity_value,
    iso_utc,
    parse_time,
)

DEFAULT_URL = "https://api.carbonintensity.org.uk"
HALF_HOUR_S = 1800.0
#: The API answers ranges of at most 14 days.
MAX_RANGE_S = 14 * 86400.0


def region_id(zone: str) -> Optional[int]:
    """``GB`` → None (national); ``GB-13`` → 13; anything else a ProviderError."""
    text = zone.strip().upper()
    if text in ("GB", "UK", "GBR"):
        return None
    head, _, tail = text.partition("-")
    if head in ("GB", "UK") and tail.isdigit() and 1 <= int(tail) <= 17:
        return int(tail)
    raise ProviderError(f"uk-grid zone must be GB or GB-<regionid 1-17>, got {zone!r}")


class UkGrid(Provider):
    name = "uk-grid"
    basis = "average"
    granularity_s = HALF_HOUR_S

    def resolve_zone(self, zone: Optional[str], latitude: Optional[float], longitude: Optional[float],
                     timeout_s: float) -> str:
        return "GB" if not zone or zone.upper() in ("UK", "GBR") else zone.upper()

    def _records(self, answer: Any, regional: bool) -> list[Any]:
        data = as_dict(answer, "top-level").get("data")
        if not regional:
            return as_list(data, "data")
        # /regional/regionid/{id} answers a list of one region; the range endpoints answer the region itself
        region = as_list(data, "data")[0] if isinstance(data, list) and data else data
        return as_list(as_dict(region, "region").get("data"), "region data")

    def _points(self, records: list[Any], zone: str, default_kind: str) -> list[Point]:
        points = []
        for record in records:
            if not isinstance(record, dict):
                continue
            intensity = record.get("intensity")
            if not isinstance(intensity, dict):
                continue
            start, end = parse_time(record.get("from")), parse_time(record.get("to"))
            if end <= start:
                continue
            actual = intensity_value(intensity.get("actual"))
            forecast = intensity_value(intensity.get("forecast"))
            value = actual if actual is not None else forecast
            if value is None:
                continue
            kind = default_kind  # the current figure is the latest, whichever of the two it is
            if default_kind == "history" and actual is None and zone == "GB":
                kind = "forecast"  # national: a half-hour is settled once its actual is published
            points.append(Point(start, end, value, kind, self.basis, "direct", self.name, zone))
        return sorted(points, key=lambda p: p.start)

    def latest(self, zone: str, now: float, timeout_s: float) -> list[Point]:
        region = region_id(zone)
        path = "/intensity" if region is None else f"/regional/regionid/{region}"
        points = self._points(self._records(self.get(path, timeout_s=timeout_s), region is not None), zone,
                              "latest")
        if not points:
            raise ProviderError("uk-grid: the answer has no usable intensity")
        return points

    def history(self, zone: str, start: float, end: float, timeout_s: float) -> list[Point]:
        region = region_id(zone)
        last_s = min(end, start + MAX_RANGE_S) + HALF_HOUR_S  # up to the end of the half-hour holding ``end``
        first, last = iso_utc(start, minutes_only=True), iso_utc(last_s, minutes_only=True)
        path = (f"/intensity/{first}/{last}" if region is None
                else f"/regional/intensity/{first}/{last}/regionid/{region}")
        points = self._points(self._records(self.get(path, timeout_s=timeout_s), region is not None), zone,
                              "history")
        return [p for p in points if p.end > start and p.start < end]

    def forecast(self, zone: str, now: float, hours: float, timeout_s: float) -> list[Point]:
        region = region_id(zone)
        first = iso_utc(now - now % HALF_HOUR_S, minutes_only=True)
        path = f"/intensity/{first}/fw48h" if region is None else f"/regional/intensity/{first}/fw48h/regionid/{region}"
        points = self._points(self._records(self.get(path, timeout_s=timeout_s), region is not None), zone,
                              "forecast")
        return [Point(p.start, p.end, p.g_per_kwh, "forecast", p.basis, p.scope, p.provider, p.zone)
                for p in points if p.end > now and p.start < now + hours * 3600.0]
