"""best_window and the forecast / wait / estimate commands, against the providers' documented APIs on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from pathlib import Path

import pytest

from codecarbon.carbon_aware import NoForecastError, best_of, best_window
from codecarbon.cli.main import main
from codecarbon.intensity.feed import forget_shared_feeds
from codecarbon.intensity.providers.base import Point
from tests.fakes.grid import GridServer

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def valley(zone: str, t: float) -> float:
    """300 g/kWh, except a clean valley of 100 from 05:00 to 08:00 (and 200 from 08:00 to 09:00)."""
    hour = ((t - T0) / 3600.0) % 24
    return 100.0 if 5 <= hour < 8 else 200.0 if 8 <= hour < 9 else 300.0


@pytest.fixture(autouse=True)
def fresh_cache():
    forget_shared_feeds()
    yield
    forget_shared_feeds()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + 60.0)


@pytest.fixture
def grid(clock: Clock):
    server = GridServer(value=valley, granularity=1800.0, clock=clock).start()
    yield server
    server.close()


@pytest.mark.parametrize("zone", ["GB", "DK-DK1", "DE", "CAISO_NORTH"])
def test_best_window_is_the_lowest_mean_of_the_forecast(grid, clock, zone) -> None:
    settings = {"uk_grid_api_url": grid.base, "energidataservice_api_url": grid.base,
                "electricitymaps_api_url": grid.base + "/v3", "watttime_api_url": grid.base}
    if zone == "DE":
        settings["electricitymaps_api_token"] = grid.token
    if zone == "CAISO_NORTH":
        settings.update(carbon_intensity_provider="watttime", watttime_username=grid.watttime_user,
                        watttime_password=grid.watttime_password)
    found = best_window(dt.timedelta(hours=2), 12 * 3600, grid_zone=zone, clock=clock, **settings)
    assert found.start == dt.datetime(2026, 1, 1, 5, 0, tzinfo=dt.timezone.utc)
    assert found.end == dt.datetime(2026, 1, 1, 7, 0, tzinfo=dt.timezone.utc)
    assert found.mean_g_per_kwh == pytest.approx(100.0)
    assert found.now_mean_g_per_kwh == pytest.approx(300.0)
    assert found.saving_percent == pytest.approx(100.0 * 200 / 300)
    assert found.basis == ("marginal" if zone == "CAISO_NORTH" else "average")


def test_window_must_end_within_the_horizon(grid, clock) -> None:
    found = best_window(4 * 3600, 10 * 3600, grid_zone="GB", clock=clock, uk_grid_api_url=grid.base)
    # 05:00-09:00 (mean 125) ends at 09:00 but the horizon is 10:01; 04:30-08:30 would be worse (175)
    assert found.start == dt.datetime(2026, 1, 1, 5, 0, tzinfo=dt.timezone.utc)
    assert found.mean_g_per_kwh == pytest.approx((3 * 100 + 200) / 4)
    short = best_window(2 * 3600, 6 * 3600, grid_zone="GB", clock=clock, uk_grid_api_url=grid.base)
    assert short.end <= dt.datetime.fromtimestamp(clock.t + 6 * 3600, tz=dt.timezone.utc)
    assert short.start == dt.datetime(2026, 1, 1, 4, 0, tzinfo=dt.timezone.utc)  # 04:00-06:00: 300 then 100


def test_ties_go_to_the_earliest_start_now_included() -> None:
    flat = [Point(T0 + 300 * i, T0 + 300 * (i + 1), 50.0, "forecast", "average", "direct", "x", "z")
            for i in range(20)]
    assert best_of(flat, 600, 3600, T0 + 10) == (T0 + 10, 50.0, 50.0)


def test_a_gap_in_the_forecast_is_never_a_window() -> None:
    points = [Point(T0, T0 + 300, 10.0, "forecast", "average", "direct", "x", "z"),
              Point(T0 + 900, T0 + 1800, 20.0, "forecast", "average", "direct", "x", "z")]
    start, mean, _ = best_of(points, 600, 1800, T0) or (None, None, None)
    assert (start, mean) == (T0 + 900, 20.0)


def test_no_forecast_where_only_static_figures_apply(grid, clock) -> None:
    with pytest.raises(NoForecastError, match="static"):
        best_window(3600, 7200, grid_zone="FR", clock=clock)


@pytest.mark.parametrize(("duration", "within"), [(0, 10), (-5, 10), ("2h", 10), (3600, 60)])
def test_bad_durations_are_errors_naming_the_argument(duration, within) -> None:
    with pytest.raises(ValueError, match="duration|within"):
        best_window(duration, within, grid_zone="GB")


# ------------------------------------------------------------------------------------------------ CLI
@pytest.fixture
def live_grid(monkeypatch):
    """A German grid on the real clock (Electricity Maps, which writes times to the millisecond): 1-second
    intervals, 300 g/kWh except a valley of 100 from 4 s to 7 s from now."""
    base = time.time()

    def value(zone: str, t: float) -> float:
        return 100.0 if base + 4 <= t < base + 7 else 300.0

    server = GridServer(value=value, granularity=1.0).start()
    monkeypatch.setenv("CODECARBON_ELECTRICITYMAPS_API_URL", server.base + "/v3")
    monkeypatch.setenv("CODECARBON_ELECTRICITYMAPS_API_TOKEN", server.token)
    monkeypatch.setenv("CODECARBON_MEASURE_POWER_SECS", "0.5")
    server.valley_at = base + 4  # type: ignore[attr-defined]
    yield server
    server.close()


def test_forecast_prints_a_chart_or_json(grid, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CODECARBON_UK_GRID_API_URL", grid.base)
    grid.clock = time.time
    assert main(["forecast", "--zone", "GB", "--hours", "12", "--format", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["provider"] == "uk-grid" and answer["zone"] == "GB" and answer["basis"] == "average"
    assert len(answer["points"]) in (24, 25) and {p["g_per_kwh"] for p in answer["points"]} <= {100.0, 200.0, 300.0}
    assert main(["forecast", "--zone", "GB", "--hours", "3"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("uk-grid GB forecast (average, gCO2eq/kWh), next 3 h:") and "█" in text


def test_forecast_says_so_where_there_is_none(capsys) -> None:
    assert main(["forecast", "--zone", "FR"]) == 1
    assert "no forecast here" in capsys.readouterr().out


def test_wait_sleeps_until_the_valley_then_runs_and_passes_the_exit_code(live_grid, capfd) -> None:
    code = main(["wait", "--duration", "3s", "--within", "12s", "--zone", "DE", "--", sys.executable, "-c",
                 "import time, sys; sys.stdout.write('child ran at %.3f\\n' % time.time()); sys.exit(3)"])
    out = capfd.readouterr().out
    assert code == 3
    assert "best start" in out and "100 g/kWh forecast against" in out and "% less. Ctrl+C starts at once." in out
    ran_at = float(out.split("child ran at ")[1].split()[0])
    assert ran_at >= live_grid.valley_at - 1.0  # it waited for the valley (whole seconds) instead of starting now
    assert "codecarbon report" in out
    realised, at_once = re.search(r"realised (\d+) g/kWh; starting at once would have been (\d+) g/kWh", out).groups()
    assert int(realised) < int(at_once)  # from the history: the valley against the 300 g/kWh of the start


def test_wait_runs_at_once_without_a_forecast(capsys, monkeypatch) -> None:
    monkeypatch.setenv("CODECARBON_MEASURE_POWER_SECS", "0.5")
    code = main(["wait", "--duration", "1h", "--within", "2h", "--zone", "FR", "--", sys.executable, "-c", "pass"])
    out = capsys.readouterr().out
    assert code == 0 and "no forecast here (static tables only): starting now." in out


def test_wait_needs_a_command(capsys) -> None:
    assert main(["wait", "--duration", "1h", "--within", "2h"]) == 1
    assert "needs a command" in capsys.readouterr().err


def test_estimate_now_best_and_worst(grid, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CODECARBON_UK_GRID_API_URL", grid.base)
    grid.clock = lambda: time.time()
    assert main(["estimate", "--power-w", "250", "--duration", "2h", "--zone", "GB", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["energy_kwh"] == pytest.approx(0.5)
    assert result["best"]["g_per_kwh"] == pytest.approx(100.0) and result["best"]["kg"] == pytest.approx(0.05)
    assert result["worst"]["g_per_kwh"] == pytest.approx(300.0) and result["worst"]["kg"] == pytest.approx(0.15)
    assert result["source"] == "uk-grid GB forecast (average)"


def test_estimate_from_the_last_run_of_a_project_without_forecast(capsys) -> None:
    Path("emissions.csv").write_text("project_name,duration,energy_consumed\nother,10,1\n"
                                     "train,3600,0.2\ntrain,1800,0.05\n")
    assert main(["estimate", "--project", "train", "--duration", "4h", "--zone", "FR"]) == 0
    out = capsys.readouterr().out
    assert "100 W for 4 h 00 min" in out and "400 Wh" in out
    assert "source:  static" in out and "no forecast here" in out
    assert main(["estimate", "--power-w", "0.5", "--duration", "2s", "--zone", "FR"]) == 0
    short = capsys.readouterr().out
    assert "energy:  278 µWh (0.5 W for 2 s, power given)" in short, short
    assert "now:     15.6 µg CO2eq at 56 g/kWh" in short and "e-0" not in short, short


def test_wait_starts_at_once_on_ctrl_c(capfd, monkeypatch) -> None:
    import argparse

    from codecarbon.cli.carbon import command_wait

    base = time.time()
    server = GridServer(value=lambda zone, t: 50.0 if base + 30 <= t < base + 40 else 300.0, granularity=1.0).start()
    monkeypatch.setenv("CODECARBON_ELECTRICITYMAPS_API_URL", server.base + "/v3")
    monkeypatch.setenv("CODECARBON_ELECTRICITYMAPS_API_TOKEN", server.token)
    monkeypatch.setenv("CODECARBON_MEASURE_POWER_SECS", "0.5")

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    args = argparse.Namespace(duration="5s", within="60s", zone="DE", timeout=5.0, measure_power_secs=None,
                              project_name=None, command=["--", sys.executable, "-c", "print('child ran')"])
    try:
        assert command_wait(args, sys.stdout, sleep=interrupted) == 0
    finally:
        server.close()
    out = capfd.readouterr().out
    assert "best start" in out and "codecarbon: starting now." in out and "child ran" in out
    assert out.index("starting now.") < out.index("child ran")
