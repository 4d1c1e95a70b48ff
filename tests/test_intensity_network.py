"""Electricity Maps (through the resolver) and location detection, against local HTTP servers on 127.0.0.1.

The servers answer what the real services document (Electricity Maps v3 `carbon-intensity/latest`, get.geojs.io,
ipinfo.io, GCP/AWS/Azure instance metadata); the code under test makes real HTTP requests to them.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest

from codecarbon.intensity import Intensity, IntensityResolver, Location, detect_online_location, geolocation
from codecarbon.intensity.feed import forget_shared_feeds
from codecarbon.intensity.providers.base import iso_utc
from tests.fakes.servers import loopback_url, serve_on_loopback, stop_serving

# ---------------------------------------------------------------- local servers


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict


@dataclass
class Answer:
    status: int = 200
    body: object = None  # dict/list → JSON; str → text
    headers: dict = field(default_factory=dict)


class LocalServer:
    """A threaded HTTP server whose answer to each (method, path) is set by the test; records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[[Seen], Answer] | Answer] = {}
        self.seen: list[Seen] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen = Seen(self.command, parts.path, parse_qs(parts.query), headers)
                owner.seen.append(seen)
                route = owner.routes.get((self.command, parts.path), Answer(404, {"error": "not found"}))
                answer = route(seen) if callable(route) else route
                body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
                data = body.encode()
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = _serve

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        self.httpd = serve_on_loopback(Handler, poll_s=0.05)
        self.base = loopback_url(self.httpd)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def close(self) -> None:
        stop_serving(self.httpd)


class SilentServer:
    """Accepts TCP connections (through the listen backlog) and never answers: a hung service."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.sock.close()


def closed_port_base() -> str:
    """A loopback address where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def server():
    srv = LocalServer()
    yield srv
    srv.close()


@pytest.fixture
def silent():
    srv = SilentServer()
    yield srv
    srv.close()


class FakeClock:
    """Wall-clock seconds (UTC), settable: the feed's intervals are hours of UTC time."""

    def __init__(self) -> None:
        self.now = 1_714_557_600.0 + 600  # 2024-05-01T10:10:00Z, inside the answers' 10:00 hour

    def __call__(self) -> float:
        return self.now


FRANCE = Location("FRA", "France", None, None, None, "N", country_2letter_iso_code="FR")
STATIC_FRANCE = Intensity(56.039, "owid-energy", 2023)
EM_PATH = "/v3/carbon-intensity/latest"


def em_answer(value: float, stamp: str = "2024-05-01T10:00:00.000Z") -> Answer:
    return Answer(200, {"zone": "FR", "carbonIntensity": value, "datetime": stamp,
                        "updatedAt": "2024-05-01T09:51:58.000Z", "isEstimated": False})


@pytest.fixture(autouse=True)
def no_shared_feeds():
    """Each test starts with an empty process cache (the feeds are shared per process on purpose)."""
    forget_shared_feeds()
    yield
    forget_shared_feeds()


def resolver_for(server_base: str, clock: FakeClock, location: Location = FRANCE, **kwargs) -> IntensityResolver:
    return IntensityResolver(location, electricitymaps_api_token="secret-token",
                             electricitymaps_url=server_base + EM_PATH, clock=clock, **kwargs)


# ---------------------------------------------------------------- Electricity Maps


def test_live_figure_is_fetched_in_background_then_served(server):
    answer_now = threading.Event()  # the provider answers only once the first figure has been served
    server.routes[("GET", EM_PATH)] = lambda seen: em_answer(123.0) if answer_now.wait(10) else Answer(504)
    clock = FakeClock()
    resolver = resolver_for(server.base, clock)
    assert resolver.current() == STATIC_FRANCE  # nothing cached yet: the bundled figure, refresh started
    answer_now.set()
    resolver.live.wait(10)
    assert resolver.current() == Intensity(123.0, "electricitymaps", 2024)
    (request,) = server.seen
    assert request.headers["auth-token"] == "secret-token"
    assert request.query == {"zone": ["FR"]}


def test_the_old_latest_url_setting_and_the_base_url_both_work(server):
    server.routes[("GET", EM_PATH)] = em_answer(77.0)
    for url in (server.base + EM_PATH, server.base + "/v3", server.base + "/v3/"):
        forget_shared_feeds()
        resolver = IntensityResolver(FRANCE, electricitymaps_api_token="secret-token", electricitymaps_url=url,
                                     clock=FakeClock())
        resolver.current()
        resolver.live.wait(10)
        assert resolver.current().g_co2e_per_kwh == 77.0, url
    assert server.paths() == [EM_PATH] * 3


def test_coordinates_are_asked_about_once_then_the_zone_they_name(server):
    server.routes[("GET", EM_PATH)] = em_answer(80.0)
    location = Location("FRA", "France", None, None, None, "N", latitude=48.85, longitude=2.35,
                        country_2letter_iso_code="FR")
    resolver = resolver_for(server.base, FakeClock(), location)
    resolver.current()
    resolver.live.wait(10)
    assert [s.query for s in server.seen] == [{"lat": ["48.85"], "lon": ["2.35"]}, {"zone": ["FR"]}]
    assert resolver.current().g_co2e_per_kwh == 80.0


def test_one_request_per_interval_for_every_resolver_of_the_process(server):
    server.routes[("GET", EM_PATH)] = em_answer(100.0)
    clock = FakeClock()
    resolvers = [resolver_for(server.base, clock) for _ in range(8)]
    assert len({id(r.live) for r in resolvers}) == 1  # one shared feed
    for _ in range(3):
        for resolver in resolvers:
            resolver.current()
        resolvers[0].live.wait(10)
    clock.now += 45 * 60  # 10:55: the same hour, still known
    assert all(r.current().g_co2e_per_kwh == 100.0 for r in resolvers)
    assert len(server.seen) == 1
    server.routes[("GET", EM_PATH)] = em_answer(200.0, "2024-05-01T11:00:00.000Z")
    clock.now += 10 * 60  # 11:05: a new interval; the 10:00 figure stands in while the new one is asked for
    assert resolvers[3].current().g_co2e_per_kwh == 100.0
    resolvers[0].live.wait(10)
    assert all(r.current().g_co2e_per_kwh == 200.0 for r in resolvers)
    assert len(server.seen) == 2


def test_failures_back_off_from_30_s_doubling_to_one_hour(server, codecarbon_log):
    server.routes[("GET", EM_PATH)] = Answer(500, {"error": "boom"})
    clock = FakeClock()
    resolver = resolver_for(server.base, clock)
    feed = resolver.live
    delays = []
    for _ in range(9):
        assert resolver.current() == STATIC_FRANCE
        feed.wait(10)
        delays.append(feed.next_attempt_at - clock.now)
        clock.now += 1
        resolver.current()  # inside the back-off: no new request
        clock.now = feed.next_attempt_at
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert len(server.seen) == 9
    assert "HTTP 500" in feed.last_error
    warnings = [r for r in codecarbon_log.records
                if r.levelno == logging.WARNING and "electricitymaps" in r.getMessage()]
    assert len(warnings) == 1  # one warning per failure streak, the rest at debug level
    hour = clock.now - clock.now % 3600  # the back-off is over: the figure of the hour it is now
    server.routes[("GET", EM_PATH)] = em_answer(42.0, iso_utc(hour))
    resolver.current()
    feed.wait(10)
    assert resolver.current().g_co2e_per_kwh == 42.0 and feed.failures == 0


def test_rejected_token_is_named_once_and_never_shown(server, codecarbon_log):
    server.routes[("GET", EM_PATH)] = Answer(401, {"message": "invalid token"})
    resolver = resolver_for(server.base, FakeClock())
    resolver.current()
    resolver.live.wait(10)
    assert "electricitymaps_api_token" in resolver.live.last_error and resolver.live.disabled
    assert resolver.current() == STATIC_FRANCE
    resolver.live.wait(10)
    assert len(server.seen) == 1  # refused: not asked again in this process
    text = "\n".join(r.getMessage() for r in codecarbon_log.records) + str(resolver.live.last_error)
    assert "electricitymaps_api_token" in text and "secret-token" not in text


@pytest.mark.parametrize("body", [{"carbonIntensity": None}, {"carbonIntensity": -5}, "not json", [1, 2]])
def test_unusable_answers_count_as_failures(server, body):
    server.routes[("GET", EM_PATH)] = Answer(200, body)
    resolver = resolver_for(server.base, FakeClock())
    resolver.current()
    resolver.live.wait(10)
    assert resolver.live.failures == 1
    assert resolver.current() == STATIC_FRANCE


def test_hung_server_never_blocks_current_and_times_out(silent):
    clock = FakeClock()
    resolver = resolver_for(silent.base, clock, timeout_s=0.5)
    assert resolver.current() == STATIC_FRANCE  # came back at once, the request waiting on its thread
    feed = resolver.live
    assert feed.failures == 0 and feed.requests == 1
    assert resolver.current() == STATIC_FRANCE
    feed.wait(10)
    assert feed.failures == 1 and "timed out" in feed.last_error.lower()
    assert feed.requests == 1  # the one in flight was never doubled


def test_no_live_feed_on_known_cloud_region_or_without_token(server):
    gcp = Location("FRA", "France", None, "gcp", "europe-west9", "Y", country_2letter_iso_code="FR")
    assert resolver_for(server.base, FakeClock(), gcp).live is None
    assert IntensityResolver(FRANCE, electricitymaps_api_token="  ").live is None
    nowhere = Location(None, None, None, None, None, "N")
    assert resolver_for(server.base, FakeClock(), nowhere).live is None


# ---------------------------------------------------------------- no network when offline

_connects: list = []
_recording = threading.Event()


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect" and _recording.is_set():
        _connects.append(args[1])


sys.addaudithook(_audit)


def test_offline_resolver_opens_no_socket_even_with_a_token(server):
    server.routes[("GET", EM_PATH)] = em_answer(123.0)
    _connects.clear()
    _recording.set()
    try:
        offline = resolver_for(server.base, FakeClock(), allow_network=False)
        for _ in range(5):
            assert offline.current() == STATIC_FRANCE
        assert offline.live is None
        assert _connects == []
        # Control: the same hook does see the connection an online resolver makes.
        online = resolver_for(server.base, FakeClock())
        online.current()
        online.live.wait(10)
    finally:
        _recording.clear()
    assert server.seen and len(server.seen) == 1
    assert any(address[0] == "127.0.0.1" for address in _connects)


# ---------------------------------------------------------------- detect_online_location


@pytest.fixture
def endpoints(server, monkeypatch):
    """Point geolocation and instance metadata at the local server; unrouted paths answer 404."""
    monkeypatch.setattr(geolocation, "GEOJS_URL", server.base + "/geojs/v1/ip/geo.json")
    monkeypatch.setattr(geolocation, "IPINFO_URL", server.base + "/ipinfo/json")
    monkeypatch.setattr(geolocation, "METADATA_BASE", server.base)
    return server


GEOJS_PARIS = {"country_code3": "FRA", "country": "France", "region": "Île-de-France", "latitude": "48.8582",
               "longitude": "2.3387", "country_code": "FR", "city": "Paris", "ip": "192.0.2.1"}


def test_geojs_and_gcp_metadata(endpoints):
    endpoints.routes[("GET", "/geojs/v1/ip/geo.json")] = Answer(200, GEOJS_PARIS)
    endpoints.routes[("GET", "/computeMetadata/v1/instance/zone")] = Answer(
        200, "projects/123456/zones/europe-west1-b", {"Metadata-Flavor": "Google", "Content-Type": "text/plain"})
    location = detect_online_location(timeout_s=5)
    # The cloud region decides the intensity, so the location columns are the region's (Belgium), not the IP's;
    # the IP's coordinates are in another country and are dropped.
    assert location == Location("BEL", "Belgium", "St. Ghislain", "gcp", "europe-west1", "Y",
                                latitude=None, longitude=None, country_2letter_iso_code="BE")
    assert IntensityResolver(location).current() == Intensity(103.37, "gcp-region-carbon", 2024)
    gcp_request = next(s for s in endpoints.seen if s.path.startswith("/computeMetadata"))
    assert gcp_request.headers["metadata-flavor"] == "Google"
    assert "/ipinfo/json" not in endpoints.paths()  # the fallback is not asked when geojs answers


def test_ipinfo_is_the_fallback_and_us_state_applies(endpoints):
    endpoints.routes[("GET", "/geojs/v1/ip/geo.json")] = Answer(503, {"error": "down"})
    endpoints.routes[("GET", "/ipinfo/json")] = Answer(200, {"ip": "192.0.2.2", "city": "Mountain View",
                                                             "region": "California", "country": "US",
                                                             "loc": "37.4056,-122.0775"})
    location = detect_online_location(timeout_s=5)
    assert (location.country_iso_code, location.country_name, location.region) == ("USA", "United States", "california")
    assert (location.latitude, location.longitude, location.on_cloud) == (37.4056, -122.0775, "N")
    assert IntensityResolver(location).current() == Intensity(179.064, "egrid-2023", 2023)


def test_gcp_address_answered_by_something_else_is_not_gcp(endpoints):
    endpoints.routes[("GET", "/geojs/v1/ip/geo.json")] = Answer(200, GEOJS_PARIS)
    endpoints.routes[("GET", "/computeMetadata/v1/instance/zone")] = Answer(200, "projects/1/zones/europe-west1-b")
    assert detect_online_location(timeout_s=5).cloud_provider is None


def test_aws_imdsv2_region_is_kept(endpoints):
    endpoints.routes[("GET", "/geojs/v1/ip/geo.json")] = Answer(200, dict(GEOJS_PARIS, country_code3="USA",
                                                                          country="United States", region="Virginia",
                                                                          country_code="US"))
    endpoints.routes[("PUT", "/latest/api/token")] = Answer(200, "AQAEAtoken==")
    endpoints.routes[("GET", "/latest/dynamic/instance-identity/document")] = lambda seen: (
        Answer(200, {"region": "us-east-1", "availabilityZone": "us-east-1a"})
        if seen.headers.get("x-aws-ec2-metadata-token") == "AQAEAtoken==" else Answer(401, {}))
    location = detect_online_location(timeout_s=5)
    assert (location.cloud_provider, location.cloud_region, location.on_cloud) == ("aws", "us-east-1", "Y")
    # The cloud table has no AWS figure: the grid of the state applies.
    assert IntensityResolver(location).current().source == "egrid-2023"
    assert (location.country_iso_code, location.region) == ("USA", "virginia")  # no AWS figure: the IP's place


def test_azure_location(endpoints):
    endpoints.routes[("GET", "/geojs/v1/ip/geo.json")] = Answer(200, GEOJS_PARIS)
    endpoints.routes[("GET", "/metadata/instance/compute")] = lambda seen: (
        Answer(200, {"location": "westeurope", "vmSize": "Standard_D2s_v3"})
        if seen.headers.get("metadata") == "true" else Answer(400, {}))
    location = detect_online_location(timeout_s=5)
    assert (location.cloud_provider, location.cloud_region, location.on_cloud) == ("azure", "westeurope", "Y")
    assert IntensityResolver(location).current() == STATIC_FRANCE


def test_gcp_without_geolocation_takes_country_from_the_cloud_table(endpoints):
    endpoints.routes[("GET", "/computeMetadata/v1/instance/zone")] = Answer(
        200, "projects/1/zones/us-west1-a", {"Metadata-Flavor": "Google"})
    location = detect_online_location(timeout_s=5)
    assert (location.country_iso_code, location.cloud_region, location.latitude) == ("USA", "us-west1", None)
    assert (location.country_name, location.region, location.country_2letter_iso_code) == ("USA", "Oregon", "US")


def test_gcp_with_geolocation_in_the_same_country_keeps_the_coordinates(endpoints):
    endpoints.routes[("GET", "/geojs/v1/ip/geo.json")] = Answer(200, GEOJS_PARIS)
    endpoints.routes[("GET", "/computeMetadata/v1/instance/zone")] = Answer(
        200, "projects/1/zones/europe-west9-a", {"Metadata-Flavor": "Google"})
    location = detect_online_location(timeout_s=5)
    assert location == Location("FRA", "France", "Paris", "gcp", "europe-west9", "Y",
                                latitude=48.8582, longitude=2.3387, country_2letter_iso_code="FR")


def test_everything_refused_means_unknown_country_and_world_average(monkeypatch, codecarbon_log):
    base = closed_port_base()
    monkeypatch.setattr(geolocation, "GEOJS_URL", base + "/geo.json")
    monkeypatch.setattr(geolocation, "IPINFO_URL", base + "/json")
    monkeypatch.setattr(geolocation, "METADATA_BASE", base)
    location = detect_online_location(timeout_s=5)
    assert location == Location(None, None, None, None, None, "N")
    assert IntensityResolver(location).current() == Intensity(475.0, "world-average", 2019)
    assert any(r.levelno == logging.WARNING and "world average" in r.getMessage() for r in codecarbon_log.records)


def test_everything_hung_is_bounded_by_the_timeout(silent, monkeypatch):
    monkeypatch.setattr(geolocation, "GEOJS_URL", silent.base + "/geo.json")
    monkeypatch.setattr(geolocation, "IPINFO_URL", silent.base + "/json")
    monkeypatch.setattr(geolocation, "METADATA_BASE", silent.base)
    # No answer ever comes: the call still returns (pytest-timeout would fail a hang), with nothing known.
    location = detect_online_location(timeout_s=0.5)
    assert location.country_iso_code is None and location.on_cloud == "N"


def test_garbage_answers_never_raise(endpoints):
    endpoints.routes[("GET", "/geojs/v1/ip/geo.json")] = Answer(200, "<html>captive portal</html>")
    endpoints.routes[("GET", "/ipinfo/json")] = Answer(200, ["not", "an", "object"])
    endpoints.routes[("GET", "/computeMetadata/v1/instance/zone")] = Answer(200, "", {"Metadata-Flavor": "Google"})
    location = detect_online_location(timeout_s=5)
    assert location.country_iso_code is None and location.cloud_provider is None


def test_online_trackers_share_one_geolocation_per_process(endpoints):
    """Issue 16: one lookup per process, not per tracker; its answer reaches every tracker's row."""
    from codecarbon import EmissionsTracker

    endpoints.routes[("GET", "/geojs/v1/ip/geo.json")] = Answer(200, GEOJS_PARIS)
    located = []
    for _ in range(3):
        tracker = EmissionsTracker(measure_power_secs=3600, force_cpu_power=10.0, force_ram_power=1.0,
                                   output_methods=[], log_level="error")
        tracker.start()
        located.append(tracker.stop() is not None and tracker.final_emissions_data.country_iso_code)
    assert located == ["FRA", "FRA", "FRA"]
    asked = [seen for seen in endpoints.seen if seen.path.startswith("/geojs")]
    assert len(asked) == 1
    assert geolocation.locate_once(timeout_s=5).country_iso_code == "FRA"  # cached: no new request
    assert len([seen for seen in endpoints.seen if seen.path.startswith("/geojs")]) == 1


def test_an_online_run_with_network_outputs_starts_three_threads(endpoints, tmp_path):
    """Issue 16: warm-up (detection, then the location), sampler, delivery; none left once it is over."""
    import os
    import subprocess
    from pathlib import Path

    endpoints.routes[("GET", "/geojs/v1/ip/geo.json")] = Answer(200, GEOJS_PARIS)
    script = (
        "import json, sys, threading\n"
        "started = []\n"
        "_start = threading.Thread.start\n"
        "def counting(self, *a, **k):\n"
        "    started.append(self.name)\n"
        "    return _start(self, *a, **k)\n"
        "threading.Thread.start = counting\n"
        "from codecarbon.intensity import geolocation\n"
        "geolocation.GEOJS_URL, geolocation.IPINFO_URL, geolocation.METADATA_BASE = sys.argv[1:4]\n"
        "from codecarbon import EmissionsTracker\n"
        "t = EmissionsTracker(measure_power_secs=1, log_level='error', output_methods=['csv', 'api'],\n"
        "                     api_endpoint=sys.argv[4], emissions_endpoint=sys.argv[4], delivery_timeout_secs=0.5)\n"
        "t.start(); t.stop()\n"
        "for thread in threading.enumerate():\n"
        "    if thread is not threading.main_thread():\n"
        "        thread.join(timeout=30)\n"
        "print(json.dumps({'started': started, 'country': t.final_emissions_data.country_iso_code,\n"
        "                  'alive': [x.name for x in threading.enumerate() if x is not threading.main_thread()]}))\n"
    )
    closed = closed_port_base()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    done = subprocess.run([sys.executable, "-c", script, geolocation.GEOJS_URL, geolocation.IPINFO_URL,
                           geolocation.METADATA_BASE, closed], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["country"] == "FRA"
    assert sorted(result["started"]) == ["codecarbon-delivery", "codecarbon-sampler", "codecarbon-warmup"]
    assert result["alive"] == []
