"""Electricity Maps API v3: ``carbon-intensity/latest``, ``history``, ``past-range`` and ``forecast``.

The token goes in the ``auth-token`` header (setting ``electricitymaps_api_token``, 3.x alias
``co2_signal_api_token``). A zone is an Electricity Maps zone (``DE``, ``DK-DK1``, ``US-CAL-CISO``); without one the
coordinates are asked about once and the zone the answer names is used from then on. Figures are average
intensities, life-cycle unless the answer says ``emissionFactorType: direct``.
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
    series,
)

DEFAULT_URL = "https://api.electricitymaps.com/v3"
#: past-range answers at most this span per request at hourly granularity.
PAST_RANGE_MAX_S = 10 * 86400.0


class ElectricityMaps(Provider):
    name = "electricitymaps"
    basis = "average"
    granularity_s = 3600.0
    setting = "electricitymaps_api_token"

    def __init__(self, base_url: str, token: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._token = token

    def _ask(self, path: str, query: dict[str, str], timeout_s: float) -> dict[str, Any]:
        return as_dict(self.get(path, query, timeout_s=timeout_s, headers={"auth-token": self._token}), path)

    def resolve_zone(self, zone: Optional[str], latitude: Optional[float], longitude: Optional[float],
                     timeout_s: float) -> str:
        if zone:
            return zone
        if latitude is None or longitude is None:
            raise ProviderError("electricitymaps needs a zone or coordinates: set grid_zone")
        answer = self._ask("/carbon-intensity/latest", {"lat": f"{latitude}", "lon": f"{longitude}"}, timeout_s)
        found = answer.get("zone")
        if not isinstance(found, str) or not found:
            raise ProviderError("electricitymaps: the answer names no zone")
        return found

    def _points(self, records: list[Any], zone: str, kind: str) -> list[Point]:
        pairs = []
        scope = "lifecycle"
        for record in records:
            if not isinstance(record, dict):
                continue
            value = intensity_value(record.get("carbonIntensity"))
            if value is None:
                continue
            if record.get("emissionFactorType") == "direct":
                scope = "direct"
            pairs.append((parse_time(record.get("datetime")), value))
        return series(pairs, self.granularity_s, kind=kind, basis=self.basis, scope=scope, provider=self.name,
                      zone=zone)

    def latest(self, zone: str, now: float, timeout_s: float) -> list[Point]:
        answer = self._ask("/carbon-intensity/latest", {"zone": zone}, timeout_s)
        points = self._points([answer], zone, "latest")
        if not points:
            raise ProviderError("electricitymaps: the answer has no usable carbonIntensity")
        return points

    def history(self, zone: str, start: float, end: float, timeout_s: float) -> list[Point]:
        if start >= self.clock() - 24 * 3600.0 + self.granularity_s:
            answer = self._ask("/carbon-intensity/history", {"zone": zone}, timeout_s)
            records = as_list(answer.get("history"), "history")
        else:
            query = {"zone": zone, "start": iso_utc(start), "end": iso_utc(min(end, start + PAST_RANGE_MAX_S))}
            answer = self._ask("/carbon-intensity/past-range", query, timeout_s)
            records = as_list(answer.get("data"), "data")
        return [p for p in self._points(records, zone, "history") if p.end > start and p.start < end]

    def forecast(self, zone: str, now: float, hours: float, timeout_s: float) -> list[Point]:
        answer = self._ask("/carbon-intensity/forecast", {"zone": zone}, timeout_s)
        points = self._points(as_list(answer.get("forecast"), "forecast"), zone, "forecast")
        return [p for p in points if p.end > now and p.start < now + hours * 3600.0]

