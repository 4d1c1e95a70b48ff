"""`codecarbon forecast`, `codecarbon wait ... -- CMD` and `codecarbon estimate`: the grid's coming hours, runs that
wait for a cleaner grid, and what a run would emit before it runs.

Loaded only when one of these commands runs; the providers load only then too.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
BAR_WIDTH = 40


class CarbonCliError(Exception):
    """A problem with the command line, reported without a traceback."""


def parse_duration(text: str, name: str) -> float:
    """``2h``, ``90m``, ``1h30m``, ``45s``, ``1d`` or plain seconds → seconds (> 0)."""
    raw = str(text).strip().lower()
    try:
        value = float(raw)
    except ValueError:
        pieces = _DURATION.findall(raw)
        if not pieces or _DURATION.sub("", raw).strip():
            raise CarbonCliError(f"{name} must be a duration such as 2h, 90m, 1h30m or 45s, got {text!r}") from None
        value = sum(float(number) * _UNITS[unit] for number, unit in pieces)
    if not value > 0:
        raise CarbonCliError(f"{name} must be a positive duration, got {text!r}")
    return value


def _hhmm(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _span(seconds: float) -> str:
    if seconds < 59.5:  # "0 min" would hide a short span
        return f"{seconds:.0f} s"
    minutes = int(round(seconds / 60.0))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _feed(args: argparse.Namespace) -> Any:
    from codecarbon.carbon_aware import open_feed

    return open_feed(getattr(args, "zone", None))


# ------------------------------------------------------------------------------------------------ forecast
def command_forecast(args: argparse.Namespace, out: TextIO) -> int:
    hours = float(args.hours)
    if not 0 < hours <= 72:
        raise CarbonCliError(f"--hours must be in (0, 72], got {args.hours}")
    feed = _feed(args)
    if feed is None:
        print("codecarbon: no forecast here: only the static tables apply (set --zone and a provider that "
              "publishes forecasts, e.g. carbon_intensity_provider or electricitymaps_api_token).", file=out)
        return 1
    now = time.time()
    points = sorted(feed.forecast(hours, args.timeout, now=now), key=lambda p: p.start)
    if not points:
        print(f"codecarbon: {feed.name} gave no forecast for {feed.zone or 'this place'}"
              f" ({feed.last_error or 'empty answer'}).", file=out)
        return 1
    if args.format == "json":
        json.dump({"provider": feed.name, "zone": feed.zone, "basis": feed.basis, "unit": "gCO2eq/kWh",
                   "points": [{"start": _iso(p.start), "end": _iso(p.end), "g_per_kwh": p.g_per_kwh}
                              for p in points]}, out, indent=2)
        out.write("\n")
        return 0
    top = max(p.g_per_kwh for p in points) or 1.0
    low = min(points, key=lambda p: p.g_per_kwh)
    print(f"{feed.name} {feed.zone} forecast ({feed.basis}, gCO2eq/kWh), next {hours:g} h:", file=out)
    for point in points:
        bar = "█" * max(1, round(BAR_WIDTH * point.g_per_kwh / top))
        mark = "  ← lowest" if point is low else ""
        print(f"  {_hhmm(point.start)[11:16]}  {point.g_per_kwh:7.1f}  {bar}{mark}", file=out)
    return 0


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------------ wait
def command_wait(args: argparse.Namespace, out: TextIO, sleep: Callable[[float], None] = time.sleep) -> int:
    from codecarbon.carbon_aware import best_of, realised_mean
    from codecarbon.cli.monitor import plan_monitor, run_and_monitor

    command = list(args.command or [])
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise CarbonCliError("wait needs a command after --, e.g. codecarbon wait --duration 2h --within 12h -- "
                             "python train.py")
    duration = parse_duration(args.duration, "--duration")
    within = parse_duration(args.within, "--within")
    if within < duration:
        raise CarbonCliError("--within must be at least --duration")
    feed = _feed(args)
    waited_from = time.time()
    found = None
    if feed is None:
        print("codecarbon: no forecast here (static tables only): starting now.", file=out, flush=True)
    else:
        points = feed.forecast(within / 3600.0, args.timeout, now=waited_from)
        found = best_of(points, duration, within, waited_from)
        if found is None:
            reason = feed.last_error or "it does not cover the window"
            print(f"codecarbon: no usable forecast from {feed.name} ({reason}): starting now.", file=out, flush=True)
    if found is not None:
        start, mean, now_mean = found
        saving = 100.0 * (now_mean - mean) / now_mean if now_mean > 0 else 0.0
        if start - waited_from < 1.0:
            print(f"codecarbon: now is the best time ({mean:.0f} g/kWh forecast): starting now.", file=out,
                  flush=True)
        else:
            print(f"codecarbon: best start {_hhmm(start)} (in {_span(start - waited_from)}): {mean:.0f} g/kWh "
                  f"forecast against {now_mean:.0f} now, {saving:.0f}% less. Ctrl+C starts at once.", file=out,
                  flush=True)
            try:
                while True:
                    left = start - time.time()
                    if left <= 0:
                        break
                    sleep(min(left, 1.0))
            except KeyboardInterrupt:
                print("\ncodecarbon: starting now.", file=out, flush=True)
    plan = plan_monitor(measure_power_secs=args.measure_power_secs, project_name=args.project_name,
                        process_mode=True)
    if args.zone:
        plan.arguments["grid_zone"] = args.zone
    began = time.time()
    code = run_and_monitor(command, plan, out)
    ended = time.time()
    if feed is not None and ended > began:
        ran = realised_mean(feed, began, ended)
        at_once = realised_mean(feed, waited_from, waited_from + (ended - began))
        if ran is not None and at_once is not None:
            diff = 100.0 * (at_once - ran) / at_once if at_once > 0 else 0.0
            print(f"codecarbon: realised {ran:.0f} g/kWh; starting at once would have been {at_once:.0f} g/kWh "
                  f"({diff:.0f}% {'saved' if diff >= 0 else 'more'}).", file=out, flush=True)
    return code


# ------------------------------------------------------------------------------------------------ estimate
def _last_run_power(csv_path: Path, project: str) -> float:
    """Mean power (W) of the project's last run in an emissions CSV."""
    try:
        with open(csv_path, newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("project_name") == project]
    except OSError as error:
        raise CarbonCliError(f"cannot read {csv_path}: {error}") from None
    for row in reversed(rows):
        try:
            energy, duration = float(row["energy_consumed"]), float(row["duration"])
        except (KeyError, TypeError, ValueError):
            continue
        if duration > 0:
            return energy * 3_600_000.0 / duration
    raise CarbonCliError(f"no run of project {project!r} with a duration in {csv_path}")


def command_estimate(args: argparse.Namespace, out: TextIO) -> int:
    from codecarbon.carbon_aware import best_of, worst_of

    duration = parse_duration(args.duration, "--duration")
    if args.power_w is not None:
        if not args.power_w > 0:
            raise CarbonCliError("--power-w must be > 0")
        power, power_source = float(args.power_w), "given"
    elif args.project:
        power = _last_run_power(Path(args.csv), args.project)
        power_source = f"last run of {args.project} in {args.csv}"
    else:
        raise CarbonCliError("estimate needs --power-w W or --project NAME (its last run's measured power)")
    energy_kwh = power * duration / 3_600_000.0
    within = parse_duration(args.within, "--within") if args.within else max(duration, 24 * 3600.0)
    feed = _feed(args)
    now = time.time()
    result: dict[str, Any] = {"power_w": power, "power_source": power_source, "duration_s": duration,
                              "energy_kwh": energy_kwh}
    found = worst = None
    if feed is not None:
        points = feed.forecast(within / 3600.0, args.timeout, now=now)
        found = best_of(points, duration, within, now)
        worst = worst_of(points, duration, within, now)
    if found is not None and worst is not None:
        start, mean, now_mean = found
        result.update(source=f"{feed.name} {feed.zone} forecast ({feed.basis})",
                      now={"g_per_kwh": now_mean, "kg": energy_kwh * now_mean / 1000.0},
                      best={"start": _iso(start), "g_per_kwh": mean, "kg": energy_kwh * mean / 1000.0},
                      worst={"start": _iso(worst[0]), "g_per_kwh": worst[1], "kg": energy_kwh * worst[1] / 1000.0})
    else:
        static = _static_figure(args)
        result.update(source=f"static {static.source}" + (f" {static.year}" if static.year else "")
                      + " (no forecast here: now, best and worst are the same)",
                      **{k: {"g_per_kwh": static.g_co2e_per_kwh, "kg": energy_kwh * static.g_co2e_per_kwh / 1000.0}
                         for k in ("now", "best", "worst")})
    if args.format == "json":
        json.dump(result, out, indent=2)
        out.write("\n")
        return 0
    from codecarbon.viz.text import energy_text, mass_text

    print(f"energy:  {energy_text(energy_kwh)} ({power:.4g} W for {_span(duration)}, power {power_source})",
          file=out)
    for key in ("now", "best", "worst"):
        entry = result[key]
        when = f" starting {entry['start'].replace('T', ' ')[:16]} UTC" if "start" in entry else ""
        print(f"{key + ':':<8} {mass_text(entry['kg'])} CO2eq at {entry['g_per_kwh']:.0f} g/kWh{when}", file=out)
    print(f"source:  {result['source']}", file=out)
    return 0


def _static_figure(args: argparse.Namespace) -> Any:
    from codecarbon.intensity.live import explicit_location
    from codecarbon.intensity.resolver import static_intensity

    return static_intensity(explicit_location(getattr(args, "zone", None), getattr(args, "country_iso_code", None)))


# ------------------------------------------------------------------------------------------------ parser
def add_commands(commands: Any) -> None:
    """The three subcommands, for cli/main.py's parser."""
    forecast = commands.add_parser("forecast", help="the grid's forecast intensity for the coming hours",
                                   description="Print the coming hours of the place's grid-intensity forecast "
                                               "(a chart in the terminal, or JSON).")
    forecast.add_argument("--zone", help="grid zone (DE, GB, DK-DK1, ...); default: grid_zone, else located")
    forecast.add_argument("--hours", type=float, default=24.0, help="hours ahead (default 24, at most 72)")
    forecast.add_argument("--format", choices=("text", "json"), default="text")
    forecast.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the provider")
    forecast.set_defaults(handler=_guard(command_forecast))

    wait = commands.add_parser("wait", help="wait for the cleanest window, then run: wait --duration 2h "
                                            "--within 12h -- CMD ARGS...",
                               description="Sleep until the start of the lowest-intensity window of the forecast "
                                           "(Ctrl+C starts at once), run the command as `monitor -- CMD` does, "
                                           "exit with its code and compare with starting at once.")
    wait.add_argument("--duration", required=True, help="how long the command runs (2h, 90m, 45s)")
    wait.add_argument("--within", required=True, help="the latest end, from now (12h)")
    wait.add_argument("--zone", help="grid zone; default: grid_zone, else located")
    wait.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the provider")
    wait.add_argument("--measure-power-secs", type=float, help="seconds between measurements")
    wait.add_argument("--project-name", help="project name written in the rows")
    wait.add_argument("command", nargs=argparse.REMAINDER, help="the command to run and track")
    wait.set_defaults(handler=_guard(command_wait))

    estimate = commands.add_parser("estimate", help="energy and emissions of a run before it runs: now, at "
                                                    "best and at worst",
                                   description="Estimate a run from a power (or the measured power of a "
                                               "project's last run) and a duration.")
    estimate.add_argument("--power-w", type=float, help="mean power in watts")
    estimate.add_argument("--project", help="use the measured power of this project's last run")
    estimate.add_argument("--csv", default="emissions.csv", help="the CSV that holds it (default emissions.csv)")
    estimate.add_argument("--duration", required=True, help="how long it runs (2h, 90m)")
    estimate.add_argument("--within", help="look for best and worst starts within this (default 24 h)")
    estimate.add_argument("--zone", help="grid zone; default: grid_zone, else located")
    estimate.add_argument("--format", choices=("text", "json"), default="text")
    estimate.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the provider")
    estimate.set_defaults(handler=_guard(command_estimate))


def _guard(handler: Callable[..., int]) -> Callable[[argparse.Namespace, TextIO], int]:
    """Report our command-line problems as the CLI's other errors (one line, exit status 1)."""

    def run(args: argparse.Namespace, out: TextIO) -> int:
        try:
            return handler(args, out)
        except CarbonCliError as problem:
            raise ValueError(str(problem)) from None

    return run
