"""WattTime API v3: the marginal operating emissions rate (MOER, ``signal_type=co2_moer``) of a grid region.

``GET /login`` with HTTP Basic (``watttime_username`` / ``watttime_password``) gives a bearer token that
expires (30 minutes): it is kept in memory, renewed before then, and renewed once more when a data call answers
401. ``/v3/forecast?horizon_hours=0`` is the current value, ``/v3/historical`` the settled series,
``/v3/forecast`` the coming hours, ``/v3/region-from-loc`` the region of coordinates. Values in
``lbs_co2_per_mwh`` are converted to g/kWh. MOER is a *marginal* intensity: never summed with average ones.
"""

from __future__ import annotations

import threading
import time
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
from codecarbon.support import http as _http

DEFAULT_URL = "https://api.watttime.org"
TOKEN_LIFETIME_S = 30 * 60.0
TOKEN_MARGIN_S = 60.0
GRAMS_PER_POUND = 453.59237
SIGNAL = "co2_moer"
#: /v3/historical answers at most 32 days per request.
MAX_RANGE_S = 32 * 86400.0


class WattTime(Provider):
    name = "watttime"
    basis = "marginal"
    granularity_s = 300.0
    setting = "watttime_username / watttime_password"

    def __init__(self, base_url: str, username: str, password: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._username = username
        self._password = password
        self._token: Optional[str] = None
        self._token_until = 0.0
        self._lock = threading.Lock()

    def _login(self, timeout_s: float) -> str:
        with self._lock:
            if self._token is not None and time.monotonic() < self._token_until:
                return self._token
            auth = {"Authorization": _http.basic_auth(self._username, self._password)}
            answer = as_dict(self.get("/login", timeout_s=timeout_s, headers=auth), "login")
            token = answer.get("token")
            if not isinstance(token, str) or not token:
                raise ProviderError("watttime: the login answer has no token")
            self._token, self._token_until = token, time.monotonic() + TOKEN_LIFETIME_S - TOKEN_MARGIN_S
            return token

    def _ask(self, path: str, query: dict[str, str], timeout_s: float) -> dict[str, Any]:
        for attempt in (1, 2):
            token = self._login(timeout_s)
            try:
                return as_dict(self.get(path, query, timeout_s=timeout_s,
                                        headers={"Authorization": f"Bearer {token}"}), path)
            except ProviderError as error:
                if error.status != 401 or attempt == 2:
                    raise
                with self._lock:  # the token expired early: log in again, once
                    self._token = None
        raise ProviderError("watttime: unreachable")  # pragma: no cover - the loop returns or raises

    def resolve_zone(self, zone: Optional[str], latitude: Optional[float], longitude: Optional[float],
                     timeout_s: float) -> str:
        if zone:
            return zone
        if latitude is None or longitude is None:
            raise ProviderError("watttime needs a region or coordinates: set grid_zone (e.g. CAISO_NORTH)")
        answer = self._ask("/v3/region-from-loc", {"latitude": f"{latitude}", "longitude": f"{longitude}",
                                                   "signal_type": SIGNAL}, timeout_s)
        region = answer.get("region")
        if not isinstance(region, str) or not region:
            raise ProviderError("watttime: the answer names no region")
        return region

    def _points(self, answer: dict[str, Any], zone: str, kind: str) -> list[Point]:
        meta = answer.get("meta") if isinstance(answer.get("meta"), dict) else {}
        assert isinstance(meta, dict)
        units = str(meta.get("units") or "lbs_co2_per_mwh").lower()
        factor = GRAMS_PER_POUND / 1000.0 if units.startswith("lbs") else 1.0
        period = meta.get("data_point_period_seconds")
        granularity = float(period) if isinstance(period, (int, float)) and period > 0 else self.granularity_s
        pairs = []
        for record in as_list(answer.get("data"), "data"):
            if isinstance(record, dict):
                value = intensity_value(record.get("value"))
                if value is not None:
                    pairs.append((parse_time(record.get("point_time")), value * factor))
        return series(pairs, granularity, kind=kind, basis=self.basis, scope="direct", provider=self.name,
                      zone=zone)

    def latest(self, zone: str, now: float, timeout_s: float) -> list[Point]:
        answer = self._ask("/v3/forecast", {"region": zone, "signal_type": SIGNAL, "horizon_hours": "0"}, timeout_s)
        points = self._points(answer, zone, "latest")[:1]
        if not points:
            raise ProviderError("watttime: the answer has no MOER value")
        return points

    def history(self, zone: str, start: float, end: float, timeout_s: float) -> list[Point]:
        query = {"region": zone, "signal_type": SIGNAL, "start": iso_utc(start - start % self.granularity_s),
                 "end": iso_utc(min(end, start + MAX_RANGE_S))}
        return [p for p in self._points(self._ask("/v3/historical", query, timeout_s), zone, "history")
                if p.end > start and p.start < end]

    def forecast(self, zone: str, now: float, hours: float, timeout_s: float) -> list[Point]:
        query = {"region": zone, "signal_type": SIGNAL, "horizon_hours": f"{max(1, min(72, round(hours)))}"}
        return [p for p in self._points(self._ask("/v3/forecast", query, timeout_s), zone, "forecast")
                if p.end > now]
