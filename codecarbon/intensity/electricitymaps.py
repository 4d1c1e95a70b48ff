"""Live carbon intensity from Electricity Maps, behind a cache, a hard timeout and a failure back-off.

Why a feed rather than a call: the tracker asks for the intensity on its sampling thread and on the user's
thread, and neither may wait on the network. `latest()` answers from memory at once and, when the figure is
stale, starts one background refresh; a failing API is asked again after 30 s, then 60 s, ... up to 1 h.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, Optional

from codecarbon.external.logger import logger
from codecarbon.intensity.types import Intensity
from codecarbon.support import http as _http

ELECTRICITYMAPS_URL = "https://api.electricitymaps.com/v3/carbon-intensity/latest"
TIMEOUT_S = 10.0
CACHE_S = 60.0
#: A live figure older than the cache but younger than this still beats the static one while refreshing.
STALE_GRACE_S = 600.0
BACKOFF_FIRST_S = 30.0
BACKOFF_MAX_S = 3600.0
SOURCE = "electricitymaps"


def fetch_carbon_intensity(token: str, *, latitude: Optional[float] = None, longitude: Optional[float] = None,
                           country_code: Optional[str] = None, url: str = ELECTRICITYMAPS_URL,
                           timeout_s: float = TIMEOUT_S) -> Intensity:
    """One blocking request: the latest gCO2eq/kWh at the coordinates (preferred) or in the country."""
    if latitude is not None and longitude is not None:
        query = {"lat": f"{latitude}", "lon": f"{longitude}"}
    elif country_code:
        query = {"countryCode": country_code.upper()}
    else:
        raise _http.HttpError("no coordinates and no country code to ask about")
    answer = _http.get_json(f"{url}?{urllib.parse.urlencode(query)}", timeout_s=timeout_s,
                            headers={"auth-token": token, "Accept": "application/json"})
    value = answer.get("carbonIntensity") if isinstance(answer, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise _http.HttpError(f"answer has no usable carbonIntensity ({value!r})")
    stamp = str(answer.get("datetime") or "")
    year = int(stamp[:4]) if stamp[:4].isdigit() else None
    return Intensity(float(value), SOURCE, year)


class ElectricityMapsFeed:
    """The latest live figure for one place, refreshed in the background; never blocks, never raises."""

    def __init__(self, token: str, *, latitude: Optional[float] = None, longitude: Optional[float] = None,
                 country_code: Optional[str] = None, url: Optional[str] = None, timeout_s: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._token = token
        self._where: dict[str, Any] = {"latitude": latitude, "longitude": longitude, "country_code": country_code}
        self._url = url or ELECTRICITYMAPS_URL
        self._timeout_s = TIMEOUT_S if timeout_s is None else float(timeout_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._live: Optional[Intensity] = None
        self._live_at = -math.inf
        self._thread: Optional[threading.Thread] = None
        self._started_at = -math.inf
        self._generation = 0
        self.consecutive_failures = 0
        self.next_attempt_at = -math.inf
        self.last_error: Optional[str] = None

    def latest(self) -> Optional[Intensity]:
        """The live figure if one is recent enough, else None; starts a refresh when one is due."""
        now = self._clock()
        with self._lock:
            age = now - self._live_at
            if self._live is not None and age < CACHE_S:
                return self._live
            self._maybe_start_refresh(now)
            return self._live if self._live is not None and age < STALE_GRACE_S else None

    def wait(self, timeout_s: float) -> None:
        """Wait (bounded) for a refresh in flight to finish: for stop() and for tests."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _maybe_start_refresh(self, now: float) -> None:
        if self._thread is not None and self._thread.is_alive():
            if now - self._started_at <= 2 * self._timeout_s:
                return
            # A request stuck past the hard limit counts as failed; its late answer will be ignored.
            self._record_failure(now, f"no answer within {2 * self._timeout_s:g} s")
        if now < self.next_attempt_at:
            return
        self._generation += 1
        self._started_at = now
        self._thread = threading.Thread(target=self._refresh, args=(self._generation,),
                                        name="codecarbon-electricitymaps", daemon=True)
        self._thread.start()

    def _refresh(self, generation: int) -> None:
        try:
            figure = fetch_carbon_intensity(self._token, url=self._url, timeout_s=self._timeout_s, **self._where)
        except Exception as error:  # nothing may escape a background thread
            status = getattr(error, "status", None)
            reason = str(error) + (" (check electricitymaps_api_token)" if status in (401, 403) else "")
            with self._lock:
                if generation == self._generation:
                    self._record_failure(self._clock(), reason)
            return
        with self._lock:
            if generation != self._generation:
                return
            if self.consecutive_failures:
                logger.info("Electricity Maps answers again: %.1f gCO2eq/kWh.", figure.g_co2e_per_kwh)
            self._live, self._live_at = figure, self._clock()
            self.consecutive_failures = 0
            self.next_attempt_at = -math.inf
            self.last_error = None

    def _record_failure(self, now: float, reason: str) -> None:
        """Called with the lock held: back off 30 s, 60 s, ... 1 h, and say so once per failure streak."""
        self.consecutive_failures += 1
        delay = min(BACKOFF_FIRST_S * 2 ** (self.consecutive_failures - 1), BACKOFF_MAX_S)
        self.next_attempt_at = now + delay
        self.last_error = reason
        self._generation += 1
        level = logging.WARNING if self.consecutive_failures == 1 else logging.DEBUG
        logger.log(level, "Electricity Maps gave no live carbon intensity (%s); using the bundled figure, "
                          "next try in %.0f s.", reason, delay)
