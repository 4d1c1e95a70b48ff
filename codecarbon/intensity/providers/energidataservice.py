"""Energi Data Service (Energinet, Denmark): 5-minute CO2 emission intensity for DK1 and DK2, no key.

``CO2Emis`` is the published series (``CO2Emission`` g/kWh per ``Minutes5UTC``), ``CO2EmisProg`` the prognosis.
Queries use ``start``/``end`` (``YYYY-MM-DDTHH:MM`` with ``timezone=UTC``), a ``filter`` on ``PriceArea`` and a
``sort``. Figures are average intensities of direct emissions.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from codecarbon.intensity.providers.base import (
    Point,
    Provider,
    ProviderError,
    as_dict,
    as_list,
    intensity_value,
    parse_time,
    series,
)

DEFAULT_URL = "https://api.energidataservice.dk"
FIVE_MINUTES_S = 300.0
#: Longitude of the Great Belt: west of it is DK1 (Jutland, Funen), east DK2 (Zealand, Bornholm).
GREAT_BELT_LONGITUDE = 10.95


def price_area(zone: str) -> str:
    text = zone.strip().upper()
    if text.startswith("DK-"):
        text = text[3:]
    if text not in ("DK1", "DK2"):
        raise ProviderError(f"energidataservice zone must be DK1 or DK2 (or DK-DK1, DK-DK2), got {zone!r}")
    return text


def _minutes(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M")


class EnergiDataService(Provider):
    name = "energidataservice"
    basis = "average"
    granularity_s = FIVE_MINUTES_S

    def resolve_zone(self, zone: Optional[str], latitude: Optional[float], longitude: Optional[float],
                     timeout_s: float) -> str:
        if zone and zone.strip().upper() not in ("DK", "DNK"):
            return "DK-" + price_area(zone)
        if longitude is not None:
            return "DK-DK1" if longitude < GREAT_BELT_LONGITUDE else "DK-DK2"
        return "DK-DK1"

    def _query(self, dataset: str, zone: str, extra: dict[str, str], timeout_s: float) -> list[Any]:
        query = {"filter": json.dumps({"PriceArea": [price_area(zone)]}, separators=(",", ":")), **extra}
        answer = as_dict(self.get(f"/dataset/{dataset}", query, timeout_s=timeout_s), "top-level")
        return as_list(answer.get("records"), "records")

    def _points(self, records: list[Any], zone: str, kind: str) -> list[Point]:
        pairs = []
        for record in records:
            if isinstance(record, dict):
                value = intensity_value(record.get("CO2Emission"))
                if value is not None:
                    pairs.append((parse_time(record.get("Minutes5UTC")), value))
        return series(pairs, self.granularity_s, kind=kind, basis=self.basis, scope="direct", provider=self.name,
                      zone=zone)

    def latest(self, zone: str, now: float, timeout_s: float) -> list[Point]:
        records = self._query("CO2Emis", zone, {"sort": "Minutes5UTC DESC", "limit": "1"}, timeout_s)
        points = self._points(records, zone, "latest")
        if not points:
            raise ProviderError("energidataservice: no CO2Emis record")
        return points

    def history(self, zone: str, start: float, end: float, timeout_s: float) -> list[Point]:
        first = start - start % FIVE_MINUTES_S
        last = end - end % FIVE_MINUTES_S + FIVE_MINUTES_S  # the interval that holds ``end`` is wanted too
        query = {"start": _minutes(first), "end": _minutes(last), "timezone": "UTC", "sort": "Minutes5UTC ASC",
                 "limit": "0"}
        return [p for p in self._points(self._query("CO2Emis", zone, query, timeout_s), zone, "history")
                if p.end > start and p.start < end]

    def forecast(self, zone: str, now: float, hours: float, timeout_s: float) -> list[Point]:
        first = now - now % FIVE_MINUTES_S
        query = {"start": _minutes(first), "end": _minutes(now + hours * 3600.0), "timezone": "UTC",
                 "sort": "Minutes5UTC ASC", "limit": "0"}
        return [p for p in self._points(self._query("CO2EmisProg", zone, query, timeout_s), zone, "forecast")
                if p.end > now]
