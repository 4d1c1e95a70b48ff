"""Carbon over time (issue 14): accuracy, requests, stop bound, best-window speed, import cost.

Prints, each from local servers on 127.0.0.1 that speak the providers' documented APIs:
1. emissions against the exact integral ∫ P(t)·g(t) dt over replayed 1 h / 24 h / 72 h traces (power varying
   within every 15 s tick, intensity per 5-minute interval), provisional (latest) and settled (history), and the
   error of charging one figure (the run's first) for the whole run, as trackers without intervals do;
2. provider requests per interval with 8 real EmissionsTrackers in one process (1-second intervals, real clock);
3. stop() of a real tracker with every provider hanging (the settlement's bound is 2 s);
4. best_window over a 72 h x 5 min forecast (864 points);
5. `import codecarbon` and `from codecarbon import EmissionsTracker` in fresh processes, this tree against
   /work/main (the same machine, the same run).

    python3 bench/bench_carbon_over_time.py [--runs 15]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codecarbon.intensity import providers  # noqa: E402
from codecarbon.intensity.charger import Charger  # noqa: E402
from codecarbon.intensity.feed import Feed, forget_shared_feeds  # noqa: E402
from codecarbon.intensity.types import Intensity  # noqa: E402
from tests.fakes.grid import GridServer  # noqa: E402

T0 = 1_767_225_600.0
TICK = 15.0
STATIC = Intensity(400.0, "static", 2023)


def intensity(zone: str, t: float) -> float:
    """A day's swing (120-420 g/kWh) with interval-to-interval noise, per 5-minute interval."""
    day = 270.0 + 150.0 * math.sin(2 * math.pi * (t - T0) / 86400.0)
    noise = 25.0 * math.sin(12.9898 * (t // 300) % 6.283)
    return round(day + noise, 3)


def power(t: float) -> float:
    return 220.0 + 140.0 * math.sin(2 * math.pi * t / 2220.0) + 60.0 * math.sin(2 * math.pi * t / 97.0)


def energy_j(a: float, b: float) -> float:
    """∫ power dt from a to b, in closed form."""
    def primitive(t: float) -> float:
        return (220.0 * t - 140.0 * 2220.0 / (2 * math.pi) * math.cos(2 * math.pi * t / 2220.0)
                - 60.0 * 97.0 / (2 * math.pi) * math.cos(2 * math.pi * t / 97.0))
    return primitive(b) - primitive(a)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def replay(hours: float) -> dict[str, float]:
    clock = Clock(T0)
    server = GridServer(value=intensity, granularity=300.0, clock=clock).start()
    try:
        provider = providers.make("energidataservice", {"energidataservice_api_url": server.base}, clock=clock)
        feed = Feed(provider, zone="DK-DK1", clock=clock)
        charger = Charger(STATIC, feed)
        start = T0 + 7.0
        end = start + hours * 3600.0
        exact = first_figure = 0.0
        t = start
        while t < end:  # the exact integral, interval by interval
            edge = min(end, (t // 300 + 1) * 300)
            exact += energy_j(t, edge) / 3.6e6 * intensity("DK-DK1", t - t % 300) / 1000.0
            t = edge
        total_kwh = energy_j(start, end) / 3.6e6
        first_figure = total_kwh * intensity("DK-DK1", start - start % 300) / 1000.0
        t = start
        sampler_kg = 0.0
        while t < end:
            b = min(end, t + TICK)
            clock.t = b
            sampler_kg += charger.charge(t, b, energy_j(t, b) / 3.6e6)
            feed.wait(5)
            t = b
        provisional = charger.account().kg
        clock.t = end + 1
        began = time.perf_counter()
        charger.settle(10.0)
        settle_s = time.perf_counter() - began
        settled = charger.account()
        return {"exact": exact, "provisional": provisional, "settled": settled.kg, "first": first_figure,
                "requests": feed.requests, "intervals": math.ceil(hours * 12), "settle_ms": settle_s * 1000,
                "segments": len(charger._segments)}
    finally:
        server.close()


def requests_with_eight_trackers(seconds: float) -> tuple[int, int, float]:
    from codecarbon import EmissionsTracker

    forget_shared_feeds()
    server = GridServer(value=lambda zone, t: 100.0 + (t % 7), granularity=1.0).start()
    os.chdir(tempfile.mkdtemp())
    try:
        trackers = [EmissionsTracker(grid_zone="CAISO_NORTH", carbon_intensity_provider="watttime",
                                     watttime_username=server.watttime_user,
                                     watttime_password=server.watttime_password, watttime_api_url=server.base,
                                     measure_power_secs=0.25, output_methods=[], log_level="error")
                     for _ in range(8)]
        began = time.time()
        for tracker in trackers:
            tracker.start()
        time.sleep(seconds)
        for tracker in trackers:
            tracker.stop()
        ended = time.time()
        latest = len(server.requests("/v3/forecast"))
        history = len(server.requests("/v3/historical"))
        intervals = int(ended) - int(began) + 1
        return latest, history, latest / intervals
    finally:
        server.close()
        forget_shared_feeds()


def stop_with_hanging_providers() -> dict[str, float]:
    from codecarbon import EmissionsTracker

    results = {}
    server = GridServer(value=lambda zone, t: 100.0).start()
    server.mode = "hang"
    os.chdir(tempfile.mkdtemp())
    cases = {"electricitymaps": {"grid_zone": "DE", "electricitymaps_api_token": "t",
                                 "electricitymaps_api_url": server.base + "/v3"},
             "uk-grid": {"grid_zone": "GB", "uk_grid_api_url": server.base},
             "energidataservice": {"grid_zone": "DK-DK2", "energidataservice_api_url": server.base},
             "watttime": {"grid_zone": "CAISO_NORTH", "carbon_intensity_provider": "watttime",
                          "watttime_username": "u", "watttime_password": "p", "watttime_api_url": server.base}}
    try:
        for name, arguments in cases.items():
            forget_shared_feeds()
            tracker = EmissionsTracker(measure_power_secs=0.2, log_level="error", **arguments)
            tracker.start()
            time.sleep(0.6)
            began = time.perf_counter()
            tracker.stop()
            results[name] = time.perf_counter() - began
    finally:
        server.close()
        forget_shared_feeds()
    return results


def best_window_ms(repeats: int = 200) -> float:
    from codecarbon.carbon_aware import best_of
    from codecarbon.intensity.providers.base import Point

    points = [Point(T0 + 300 * i, T0 + 300 * (i + 1), intensity("Z", T0 + 300 * i), "forecast", "average",
                    "direct", "x", "Z") for i in range(864)]
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        best_of(points, 2 * 3600.0, 72 * 3600.0, T0 + 10.0)
        timings.append(time.perf_counter() - began)
    return statistics.median(timings) * 1000


def import_ms(tree: Path, code: str, runs: int) -> float:
    timings = []
    env = {**os.environ, "PYTHONPATH": str(tree)}
    script = f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
        timings.append(float(out.stdout.strip()))
    return statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print("1. emissions against the exact integral (Energi Data Service DK1, 5-min intervals, 15 s ticks; the "
          "replayed latest figures equal the settled ones, so provisional = settled here)")
    for hours in (1, 24, 72):
        r = replay(hours)

        def err(v: float, exact: float = r["exact"]) -> str:
            return f"{100 * (v - exact) / exact:+.4f} %"

        print(f"   {hours:>2} h: exact {r['exact'] * 1000:9.2f} g | settled {err(r['settled'])} | provisional "
              f"{err(r['provisional'])} | one figure for the run {err(r['first'])} | {r['requests']} requests for "
              f"{r['intervals']} intervals | settlement {r['settle_ms']:.0f} ms | ledger {r['segments']} entries")
    latest, history, per_interval = requests_with_eight_trackers(8.0)
    print(f"2. 8 EmissionsTrackers (WattTime), 1 s intervals, 8 s: {latest} latest requests "
          f"({per_interval:.2f} per interval), {history} history request(s) at stop")
    stops = stop_with_hanging_providers()
    print("3. stop() with the provider hanging: " + ", ".join(f"{k} {v:.2f} s" for k, v in stops.items()))
    print(f"4. best_window over 72 h x 5 min (864 points): {best_window_ms():.2f} ms (median of 200)")
    main_tree = Path("/work/main")
    for code in ("import codecarbon", "from codecarbon import EmissionsTracker"):
        ours = import_ms(REPO, code, args.runs)
        line = f"5. `{code}`: {ours:.1f} ms here"
        if main_tree.exists():
            line += f", {import_ms(main_tree, code, args.runs):.1f} ms on /work/main (median of {args.runs})"
        print(line)


if __name__ == "__main__":
    main()
