"""The shared cache of one (provider, zone) series, and the only place that asks a provider anything.

Every tracker of a process that uses the same provider, URL, credentials and place shares one :class:`Feed`, so a
process asks at most once per (provider, zone, interval) however many trackers run. The cache's entries are the
intervals themselves: a figure is good for exactly the interval it describes. Every request runs on its own
daemon thread (``codecarbon-intensity``) with a hard timeout; callers never wait on the network except
``settle`` and ``forecast``, and those wait at most the bound they are given. Failures back off (30 s doubling
to 1 h); a 429 waits what its ``Retry-After`` says; 401/403 gives one warning naming the setting and turns the
feed off for the process (the static tables apply).
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Optional

from codecarbon.external.logger import logger
from codecarbon.intensity.providers.base import KIND_RANK, Point, ProviderError

#: A request in the background gives up after this long (a settlement's wait is bounded separately).
REQUEST_TIMEOUT_S = 10.0
BACKOFF_FIRST_S = 30.0
BACKOFF_MAX_S = 3600.0
#: A known figure stands in for an uncovered moment this close to it (the latest figure until the next one).
NEAREST_S = 3 * 3600.0


class Feed:
    """What the process knows of one provider's series for one place, and the bounded requests that fill it."""

    def __init__(self, provider: Any, *, zone: Optional[str] = None, latitude: Optional[float] = None,
                 longitude: Optional[float] = None, clock: Callable[[], float] = time.time,
                 request_timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.provider = provider
        self.name: str = provider.name
        self.basis: str = provider.basis
        self.granularity_s = float(provider.granularity_s)
        self.zone: Optional[str] = zone
        self._where = (latitude, longitude)
        self.clock = clock
        self.request_timeout_s = request_timeout_s
        self._lock = threading.Lock()
        self._zone_lock = threading.Lock()  # held (by request threads only) while the place's zone is asked for
        # kind → (starts, points), replaced whole on every change so a reader on another thread never sees the
        # two lists out of step
        self._series: dict[str, tuple[list[float], list[Point]]] = {kind: ([], []) for kind in KIND_RANK}
        self._asked: set[tuple[Any, ...]] = set()
        self._inflight: dict[tuple[Any, ...], Future[list[Point]]] = {}
        self._settled_until: dict[tuple[int, int], float] = {}
        self.version = 0  # bumped whenever points arrive
        self.disabled = False
        self.failures = 0
        self.next_attempt_at = -math.inf
        self.retry_after_until = -math.inf  # a 429's Retry-After: honoured by every request, settlements too
        self.last_error: Optional[str] = None

    @property
    def requests(self) -> int:
        """HTTP requests this feed's provider has sent (the figure the bench and tests count)."""
        return int(getattr(self.provider, "requests", 0))

    # --- reading the cache (never blocks on the network) ------------------------------------------------------
    def best(self, t: float) -> Optional[Point]:
        """The highest-ranked known point covering ``t`` (history over latest over forecast)."""
        for kind in ("history", "latest", "forecast"):
            starts, points = self._series[kind]
            index = bisect.bisect_right(starts, t) - 1
            if index >= 0:
                point = points[index]
                if point.start <= t < point.end:
                    return point
        return None

    def nearest(self, t: float, within_s: float = NEAREST_S) -> Optional[Point]:
        """The known point closest in time to ``t`` (none farther than ``within_s``): the figure carried over."""
        found: Optional[Point] = None
        distance = within_s
        for kind in ("history", "latest", "forecast"):
            starts, points = self._series[kind]
            index = bisect.bisect_right(starts, t)
            for candidate in points[max(0, index - 1):index + 1]:
                gap = max(candidate.start - t, t - candidate.end, 0.0)
                if gap < distance or (gap == distance and found is None):
                    found, distance = candidate, gap
        return found

    def boundaries(self, a: float, b: float) -> list[float]:
        """Interval edges of known points strictly inside (a, b), sorted."""
        edges: set[float] = set()
        for kind in KIND_RANK:
            starts, points = self._series[kind]
            index = max(0, bisect.bisect_right(starts, a) - 1)
            while index < len(points) and points[index].start < b:
                for edge in (points[index].start, points[index].end):
                    if a < edge < b:
                        edges.add(edge)
                index += 1
        return sorted(edges)

    def covered_by_history(self, a: float, b: float) -> bool:
        return self.first_unsettled(a, b) is None

    def first_unsettled(self, a: float, b: float) -> Optional[float]:
        """The first moment of [a, b) that no history point covers, None when history covers it all."""
        t = a
        while t < b:
            point = self.best(t)
            if point is None or point.kind != "history":
                return t
            t = point.end
        return None

    def points(self, kind: str) -> list[Point]:
        return list(self._series[kind][1])

    def add(self, points: list[Point]) -> None:
        """Put points in the cache; a point replaces one of the same kind that starts at the same time."""
        with self._lock:
            durations = [p.end - p.start for p in points if p.kind != "forecast" and p.end > p.start]
            if durations and min(durations) < self.granularity_s:
                self.granularity_s = min(durations)  # finer than documented: one request per real interval
            changed: dict[str, tuple[list[float], list[Point]]] = {}
            for point in points:
                if point.kind not in changed:
                    starts, stored = self._series[point.kind]
                    changed[point.kind] = (list(starts), list(stored))
                starts, stored = changed[point.kind]
                index = bisect.bisect_left(starts, point.start)
                if index < len(starts) and starts[index] == point.start:
                    stored[index] = point
                else:
                    starts.insert(index, point.start)
                    stored.insert(index, point)
            self._series.update(changed)
            self.version += 1  # after the points are in: a price stamped with this version saw them

    # --- asking the provider ----------------------------------------------------------------------------------
    def interval_key(self, t: float) -> int:
        return int(t // self.granularity_s)

    def want_latest(self, now: Optional[float] = None) -> None:
        """Start one background request for the current interval's figure, unless known, asked or backing off."""
        now = self.clock() if now is None else now
        point = self.best(now)
        if point is not None and point.kind in ("history", "latest"):
            return
        with self._lock:  # request threads remove their keys meanwhile: never iterate the dict unlocked
            if any(key[0] == "latest" for key in self._inflight):
                return  # one question about the present at a time
        self._submit(("latest", self.interval_key(now)), lambda zone, timeout: self.provider.latest(
            zone, now, timeout), now)

    def settle(self, start: float, end: float, timeout_s: float) -> bool:
        """Ask for the history of [start, end), waiting ``timeout_s`` at most; True when the provider answered
        (or history already covered it). What history does not cover yet keeps its latest figure."""
        unsettled = None if end <= start else self.first_unsettled(start, end)
        if unsettled is None:
            return True
        start = unsettled  # what history already holds is never asked about again
        now = self.clock()
        first, last = self.interval_key(start), self.interval_key(end - 1e-9)
        future = None
        with self._lock:
            for key, running in self._inflight.items():
                if key[0] == "history" and key[1] <= first and key[2] >= last:
                    future = running  # another tracker's settlement covers ours: wait for that one
                    break
            if future is None and now < self._settled_until.get((first, last), -math.inf):
                return True  # answered for this very range within the current interval already
        if future is None:
            future = self._submit(("history", first, last), lambda zone, timeout: self.provider.history(
                zone, start, end, timeout), now, again=True)
        if future is None:
            return False
        try:
            future.result(timeout=max(0.0, timeout_s))
        except FutureTimeout:
            return False
        except Exception:  # the provider's failure was logged where it happened; the run stays provisional
            return False
        with self._lock:
            until = (last + 1) * self.granularity_s
            self._settled_until[(first, last)] = until
            still = self.first_unsettled(start, end)
            if still is not None:  # not published yet: a later run ending here asks from there, in vain until then
                self._settled_until[(self.interval_key(still), last)] = until
        return True

    def forecast(self, hours: float, timeout_s: float, now: Optional[float] = None) -> list[Point]:
        """The coming ``hours`` of forecast (and the current figure), waiting ``timeout_s`` at most."""
        now = self.clock() if now is None else now
        key = ("forecast", self.interval_key(now), int(math.ceil(hours)))
        future = self._submit(key, lambda zone, timeout: self.provider.forecast(zone, now, hours, timeout), now)
        if future is not None:
            try:
                future.result(timeout=max(0.0, timeout_s))
            except (FutureTimeout, Exception):
                pass
        horizon = now + hours * 3600.0
        return [p for p in self._series["forecast"][1] if p.end > now and p.start < horizon]

    def wait(self, timeout_s: float) -> None:
        """Wait (bounded) for the requests in flight: for tests, benches and a command that is about to exit."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            running = list(self._inflight.values())
        for future in running:
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:  # includes the timeout: the caller only wanted a bounded wait
                pass

    def _submit(self, key: tuple[Any, ...], call: Callable[[str, float], list[Point]], now: float, *,
                again: bool = False) -> Optional[Future[list[Point]]]:
        with self._lock:
            if self.disabled or now < self.retry_after_until or (now < self.next_attempt_at and not again):
                return None
            running = self._inflight.get(key)
            if running is not None:
                return running
            if key in self._asked and not again:
                return None
            self._asked.add(key)
            future: Future[list[Point]] = Future()
            self._inflight[key] = future
        thread = threading.Thread(target=self._fetch, args=(key, call, future), name="codecarbon-intensity",
                                  daemon=True)
        thread.start()
        return future

    def _fetch(self, key: tuple[Any, ...], call: Callable[[str, float], list[Point]],
               future: Future[list[Point]]) -> None:
        try:
            timeout = self.request_timeout_s
            with self._zone_lock:  # requests started together ask about the place once
                if self.zone is None:
                    lat, lon = self._where
                    self.zone = self.provider.resolve_zone(None, lat, lon, timeout)
            points = call(self.zone, timeout)
        except BaseException as error:  # nothing escapes a background thread
            self._failed(key, error)
            future.set_exception(error if isinstance(error, Exception) else RuntimeError(str(error)))
            return
        self.add(points)
        with self._lock:
            self._inflight.pop(key, None)
            if self.failures:
                logger.info("%s answers again.", self.name)
            self.failures = 0
            self.next_attempt_at = -math.inf
            self.last_error = None
        future.set_result(points)

    def _failed(self, key: tuple[Any, ...], error: BaseException) -> None:
        now = self.clock()
        with self._lock:
            self._inflight.pop(key, None)
            self._asked.discard(key)  # may be asked again once the back-off is over
            status = getattr(error, "status", None)
            self.last_error = str(error)
            if isinstance(error, ProviderError) and error.is_auth:
                if not self.disabled:
                    self.disabled = True
                    logger.warning("%s refused the credentials (HTTP %s): check %s. The bundled static figures "
                                   "apply for the rest of this process.", self.name, status,
                                   self.provider.setting or "the provider's settings")
                return
            self.failures += 1
            delay = min(BACKOFF_FIRST_S * 2 ** (self.failures - 1), BACKOFF_MAX_S)
            retry_after = getattr(error, "retry_after", None)
            if status == 429 and retry_after is not None:
                delay = float(retry_after)
                self.retry_after_until = now + delay
            self.next_attempt_at = now + delay
            level = logging.WARNING if self.failures == 1 else logging.DEBUG
        logger.log(level, "%s gave no carbon intensity (%s); next try in %.0f s, known or static figures "
                          "meanwhile.", self.name, error, delay)


_SHARED: dict[tuple[Any, ...], Feed] = {}
_SHARED_LOCK = threading.Lock()


def shared_feed(provider: Any, *, zone: Optional[str], latitude: Optional[float], longitude: Optional[float],
                secret: str = "", clock: Callable[[], float] = time.time,
                request_timeout_s: float = REQUEST_TIMEOUT_S) -> Feed:
    """The process's one feed for this provider, URL, credentials and place (made on first use, with its clock
    and request timeout)."""
    from codecarbon.support.statedir import sha256_hex  # the same digest without mapping OpenSSL (issue 16)

    fingerprint = sha256_hex(secret.encode("utf-8")) if secret else ""
    key = (provider.name, provider.base_url, fingerprint, (zone or "").upper(), latitude, longitude)
    with _SHARED_LOCK:
        feed = _SHARED.get(key)
        if feed is None:
            feed = _SHARED[key] = Feed(provider, zone=zone, latitude=latitude, longitude=longitude, clock=clock,
                                       request_timeout_s=request_timeout_s)
        return feed


def forget_shared_feeds() -> None:
    """Empty the process's cache (tests; a long-lived service that changed its settings)."""
    with _SHARED_LOCK:
        _SHARED.clear()
