"""Carbon over time (issue 14): each provider's documented API served on 127.0.0.1, an injectable clock that runs
72 hours of intervals in milliseconds, the shared cache, failures (401, 429 + Retry-After, 5xx, a hang, a 10 MB
body, malformed JSON), and a real-time run whose row equals the integral the test computes."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codecarbon.intensity import providers
from codecarbon.intensity.charger import Charger
from codecarbon.intensity.feed import Feed, forget_shared_feeds, shared_feed
from codecarbon.intensity.types import Intensity
from tests.fakes.grid import GridServer

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
STATIC = Intensity(400.0, "owid-energy", 2023)
SECRETS = ("em-secret-token", "wt-secret-password")


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def trace(zone: str, t: float) -> float:
    """A grid that swings through the day (and differs by zone), in g/kWh."""
    hour = (t - T0) / 3600.0
    return round(150.0 + 120.0 * abs(((hour % 24) - 12) / 12.0) + 7.0 * ((t // 300) % 5) + len(zone), 3)


def settings_for(server: GridServer, **extra: object) -> dict[str, object]:
    return {"electricitymaps_api_url": server.base + "/v3", "uk_grid_api_url": server.base,
            "energidataservice_api_url": server.base, "watttime_api_url": server.base,
            "electricitymaps_api_token": server.token, "watttime_username": server.watttime_user,
            "watttime_password": server.watttime_password, **extra}


CASES = [("electricitymaps", "DE"), ("uk-grid", "GB"), ("uk-grid", "GB-13"), ("energidataservice", "DK-DK1"),
         ("watttime", "CAISO_NORTH")]


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def server(clock: Clock):
    grid = GridServer(value=trace, granularity=300.0, clock=clock).start()
    forget_shared_feeds()
    yield grid
    grid.close()
    forget_shared_feeds()


def feed_for(server: GridServer, clock: Clock, name: str, zone: str, **extra: object) -> Feed:
    provider = providers.make(name, settings_for(server, **extra), clock=clock)
    if name == "electricitymaps":  # hourly by default; 5-minute data is a plan option (temporalGranularity)
        provider.granularity_s = server.granularity
    return Feed(provider, zone=zone, clock=clock)


def exact_kg(zone: str, slices: list[tuple[float, float, float]], granularity: float = 300.0) -> float:
    """∫ power × intensity dt, computed here interval by interval (power constant within each slice)."""
    total = 0.0
    for start, end, kwh in slices:
        t = start
        while t < end:
            edge = min(end, (t // granularity + 1) * granularity)
            total += kwh * (edge - t) / (end - start) * trace(zone, t - t % granularity) / 1000.0
            t = edge
    return total


# ------------------------------------------------------------------------------------------------ providers
@pytest.mark.parametrize(("name", "zone"), CASES)
def test_each_window_is_charged_interval_by_interval_then_settled(server, clock, name, zone) -> None:
    feed = feed_for(server, clock, name, zone)
    charger = Charger(STATIC, feed)
    slices = []
    t = T0 + 7.0
    for index in range(48):  # 2 h of 150 s slices, every other one straddling a 5-minute boundary
        end = t + 150.0
        kwh = 0.001 * (1 + index % 3)
        clock.t = end
        charger.charge(t, end, kwh)
        feed.wait(30)  # a bound, not a timing (a loaded machine compiles imports first)
        slices.append((t, end, kwh))
        t = end
    during = charger.account()
    assert "latest" in during.label or "forecast" in during.label  # provisional while running
    assert during.kg == pytest.approx(exact_kg(zone, slices), rel=1e-9)  # latest equals the settled trace here
    clock.t = t + 300  # GB publishes a half-hour's actual once it is over
    assert charger.settle(30.0) is True
    settled = charger.account()
    assert settled.settled and settled.kg == pytest.approx(exact_kg(zone, slices), rel=1e-9)
    assert settled.label.startswith(f"{name} {zone} (") and settled.label.endswith("history 100%")
    basis = "marginal" if name == "watttime" else "average"
    assert f"({basis}, " in settled.label
    # one request per interval (24 intervals of 5 minutes, the first one straddled twice), one for the history
    data = [s for s in server.seen if s.path != "/login"]
    assert len(data) == 25 + 1


@pytest.mark.parametrize(("name", "zone"), CASES)
def test_seventy_two_hours_settle_from_history_in_one_request(server, clock, name, zone) -> None:
    server.mode = 500  # the provider is down the whole run: back-off, static figures meanwhile
    feed = feed_for(server, clock, name, zone)
    charger = Charger(STATIC, feed)
    slices = []
    t = T0
    while t < T0 + 72 * 3600:
        end = t + 60.0
        kwh = 0.0005 + 0.0004 * ((t // 3600) % 4)
        clock.t = end
        charger.charge(t, end, kwh)
        slices.append((t, end, kwh))
        t = end
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    down = len(server.seen)
    assert down < 90  # 30 s doubling to 1 h: about one try an hour (79), not one a minute (4320)
    provisional = charger.account()
    assert provisional.label.startswith("static owid-energy 2023 100%")
    server.mode = None
    clock.t = t + 1
    requests_before = len(server.seen)
    assert charger.settle(30.0) is True
    settled = charger.account()
    assert settled.kg == pytest.approx(exact_kg(zone, slices), rel=1e-9)
    assert settled.label.endswith("history 100%")
    assert len([s for s in server.seen[requests_before:] if s.path != "/login"]) == 1


def test_eight_trackers_share_one_request_per_interval(server, clock) -> None:
    settings = settings_for(server)
    chargers = []
    for _ in range(8):
        provider = providers.make("electricitymaps", settings, clock=clock)
        provider.granularity_s = 300.0
        feed = shared_feed(provider, zone="DE", latitude=None, longitude=None, secret=server.token, clock=clock)
        chargers.append(Charger(STATIC, feed))
    assert len({id(c.feed) for c in chargers}) == 1
    for step in range(12):  # one hour of 5-minute intervals, every tracker charging every 25 s
        for tick in range(12):
            start = T0 + step * 300 + tick * 25
            clock.t = start + 25
            for charger in chargers:
                charger.charge(start, start + 25, 0.001)
            chargers[0].feed.wait(30)  # a bound, not a timing
    latest = server.requests("/v3/carbon-intensity/latest")
    assert len(latest) == 12 + 1  # twelve intervals, and the one the last slice's end opens
    clock.t += 1
    for charger in chargers:
        charger.settle(30.0)
    assert len(server.requests("/v3/carbon-intensity/history")) == 1


def test_trackers_started_apart_settle_with_one_history_request(server, clock) -> None:
    """The provider has not published the current interval yet: the runs that end in it share one request for
    history however far apart they started (the part already settled is never asked about again)."""
    server.clock = lambda: clock.t - 300.0  # history lags one 5-minute interval behind the present
    feed = feed_for(server, clock, "energidataservice", "DK-DK1")
    chargers = [Charger(STATIC, feed) for _ in range(8)]
    end = T0 + 6100.0  # inside the interval [T0 + 6000, T0 + 6300) that history does not hold yet
    for index, charger in enumerate(chargers):
        t = T0 + 600.0 * index
        while t < end:
            clock.t = min(t + 50.0, end)
            charger.charge(t, clock.t, 0.0001)
            t = clock.t
        feed.wait(30)  # a bound, not a timing (a loaded machine compiles imports first)
    clock.t = end + 1.0
    before = len([s for s in server.requests("/dataset/CO2Emis") if "start" in s.query])
    for charger in chargers:
        assert charger.settle(5.0) is False  # the last minutes stay provisional: not published yet
        assert "history" in charger.account().label and "latest" in charger.account().label
    history = [s for s in server.requests("/dataset/CO2Emis") if "start" in s.query][before:]
    assert len(history) == 1, [s.query["start"] for s in history]


# ------------------------------------------------------------------------------------------------ failures
def test_rejected_token_warns_once_naming_the_setting_then_static(server, clock, codecarbon_log) -> None:
    feed = feed_for(server, clock, "electricitymaps", "DE", electricitymaps_api_token="wrong-secret-token")
    charger = Charger(STATIC, feed)
    for minute in range(30):
        clock.t = T0 + 60 * (minute + 1)
        charger.charge(T0 + 60 * minute, clock.t, 0.001)
        feed.wait(30)  # a bound, not a timing (a loaded machine compiles imports first)
    assert len(server.seen) == 1  # refused once: never asked again in this process
    warnings = [r.getMessage() for r in codecarbon_log.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "electricitymaps_api_token" in warnings[0] and "401" in warnings[0]
    assert charger.account().label == "static owid-energy 2023 100%"
    assert charger.settle(1.0) is False
    text = "\n".join(r.getMessage() for r in codecarbon_log.records)
    assert "wrong-secret-token" not in text


def test_watttime_bad_password_names_both_settings_and_never_shows_it(server, clock, codecarbon_log) -> None:
    feed = feed_for(server, clock, "watttime", "CAISO_NORTH", watttime_password="not-the-wt-password")
    Charger(STATIC, feed).charge(T0, T0 + 10, 0.01)
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    text = "\n".join(r.getMessage() for r in codecarbon_log.records)
    assert "watttime_username / watttime_password" in text and "not-the-wt-password" not in text
    assert feed.disabled and "not-the-wt-password" not in str(feed.last_error)


def test_watttime_token_is_renewed_when_it_expires(server, clock) -> None:
    feed = feed_for(server, clock, "watttime", "CAISO_NORTH")
    charger = Charger(STATIC, feed)
    charger.charge(T0, T0 + 10, 0.01)
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    feed.provider._token = "expired-token"  # the server no longer accepts it: one 401, one login, one retry
    clock.t = T0 + 400
    charger.charge(T0 + 10, T0 + 400, 0.01)
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    paths = [s.path for s in server.seen]
    assert paths == ["/login", "/v3/forecast", "/v3/forecast", "/login", "/v3/forecast"]
    assert charger.account().label.endswith("latest 100%")


def test_429_waits_what_retry_after_says(server, clock) -> None:
    server.mode, server.retry_after = 429, "120"
    feed = feed_for(server, clock, "uk-grid", "GB")
    feed.want_latest()
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    assert len(server.seen) == 1
    server.mode = None
    for seconds in (30, 60, 119):
        clock.t = T0 + seconds
        feed.want_latest()
        assert feed.settle(T0, clock.t, 1.0) is False  # a settlement honours it too
    assert len(server.seen) == 1
    clock.t = T0 + 121
    feed.want_latest()
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    assert len(server.seen) == 2 and feed.best(clock.t) is not None


@pytest.mark.parametrize("mode", [500, 503, "malformed", "huge"])
def test_bad_answers_fall_back_to_static_and_back_off(server, clock, mode, codecarbon_log) -> None:
    server.mode = mode
    feed = feed_for(server, clock, "energidataservice", "DK-DK2")
    charger = Charger(STATIC, feed)
    for minute in range(10):
        clock.t = T0 + 60 * (minute + 1)
        charger.charge(T0 + 60 * minute, clock.t, 0.001)
        feed.wait(30)  # a bound, not a timing (a loaded machine compiles imports first)
    assert len(server.seen) == 5  # minutes 1, 2, 3, 5 and 9: 30 s doubling, not one try a minute
    account = charger.account()
    assert account.label == "static owid-energy 2023 100%" and account.kg == pytest.approx(0.01 * 400 / 1000)
    assert feed.failures == 5
    warnings = [r for r in codecarbon_log.records if r.levelname == "WARNING"]
    assert len(warnings) == 1  # once per failure streak


def test_marginal_and_average_are_never_summed_together(server, clock) -> None:
    feed = feed_for(server, clock, "watttime", "CAISO_NORTH")
    charger = Charger(STATIC, feed)
    charger.charge(T0, T0 + 300, 0.01)  # answered: marginal
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    server.mode = 500
    clock.t = T0 + 5 * 3600
    charger.charge(T0 + 4 * 3600, T0 + 5 * 3600, 0.01)  # hours later, nothing known within reach
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    account = charger.account()
    assert account.kg == pytest.approx(0.02 * 400 / 1000)  # all at the static average, none at MOER
    assert account.label.startswith("static owid-energy 2023 100% (average used: watttime marginal")


def test_hung_provider_leaves_the_run_provisional_within_the_bound(server, clock) -> None:
    feed = feed_for(server, clock, "electricitymaps", "DE")
    charger = Charger(STATIC, feed)
    charger.charge(T0, T0 + 60, 0.01)
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    server.mode = "hang"
    clock.t = T0 + 120
    assert charger.settle(0.3) is False
    account = charger.account()
    assert account.label.endswith("latest 100%; provisional (no history within the stop bound)")


# ------------------------------------------------------------------------------------------------ choice
@pytest.mark.parametrize(("given", "country", "zone", "expected"), [
    ({}, "DEU", None, "static"),
    ({"electricitymaps_api_token": "x"}, "DEU", None, "electricitymaps"),
    ({}, "GBR", None, "uk-grid"),
    ({}, None, "GB-13", "uk-grid"),
    ({}, "DNK", None, "energidataservice"),
    ({}, None, "DK-DK2", "energidataservice"),
    ({"carbon_intensity_provider": "static", "electricitymaps_api_token": "x"}, "GBR", None, "static"),
    ({"carbon_intensity_provider": "watttime"}, None, "CAISO_NORTH", "watttime"),
])
def test_auto_picks_the_provider_that_covers_the_place(given, country, zone, expected) -> None:
    assert providers.choose(given, country_iso_code=country, grid_zone=zone).provider == expected


def test_the_3x_token_name_selects_electricity_maps_and_is_sent(server, clock) -> None:
    from codecarbon.core.config import load_settings

    with pytest.warns(DeprecationWarning, match="co2_signal_api_token"):
        settings = load_settings({"co2_signal_api_token": server.token,
                                  "electricitymaps_api_url": server.base + "/v3", "grid_zone": "DE"})
    choice = providers.choose(settings, grid_zone="DE")
    assert (choice.provider, choice.zone) == ("electricitymaps", "DE")
    feed = Feed(providers.make(choice.provider, settings, clock=clock), zone="DE", clock=clock)
    feed.want_latest()
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    assert feed.best(clock.t) is not None and feed.last_error is None  # the fake accepts only its token
    assert [s.headers["auth-token"] for s in server.requests("/v3/")] == [server.token]


def test_provider_settings_are_validated_at_the_constructor() -> None:
    from codecarbon import EmissionsTracker

    with pytest.raises(ValueError, match="carbon_intensity_provider"):
        EmissionsTracker(carbon_intensity_provider="co2signal", save_to_file=False)
    with pytest.raises(ValueError, match="uk_grid_api_url"):
        EmissionsTracker(uk_grid_api_url="ftp://mirror", save_to_file=False)


# ------------------------------------------------------------------------------------------------ trackers
def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def fake_machine_tracker(base: type, **arguments: object):
    from codecarbon.hardware import SystemSeams
    from tests.fakes.fake_pynvml import FakeNVML

    root = Path("fake-root")
    (root / "sys").mkdir(parents=True, exist_ok=True)
    (root / "proc").mkdir(parents=True, exist_ok=True)

    class FakeMachineTracker(base):  # type: ignore[misc, valid-type]
        _system_seams = SystemSeams(sysfs_root=root / "sys", nvml=FakeNVML([]), dev_root=root)

    # RAM's forced power is drawn at a constant rate; the CPU's load model (which follows this machine's load)
    # is made negligible, so the run's power is constant and the test's integral exact
    return FakeMachineTracker(force_cpu_power=0.001, force_ram_power=40.0, **arguments)


def test_real_time_run_across_intervals_equals_the_integral() -> None:
    """Intervals of 1.5 s served live; a ~5 s run; the row is the integral of power x intensity."""
    from codecarbon import EmissionsTracker

    forget_shared_feeds()
    base = 1000.0 * (time.time() // 1000)

    def live(zone: str, t: float) -> float:
        return 100.0 + 50.0 * (((t - base) / 1.5) % 4)

    grid = GridServer(value=live, granularity=1.5).start()
    try:
        tracker = fake_machine_tracker(EmissionsTracker, grid_zone="DE", electricitymaps_api_token=grid.token,
                                       electricitymaps_api_url=grid.base + "/v3", measure_power_secs=0.4,
                                       save_to_file=True)
        tracker.start()
        run = tracker._run
        began = run.start.wall
        time.sleep(5.0)
        tracker.stop()
        (row,) = rows(Path("emissions.csv"))
    finally:
        grid.close()
        forget_shared_feeds()
    duration = float(row["duration"])
    energy = float(row["energy_consumed"])
    expected = 0.0
    t = began
    end = began + duration
    while t < end:
        edge = min(end, (t // 1.5 + 1) * 1.5)
        expected += energy * (edge - t) / duration * live("DE", t - t % 1.5) / 1000.0
        t = edge
    assert float(row["emissions"]) == pytest.approx(expected, rel=2e-3)
    assert float(row["carbon_intensity"]) == pytest.approx(expected * 1000 / energy, rel=2e-3)
    assert row["intensity_source"] == "electricitymaps DE (average, lifecycle): history 100%"
    assert row["country_iso_code"] == "DEU"  # from grid_zone: no geolocation
    assert len({s.path for s in grid.seen} - {"/v3/carbon-intensity/latest", "/v3/carbon-intensity/history"}) == 0


@pytest.mark.parametrize("mode", ["hang", 500, "malformed", "huge"])
def test_stop_writes_the_row_whatever_the_provider_does(mode) -> None:
    from codecarbon import EmissionsTracker

    forget_shared_feeds()
    grid = GridServer(value=trace, granularity=300.0).start()
    grid.mode = mode
    try:
        tracker = fake_machine_tracker(EmissionsTracker, grid_zone="GB", uk_grid_api_url=grid.base,
                                       measure_power_secs=0.2)
        tracker.start()
        time.sleep(0.5)
        emissions = tracker.stop()
        (row,) = rows(Path("emissions.csv"))
    finally:
        grid.close()
        forget_shared_feeds()
    assert emissions is not None and float(row["emissions"]) == pytest.approx(emissions)
    assert row["intensity_source"].startswith("static owid-energy 2023 100%")
    assert float(row["carbon_intensity"]) == pytest.approx(237.589)
    if mode == "hang":
        assert row["intensity_source"].endswith("provisional (no history within the stop bound)")


def test_offline_tracker_asks_no_provider(tmp_path) -> None:
    from codecarbon import OfflineEmissionsTracker

    forget_shared_feeds()
    grid = GridServer(value=trace).start()
    try:
        tracker = fake_machine_tracker(OfflineEmissionsTracker, country_iso_code="GBR",
                                       carbon_intensity_provider="uk-grid", uk_grid_api_url=grid.base,
                                       measure_power_secs=0.1)
        tracker.start()
        time.sleep(0.4)
        tracker.stop()
    finally:
        grid.close()
    assert grid.seen == []
    (row,) = rows(Path("emissions.csv"))
    assert row["intensity_source"] == "owid-energy 2023"


def test_secrets_never_reach_a_row_or_a_log(codecarbon_log) -> None:
    from codecarbon import EmissionsTracker

    forget_shared_feeds()
    grid = GridServer(value=trace).start()
    try:
        tracker = fake_machine_tracker(EmissionsTracker, grid_zone="CAISO_NORTH", country_iso_code="USA",
                                       carbon_intensity_provider="watttime", watttime_api_url=grid.base,
                                       watttime_username="wt-user", watttime_password="wrong-wt-secret",
                                       measure_power_secs=0.2, log_level="debug")
        tracker.start()
        time.sleep(0.5)
        tracker.stop()
    finally:
        grid.close()
        forget_shared_feeds()
    text = Path("emissions.csv").read_text() + "\n".join(r.getMessage() for r in codecarbon_log.records)
    assert "wrong-wt-secret" not in text and "watttime_password" in text


def test_import_loads_no_provider() -> None:
    code = ("import sys, codecarbon; from codecarbon import EmissionsTracker; "
            "print(sorted(m for m in sys.modules if 'providers' in m or m.endswith(('carbon_aware', 'charger', "
            "'intensity.feed', 'intensity.live'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_prices_reused_between_rows_equal_a_fresh_pricing(server, clock) -> None:
    feed = feed_for(server, clock, "energidataservice", "DK-DK1")
    charger = Charger(STATIC, feed)
    seen = []
    t = T0 + 3.0
    for index in range(400):  # rows priced every few slices while figures keep arriving, as checkpoints do
        clock.t = t + 20.0
        charger.charge(t, t + 20.0, 0.0002 * (1 + index % 5))
        if index % 7 == 0:
            feed.wait(30)  # a bound, not a timing (a loaded machine compiles imports first)
        if index % 3 == 0:
            seen.append(charger.account(T0, clock.t).kg)
        t += 20.0
    feed.wait(30)  # a bound, not a timing: on a loaded machine a thread may first compile its imports
    fresh = Charger(STATIC, feed)
    fresh._segments = [list(s) for s in charger._segments]
    assert charger.account(T0, t).kg == pytest.approx(fresh.account(T0, t).kg, rel=1e-12)
    assert charger.account().label == fresh.account().label
    assert seen == sorted(seen)  # the run's total only grows


def test_online_tracker_told_its_country_skips_geolocation_and_picks_the_keyless_provider() -> None:
    from codecarbon import EmissionsTracker

    forget_shared_feeds()
    grid = GridServer(value=trace, granularity=300.0).start()
    try:
        tracker = fake_machine_tracker(EmissionsTracker, country_iso_code="DNK",
                                       energidataservice_api_url=grid.base, measure_power_secs=0.2)
        assert tracker._location_future.done()  # no geolocation thread: the place was given
        tracker.start()
        time.sleep(0.5)
        tracker.stop()
        (row,) = rows(Path("emissions.csv"))
    finally:
        grid.close()
        forget_shared_feeds()
    assert row["country_iso_code"] == "DNK"
    assert row["intensity_source"].startswith("energidataservice DK-DK1 (average, direct): ")
    assert {s.path for s in grid.seen} <= {"/dataset/CO2Emis"}


def test_online_decorator_takes_country_and_region_as_the_tracker_does(monkeypatch) -> None:
    """track_emissions (online) passes country_iso_code / region on: no geolocation, the region's figure."""
    from codecarbon import EmissionsTracker, emissions_tracker, track_emissions
    from codecarbon.intensity.location import resolve_offline_location
    from codecarbon.intensity.resolver import static_intensity

    made: list[object] = []

    class Recorded(EmissionsTracker):
        def __new__(cls, **arguments: object) -> object:
            tracker = fake_machine_tracker(EmissionsTracker, **arguments)
            made.append(tracker)
            return tracker

    monkeypatch.setattr(emissions_tracker, "EmissionsTracker", Recorded)  # the machine seam; the decorator is real

    @track_emissions(country_iso_code="CAN", region="Quebec", measure_power_secs=0.2, project_name="decorated")
    def job() -> str:
        time.sleep(0.3)
        return "done"

    assert job() == "done"
    (tracker,) = made
    assert tracker._location_future.done()  # type: ignore[attr-defined]  # told its place: no geolocation
    (row,) = rows(Path("emissions.csv"))
    quebec = static_intensity(resolve_offline_location("CAN", region="quebec"))
    assert (row["country_iso_code"], row["region"]) == ("CAN", "quebec")
    assert float(row["emissions"]) == pytest.approx(float(row["energy_consumed"]) * quebec.kg_per_kwh, rel=1e-6)
    assert quebec.g_co2e_per_kwh != static_intensity(resolve_offline_location("CAN")).g_co2e_per_kwh


@pytest.mark.parametrize(("name", "first_path", "zone"), [
    ("electricitymaps", "/v3/carbon-intensity/latest", "DE"),
    ("watttime", "/v3/region-from-loc", "CAISO_NORTH"),
])
def test_coordinates_are_asked_about_once_then_the_zone_is_used(server, clock, name, first_path, zone) -> None:
    provider = providers.make(name, settings_for(server), clock=clock)
    feed = Feed(provider, zone=None, latitude=52.5, longitude=13.4, clock=clock)
    charger = Charger(STATIC, feed)
    for minute in range(3):
        clock.t = T0 + 600 * (minute + 1)
        charger.charge(T0 + 600 * minute, clock.t, 0.001)
        feed.wait(30)  # a bound, not a timing (a loaded machine compiles imports first)
    data = [s for s in server.seen if s.path != "/login"]
    assert data[0].path == first_path and data[0].query.get("lat", data[0].query.get("latitude")) == ["52.5"]
    assert feed.zone == zone
    assert all(s.query.get("zone", s.query.get("region")) == [zone] for s in data[1:])
    assert charger.account().label.startswith(f"{name} {zone} (")


def test_coordinates_are_asked_about_once_when_two_requests_start_together(server, clock) -> None:
    """The present's figure and a forecast asked at once, the zone still unknown: one question about the place."""
    server.delay = 0.3  # every answer takes a while: both requests are on their way before the zone is known
    provider = providers.make("watttime", settings_for(server), clock=clock)
    feed = Feed(provider, zone=None, latitude=52.5, longitude=13.4, clock=clock)
    feed.want_latest()
    feed.forecast(2, timeout_s=10.0)
    feed.wait(10)
    assert len(server.requests("/v3/region-from-loc")) == 1 and feed.zone == "CAISO_NORTH"
    assert len(server.requests("/v3/forecast")) == 2  # the present (horizon 0) and the coming hours


def test_denmark_price_area_follows_the_longitude() -> None:
    from codecarbon.intensity.providers.energidataservice import EnergiDataService

    provider = EnergiDataService("http://127.0.0.1:9")
    assert provider.resolve_zone(None, 55.4, 10.4, 1.0) == "DK-DK1"  # Odense, Funen
    assert provider.resolve_zone(None, 55.7, 12.6, 1.0) == "DK-DK2"  # Copenhagen
    assert provider.resolve_zone("dk2", None, None, 1.0) == "DK-DK2"
    with pytest.raises(Exception, match="DK1 or DK2"):
        provider.resolve_zone("DK3", None, None, 1.0)
