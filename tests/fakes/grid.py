"""A local HTTP server speaking the documented requests and answers of four grid-intensity providers.

One server on 127.0.0.1 answers, from one intensity trace per zone:
- Electricity Maps v3 under ``/v3/carbon-intensity/`` (``latest``, ``history``, ``past-range``, ``forecast``;
  ``auth-token`` header), base URL ``<base>/v3``;
- the GB Carbon Intensity API (``/intensity``, ``/intensity/{from}/{to}``, ``/intensity/{from}/fw48h``,
  ``/regional/regionid/{id}``, ``/regional/intensity/{from}/{to}/regionid/{id}``, ``.../fw48h/regionid/{id}``);
- Energi Data Service (``/dataset/CO2Emis``, ``/dataset/CO2EmisProg`` with ``start``, ``end``, ``filter``,
  ``sort``, ``limit``, ``timezone=UTC``);
- WattTime v3 (``/login`` with HTTP Basic, then bearer ``/v3/forecast``, ``/v3/historical``,
  ``/v3/region-from-loc``; values in lbs CO2 per MWh).

The trace gives each zone's g/kWh per interval of ``granularity`` seconds; the server's ``clock`` says what "now"
is (tests share a fake clock with the code under test). ``mode`` makes it fail: an HTTP status (401, 403, 500,
429 with ``retry_after``), ``"hang"`` (never answers), ``"huge"`` (a 10 MB body), ``"malformed"`` (not JSON).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.servers import loopback_url, serve_on_loopback, stop_serving

LBS_PER_G = 1 / 453.59237 * 1000  # g/kWh → lbs/MWh


def iso(seconds: float, fmt: str = "%Y-%m-%dT%H:%M:%S.%fZ") -> str:
    """UTC text; the default keeps milliseconds, as Electricity Maps writes them (``...T10:00:00.000Z``)."""
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    return stamp.strftime(fmt.replace("%f", f"{stamp.microsecond // 1000:03d}"))


def parse(text: str) -> float:
    value = text.replace("Z", "+00:00")
    stamp = dt.datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.timestamp()


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class GridServer:
    """Serves ``value(zone, t)`` as each provider documents it; records every request."""

    value: Callable[[str, float], float] = lambda zone, t: 100.0
    granularity: float = 300.0
    clock: Callable[[], float] = time.time
    forecast_value: Optional[Callable[[str, float], float]] = None
    token: str = "em-secret-token"
    watttime_user: str = "wt-user"
    watttime_password: str = "wt-secret-password"
    mode: Any = None
    retry_after: Optional[str] = None
    delay: float = 0.0
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hang: threading.Event = field(default_factory=threading.Event)
    server: Optional[ThreadingHTTPServer] = None

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> GridServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                owner._serve(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = serve_on_loopback(Handler, poll_s=0.05)
        return self

    def close(self) -> None:
        self.hang.set()
        if self.server is not None:
            stop_serving(self.server)

    @property
    def base(self) -> str:
        assert self.server is not None
        return loopback_url(self.server)

    def requests(self, prefix: str = "") -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path.startswith(prefix)]

    # --- the trace -----------------------------------------------------------------------------------------------
    def start_of(self, t: float) -> float:
        return t - t % self.granularity

    def points(self, zone: str, start: float, end: float, *, forecast: bool = False,
               step: Optional[float] = None) -> list[tuple[float, float]]:
        """(interval start, g/kWh) of every interval overlapping [start, end); ``step`` overrides the granularity
        (a provider with a fixed resolution samples the trace at its own step)."""
        value = (self.forecast_value or self.value) if forecast else self.value
        step = step or self.granularity
        t = start - start % step
        out = []
        while t < end:
            out.append((t, value(zone, t)))
            t += step
        return out

    def settled(self, zone: str, start: float, end: float) -> list[tuple[float, float]]:
        """History: every interval that has begun (real-time series publish the current one as it goes)."""
        now = self.clock()
        return [(t, g) for t, g in self.points(zone, start, min(end, now)) if t <= now]

    # --- serving -------------------------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        seen = Seen(parts.path, parse_qs(parts.query), {k.lower(): v for k, v in handler.headers.items()})
        with self.lock:
            self.seen.append(seen)
        if self.delay:
            time.sleep(self.delay)
        mode = self.mode
        if mode == "hang":
            self.hang.wait(60)
            return
        if isinstance(mode, int):
            headers = {"Retry-After": self.retry_after} if mode == 429 and self.retry_after else {}
            return self._send(handler, mode, {"error": "refused"}, headers)
        if mode == "huge":
            return self._send(handler, 200, b"[" + b"1," * (5 * 1024 * 1024) + b"1]")
        if mode == "malformed":
            return self._send(handler, 200, b'{"carbonIntensity": 12, "data": [')
        try:
            status, body = self._route(seen)
        except (KeyError, ValueError, IndexError) as error:
            status, body = 400, {"error": f"bad request: {error}"}
        self._send(handler, status, body)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: Optional[dict] = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            handler.send_response(status)
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass

    def _route(self, seen: Seen) -> tuple[int, Any]:
        path, q = seen.path, {k: v[0] for k, v in seen.query.items()}
        if path.startswith("/v3/carbon-intensity/"):
            return self._electricitymaps(path.rsplit("/", 1)[1], q, seen.headers)
        if path.startswith(("/intensity", "/regional")):
            return self._ukgrid(path)
        if path.startswith("/dataset/"):
            return self._energi(path.rsplit("/", 1)[1], q)
        if path == "/login" or path.startswith("/v3/"):
            return self._watttime(path, q, seen.headers)
        return 404, {"error": "not found"}

    # Electricity Maps v3
    def _electricitymaps(self, endpoint: str, q: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        if headers.get("auth-token") != self.token:
            return 401, {"message": "Invalid auth-token"}
        zone = q.get("zone") or ("DE" if "lat" in q else "")
        if not zone:
            return 400, {"error": "zone or lat/lon required"}
        now = self.clock()

        def record(t: float, g: float) -> dict[str, Any]:
            return {"zone": zone, "carbonIntensity": g, "datetime": iso(t), "updatedAt": iso(now),
                    "emissionFactorType": "lifecycle", "isEstimated": False}

        if endpoint == "latest":
            t = self.start_of(now)
            return 200, record(t, self.value(zone, t))
        if endpoint == "history":
            # the last 24 hours, at most 288 points (a fine-grained fake series stays small)
            recent = self.settled(zone, now - 86400, now)[-288:]
            return 200, {"zone": zone, "history": [record(t, g) for t, g in recent]}
        if endpoint == "past-range":
            start, end = parse(q["start"]), parse(q["end"])
            return 200, {"zone": zone, "data": [record(t, g) for t, g in self.settled(zone, start, end)]}
        if endpoint == "forecast":
            t0 = self.start_of(now)
            return 200, {"zone": zone, "forecast": [{"carbonIntensity": g, "datetime": iso(t)}
                                                    for t, g in self.points(zone, t0, t0 + 72 * 3600,
                                                                            forecast=True)[:288]],
                         "updatedAt": iso(now)}
        return 404, {"error": "unknown endpoint"}

    # GB Carbon Intensity API
    def _ukgrid(self, path: str) -> tuple[int, Any]:
        pieces = [unquote(p) for p in path.strip("/").split("/")]
        now = self.clock()
        regional = pieces[0] == "regional"
        region = pieces[-1] if regional else None
        zone = f"GB-{region}" if region else "GB"

        def record(t: float, g: float, actual: bool) -> dict[str, Any]:
            intensity: dict[str, Any] = {"forecast": g, "index": "moderate"}
            if not regional:
                intensity["actual"] = g if actual else None
            return {"from": iso(t, "%Y-%m-%dT%H:%MZ"), "to": iso(t + self.granularity, "%Y-%m-%dT%H:%MZ"),
                    "intensity": intensity}

        if pieces == ["intensity"] or (regional and pieces[1] == "regionid"):
            t = self.start_of(now)
            rows = [record(t, self.value(zone, t), True)]
        else:
            span = pieces[1:3] if not regional else pieces[2:4]
            start = parse(span[0])
            if span[1] == "fw48h":  # 96 half-hours (a finer fake series gives as many of its own intervals)
                rows = [record(t, g, False)
                        for t, g in self.points(zone, start, start + 48 * 3600, forecast=True)[:96]]
            else:
                end = parse(span[1])
                rows = [record(t, g, t + self.granularity <= now) for t, g in self.points(zone, start, end)
                        if t < now]
        if not regional:
            return 200, {"data": rows}
        body = {"regionid": int(region or 0), "shortname": "Somewhere", "data": rows}
        return 200, {"data": [body] if pieces[1] == "regionid" else body}

    # Energi Data Service
    def _energi(self, dataset: str, q: dict[str, str]) -> tuple[int, Any]:
        area = json.loads(q.get("filter") or "{}").get("PriceArea", ["DK1"])[0]
        zone = f"DK-{area}"
        now = self.clock()
        if "start" in q:
            if q.get("timezone") != "UTC":
                return 400, {"error": "this fake wants timezone=UTC"}
            start, end = parse(q["start"]), parse(q["end"])
        else:
            start, end = now - 3600, now
        if dataset == "CO2Emis":
            pairs = [(t, g) for t, g in self.points(zone, start, min(end, now), step=300.0) if t <= now]
        elif dataset == "CO2EmisProg":
            pairs = self.points(zone, start, end, forecast=True, step=300.0)
        else:
            return 404, {"error": "unknown dataset"}
        if q.get("sort", "").endswith("DESC"):
            pairs = sorted(pairs, reverse=True)
        limit = int(q.get("limit") or 100)
        if limit:
            pairs = pairs[:limit]
        records = [{"Minutes5UTC": iso(t, "%Y-%m-%dT%H:%M:%S"), "Minutes5DK": iso(t + 3600, "%Y-%m-%dT%H:%M:%S"),
                    "PriceArea": area, "CO2Emission": g} for t, g in pairs]
        return 200, {"total": len(records), "limit": limit, "dataset": dataset, "records": records}

    # WattTime v3
    def _watttime(self, path: str, q: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        if path == "/login":
            expected = "Basic " + base64.b64encode(f"{self.watttime_user}:{self.watttime_password}".encode()).decode()
            if headers.get("authorization") != expected:
                return 401, {"error": "bad credentials"}
            return 200, {"token": "wt-bearer-token"}
        if headers.get("authorization") != "Bearer wt-bearer-token":
            return 401, {"error": "token"}
        if path == "/v3/region-from-loc":
            return 200, {"region": "CAISO_NORTH", "region_full_name": "California ISO North", "signal_type": "co2_moer"}
        zone = q["region"]
        now = self.clock()
        meta = {"region": zone, "signal_type": q.get("signal_type"), "units": "lbs_co2_per_mwh",
                "data_point_period_seconds": int(self.granularity), "generated_at": iso(now)}

        def data(pairs: list[tuple[float, float]]) -> list[dict[str, Any]]:
            return [{"point_time": iso(t, "%Y-%m-%dT%H:%M:%S+00:00"), "value": g * LBS_PER_G} for t, g in pairs]

        if path == "/v3/forecast":
            hours = float(q.get("horizon_hours", "24"))
            t0 = self.start_of(now)
            pairs = self.points(zone, t0, t0 + max(hours * 3600, 1), forecast=hours > 0)
            if hours == 0:
                pairs = [(t0, self.value(zone, t0))]
            return 200, {"data": data(pairs), "meta": meta}
        if path == "/v3/historical":
            return 200, {"data": data(self.settled(zone, parse(q["start"]), parse(q["end"]))), "meta": meta}
        return 404, {"error": "unknown endpoint"}
