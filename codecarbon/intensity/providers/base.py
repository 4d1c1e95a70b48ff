"""What every live intensity provider returns: points of a series, each one interval of grid intensity.

A provider speaks one documented HTTP API and turns its answers into :class:`Point` objects; everything above it
(the shared cache, the charger, best-window advice) sees only points. An interval runs from its point's time to
the next point's; the provider's granularity closes the last one. Times are seconds since the epoch, UTC.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from codecarbon.support import http as _http

#: Which figure wins when several cover the same moment: a settled one over the latest, the latest over a forecast.
KIND_RANK = {"history": 3, "latest": 2, "forecast": 1}
#: Answers larger than this are refused (a 72 h history of 5-minute points is about 100 kB).
MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Point:
    """One interval of a provider's series: gCO2eq/kWh from ``start`` to ``end`` (epoch seconds, UTC)."""

    start: float
    end: float
    g_per_kwh: float
    kind: str  # history | latest | forecast
    basis: str  # average | marginal
    scope: str  # lifecycle | direct
    provider: str
    zone: str


class ProviderError(Exception):
    """No usable answer. ``status``: the HTTP status when there was one; ``retry_after``: seconds asked by a 429."""

    def __init__(self, message: str, status: Optional[int] = None, retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def is_auth(self) -> bool:
        return self.status in (401, 403)


def parse_time(text: Any) -> float:
    """ISO 8601 (``2024-05-01T10:00:00.000Z``, ``2024-05-01T10:00Z``, ``+00:00``, or naive meaning UTC) → epoch s."""
    if not isinstance(text, str) or not text.strip():
        raise ProviderError(f"not a time: {text!r}")
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        stamp = _dt.datetime.fromisoformat(value)
    except ValueError:
        raise ProviderError(f"not an ISO 8601 time: {text!r}") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.timezone.utc)
    return stamp.timestamp()


def iso_utc(seconds: float, *, minutes_only: bool = False) -> str:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ`` (or ``...THH:MMZ``), UTC."""
    stamp = _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%MZ" if minutes_only else "%Y-%m-%dT%H:%M:%SZ")


def intensity_value(value: Any) -> Optional[float]:
    """A usable gCO2eq/kWh figure (finite, >= 0), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def series(stamped: Iterable[tuple[float, float]], granularity_s: float, *, kind: str, basis: str, scope: str,
           provider: str, zone: str) -> list[Point]:
    """Points from (start, g/kWh) pairs: each interval ends at the next start; the last one after the granularity.

    Duplicated times keep the last value; a gap longer than the granularity closes the interval at the
    granularity (the missing time is not covered rather than stretched)."""
    by_start: dict[float, float] = {}
    for start, value in stamped:
        by_start[start] = value
    starts = sorted(by_start)
    points = []
    for index, start in enumerate(starts):
        natural = start + granularity_s
        end = min(starts[index + 1], natural) if index + 1 < len(starts) else natural
        points.append(Point(start, end, by_start[start], kind, basis, scope, provider, zone))
    return points


def retry_after_s(headers: Mapping[str, str], now: float) -> Optional[float]:
    """The wait a ``Retry-After`` header asks for (seconds, or an HTTP date), bounded to one day."""
    raw = str(headers.get("retry-after") or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(raw).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), 86400.0)


class Provider:
    """Base of the providers: one HTTP exchange per call, bounded, turned into points or a ProviderError.

    Subclasses set ``name``, ``basis``, ``granularity_s`` and implement ``latest``, ``history`` and ``forecast``.
    ``transport`` is the HTTP seam (None: the real client). Secrets live in attributes only, never in a message."""

    name = "provider"
    basis = "average"
    granularity_s = 3600.0
    setting = ""  # the setting to name when the provider refuses our credentials

    def __init__(self, base_url: str, *, transport: Optional[_http.Transport] = None,
                 clock: Optional[Callable[[], float]] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        self.clock: Callable[[], float] = clock or _now
        self.requests = 0

    # --- the API --------------------------------------------------------------------------------------------
    def resolve_zone(self, zone: Optional[str], latitude: Optional[float], longitude: Optional[float],
                     timeout_s: float) -> str:
        """The provider's zone for a place (may ask the provider); ProviderError when it cannot tell."""
        if not zone:
            raise ProviderError(f"{self.name} needs a zone: set grid_zone")
        return zone

    def latest(self, zone: str, now: float, timeout_s: float) -> list[Point]:
        raise NotImplementedError

    def history(self, zone: str, start: float, end: float, timeout_s: float) -> list[Point]:
        raise NotImplementedError

    def forecast(self, zone: str, now: float, hours: float, timeout_s: float) -> list[Point]:
        raise NotImplementedError

    # --- helpers ----------------------------------------------------------------------------------------------
    def get(self, path: str, query: Optional[Mapping[str, str]] = None, *, timeout_s: float,
            headers: Optional[Mapping[str, str]] = None, now: float = 0.0) -> Any:
        """GET ``base_url + path`` and return its JSON; every failure becomes a ProviderError without secrets."""
        import urllib.parse

        self.requests += 1
        url = self.base_url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        try:
            answer = _http.request("GET", url, headers={"Accept": "application/json", **(headers or {})},
                                   timeout_s=timeout_s, max_body_bytes=MAX_BODY_BYTES, transport=self.transport)
        except _http.HttpError as error:
            raise ProviderError(f"{self.name}: no answer ({_scrub(str(error))})") from None
        if answer.status == 429:
            raise ProviderError(f"{self.name}: HTTP 429 (rate limited)", 429,
                                retry_after_s(answer.headers, now or self.clock()))
        if answer.status in (401, 403):
            raise ProviderError(f"{self.name}: HTTP {answer.status}: credentials refused (check {self.setting})",
                                answer.status)
        if not answer.ok:
            raise ProviderError(f"{self.name}: HTTP {answer.status}", answer.status)
        try:
            return answer.json()
        except _http.HttpError:
            raise ProviderError(f"{self.name}: the answer is not JSON", answer.status) from None


def _scrub(message: str) -> str:
    """An HTTP client message without a query string (where some providers would carry a key)."""
    return message.split("?", 1)[0]


def _now() -> float:
    import time

    return time.time()


def as_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ProviderError(f"the answer has no {what} list")
    return value


def as_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProviderError(f"the answer has no {what} object")
    return value
