"""When to run: the best window of a grid's forecast, and what a run would emit now, at best and at worst.

``best_window(duration, within)`` looks at the forecast of the place's provider and returns the window of length
``duration`` that starts at or after now, ends by now + ``within``, and has the lowest mean forecast intensity
(the lowest rolling mean over the job's length, as the Carbon Aware SDK defines it). Candidate starts are now
and the forecast's points; ties go to the earliest. Means are time-weighted over the piecewise-constant series.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

from codecarbon.support.errors import CodeCarbonError

Duration = Union[_dt.timedelta, float, int]


class NoForecastError(CodeCarbonError):
    """The place's provider publishes no forecast (static figures), or it did not answer in time."""


@dataclass(frozen=True)
class BestWindow:
    """The advice: start and end (UTC), the mean forecast intensity there and if started now, and the saving."""

    start: _dt.datetime
    end: _dt.datetime
    mean_g_per_kwh: float
    now_mean_g_per_kwh: float
    provider: str
    zone: str
    basis: str  # average | marginal

    @property
    def saving_g_per_kwh(self) -> float:
        return self.now_mean_g_per_kwh - self.mean_g_per_kwh

    @property
    def saving_percent(self) -> float:
        return 100.0 * self.saving_g_per_kwh / self.now_mean_g_per_kwh if self.now_mean_g_per_kwh > 0 else 0.0


def seconds(value: Duration, name: str) -> float:
    """A duration as seconds: a timedelta or a number of seconds (> 0); ValueError naming ``name`` otherwise."""
    if isinstance(value, _dt.timedelta):
        result = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
    else:
        raise ValueError(f"{name} must be a timedelta or a number of seconds, got {value!r}")
    if not result > 0 or result != result or result == float("inf"):
        raise ValueError(f"{name} must be a positive duration, got {value!r}")
    return result


class Series:
    """A piecewise-constant intensity series with prefix integrals, for O(log n) window means."""

    def __init__(self, points: Sequence[Any]) -> None:
        ordered = sorted(points, key=lambda p: p.start)
        self.starts = [p.start for p in ordered]
        self.ends = [p.end for p in ordered]
        self.values = [p.g_per_kwh for p in ordered]
        self.integral = [0.0]
        for start, end, value in zip(self.starts, self.ends, self.values, strict=True):
            self.integral.append(self.integral[-1] + value * (end - start))
        # reach[i]: where the gap-free run of points holding point i ends
        self.reach = list(self.ends)
        for index in range(len(self.starts) - 2, -1, -1):
            if self.starts[index + 1] <= self.ends[index]:
                self.reach[index] = self.reach[index + 1]

    def _integral_to(self, t: float) -> float:
        index = bisect.bisect_right(self.starts, t) - 1
        if index < 0:
            return 0.0
        partial = min(t, self.ends[index]) - self.starts[index]
        return self.integral[index] + self.values[index] * max(partial, 0.0)

    def covers(self, a: float, b: float) -> bool:
        """True when [a, b) has no gap in the series."""
        index = bisect.bisect_right(self.starts, a) - 1
        return index >= 0 and self.ends[index] > a and self.reach[index] >= b

    def mean(self, a: float, b: float) -> float:
        return (self._integral_to(b) - self._integral_to(a)) / (b - a)


def best_of(points: Sequence[Any], duration_s: float, within_s: float, now: float) -> Optional[tuple[float, float,
                                                                                                     float]]:
    """(start, mean, mean if started now) of the best window in ``points``, or None when none fits."""
    series = Series(points)
    if not series.starts:
        return None
    last_start = now + within_s - duration_s
    if last_start < now:
        return None
    best: Optional[tuple[float, float]] = None
    if series.covers(now, now + duration_s):
        best = (now, series.mean(now, now + duration_s))
    starts, reach, integral, to = series.starts, series.reach, series.integral, series._integral_to
    for index in range(bisect.bisect_right(starts, now), len(starts)):
        start = starts[index]
        if start > last_start:
            break
        end = start + duration_s
        if reach[index] < end:
            continue  # a gap in the forecast inside the window
        mean = (to(end) - integral[index]) / duration_s
        if best is None or mean < best[1] - 1e-12:
            best = (start, mean)
    if best is None:
        return None
    now_mean = series.mean(now, now + duration_s) if series.covers(now, now + duration_s) else best[1]
    return best[0], best[1], now_mean


def worst_of(points: Sequence[Any], duration_s: float, within_s: float, now: float) -> Optional[tuple[float, float]]:
    """(start, mean) of the window with the highest mean (for ``codecarbon estimate``)."""
    inverted = [type("P", (), {"start": p.start, "end": p.end, "g_per_kwh": -p.g_per_kwh})() for p in points]
    found = best_of(inverted, duration_s, within_s, now)
    return (found[0], -found[1]) if found is not None else None


def open_feed(grid_zone: Optional[str] = None, *, settings: Any = None, clock: Callable[[], float] = time.time,
              transport: Any = None, **provider_settings: Any) -> Any:
    """The shared feed of the provider that serves the place (settings layered as for a tracker), or None when
    only static figures apply. ``provider_settings``: carbon_intensity_provider, electricitymaps_api_token,
    the *_api_url settings, watttime_username/password, country_iso_code."""
    from codecarbon.intensity import providers
    from codecarbon.intensity.feed import shared_feed
    from codecarbon.intensity.live import explicit_location

    if settings is None:
        from codecarbon.core.config import load_settings

        arguments = dict(provider_settings)
        if grid_zone:
            arguments["grid_zone"] = grid_zone
        settings = load_settings(arguments)
    zone = grid_zone or settings.get("grid_zone")
    country = settings.get("country_iso_code")
    latitude = longitude = None
    if zone or country:
        location = explicit_location(zone, country)
    else:
        from codecarbon.intensity.geolocation import detect_online_location

        location = detect_online_location(timeout_s=1.0)
        latitude, longitude = location.latitude, location.longitude
    choice = providers.choose(settings, country_iso_code=location.country_iso_code, grid_zone=zone)
    if choice.provider == "static" or providers.credentials_missing(choice.provider, settings):
        return None
    provider = providers.make(choice.provider, settings, transport=transport, clock=clock)
    zone = choice.zone
    if zone is None and choice.provider in ("uk-grid", "energidataservice"):
        zone = provider.resolve_zone(None, latitude, longitude, 1.0)
    if zone is None and latitude is None:
        zone = location.country_2letter_iso_code
    secret = "\n".join(str(settings.get(n) or "") for n in
                       ("electricitymaps_api_token", "watttime_username", "watttime_password"))
    return shared_feed(provider, zone=zone, latitude=latitude, longitude=longitude, secret=secret, clock=clock)


def best_window(duration: Duration, within: Duration, *, grid_zone: Optional[str] = None,
                timeout_s: float = 5.0, clock: Callable[[], float] = time.time, transport: Any = None,
                **provider_settings: Any) -> BestWindow:
    """The lowest-mean window of length ``duration`` starting now or later and ending by now + ``within``.

    Raises NoForecastError when the place has no forecast (static figures only) or none came in ``timeout_s``,
    ValueError for a bad duration or setting."""
    duration_s = seconds(duration, "duration")
    within_s = seconds(within, "within")
    if within_s < duration_s:
        raise ValueError(f"within ({within_s:g} s) must be at least duration ({duration_s:g} s)")
    feed = open_feed(grid_zone, clock=clock, transport=transport, **provider_settings)
    if feed is None:
        raise NoForecastError("no forecast: only the static tables apply here (set grid_zone and a provider "
                              "that publishes forecasts: electricitymaps, uk-grid, energidataservice, watttime)")
    now = clock()
    points = feed.forecast(within_s / 3600.0, timeout_s, now=now)
    found = best_of(points, duration_s, within_s, now)
    if found is None:
        reason = feed.last_error or "the forecast does not cover the window"
        raise NoForecastError(f"no usable forecast from {feed.name} for {feed.zone or 'this place'}: {reason}")
    start, mean, now_mean = found
    utc = _dt.timezone.utc
    return BestWindow(_dt.datetime.fromtimestamp(start, tz=utc), _dt.datetime.fromtimestamp(start + duration_s, tz=utc),
                      mean, now_mean, feed.name, feed.zone or "", feed.basis)


def realised_mean(feed: Any, start: float, end: float, timeout_s: float = 2.0) -> Optional[float]:
    """The time-weighted mean of the best figures known for [start, end) after asking for its history."""
    if end <= start:
        return None
    feed.settle(start, end, timeout_s)
    total = 0.0
    t = start
    while t < end:
        point = feed.best(t) or feed.nearest(t)
        if point is None:
            return None
        stop = min(end, point.end) if point.start <= t < point.end else min(end, t + feed.granularity_s)
        total += point.g_per_kwh * (stop - t)
        t = stop
    return total / (end - start)
