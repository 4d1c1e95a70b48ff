"""`codecarbon monitor`: track the machine until told to stop, or track one command and exit with its code.

While the machine is tracked, a live line shows elapsed time, power by component, energy and emissions: on a
terminal one line redrawn in place every second, elsewhere (a pipe, a log file) a plain line every
``--every`` seconds. The line is drawn by its own thread, from readings taken at its own pace, and written
outside the sampler's lock: a slow or blocked terminal never delays the sampling.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from codecarbon.core.config import load_settings
from codecarbon.output_methods.base_output import OutputMethod
from codecarbon.support.errors import MonitorError  # defined in the error tree, importable here

EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


@dataclass
class MonitorPlan:
    """Which tracker to build and with which arguments (only what the user asked for is passed)."""

    offline: bool
    arguments: dict[str, Any] = field(default_factory=dict)


def plan_monitor(*, measure_power_secs: float | None = None, api_call_interval: int | None = None,
                 api: bool | None = None, offline: bool = False, country_iso_code: str | None = None,
                 region: str | None = None, project_name: str | None = None, log_level: str | None = None,
                 process_mode: bool = False, prometheus_port: int | None = None,
                 prometheus_host: str | None = None) -> MonitorPlan:
    """Turn the monitor options into tracker arguments; options left out leave the config files in charge."""
    given = {"measure_power_secs": measure_power_secs, "api_call_interval": api_call_interval,
             "project_name": project_name, "log_level": log_level, "prometheus_port": prometheus_port,
             "prometheus_host": prometheus_host}
    arguments: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    if process_mode:
        arguments["tracking_mode"] = "process"
    offline = offline or country_iso_code is not None
    if offline:
        arguments.update({k: v for k, v in (("country_iso_code", country_iso_code), ("region", region))
                          if v is not None})
    elif region is not None:
        raise MonitorError("--region needs --offline and --country-iso-code (online, the location is detected)")
    configured = load_settings(arguments, offline=offline)
    if offline and not configured.country_iso_code and not configured.cloud_provider:
        raise MonitorError("offline monitoring needs a country: pass --country-iso-code (e.g. FRA) or set "
                           "country_iso_code in .codecarbon.config")
    if prometheus_port is not None and api_call_interval is None and not configured.is_set("api_call_interval"):
        arguments["api_call_interval"] = 1  # the scrape endpoint moves at every measurement
    if api is not None:
        methods = [m for m in (configured.output_methods or [OutputMethod.CSV]) if m is not OutputMethod.API]
        if api:
            if offline:
                raise MonitorError("--api cannot be used with --offline")
            methods.append(OutputMethod.API)
        arguments["output_methods"] = methods
    sends_to_api = OutputMethod.API in (arguments.get("output_methods") or configured.output_methods or [])
    if sends_to_api and not configured.is_set("experiment_id"):
        raise MonitorError("sending to the API needs an experiment_id: run `codecarbon init` or `codecarbon "
                           "config --set experiment_id=...` first")
    return MonitorPlan(offline=offline, arguments=arguments)


def build_tracker(plan: MonitorPlan) -> Any:
    """The public tracker for the plan (imported here: the CLI's other commands do not need it)."""
    from codecarbon.emissions_tracker import EmissionsTracker, OfflineEmissionsTracker

    factory = OfflineEmissionsTracker if plan.offline else EmissionsTracker
    return factory(**plan.arguments)


def csv_path(plan: MonitorPlan) -> Path | None:
    """Where the run's row is written when the CSV output is selected, else None."""
    settings = load_settings(plan.arguments, offline=plan.offline)
    methods = settings.output_methods
    writes_csv = OutputMethod.CSV in methods if methods is not None else settings.save_to_file
    return Path(settings.output_dir) / settings.output_file if writes_csv else None


def _power_text(watts: float) -> str:
    return f"{watts / 1000:.2f} kW" if watts >= 1000 else f"{watts:.1f} W"


def _energy_text(kwh: float) -> str:
    return f"{kwh:.3f} kWh" if kwh >= 1 else f"{kwh * 1000:.3f} Wh"


def live_text(elapsed_s: float, power_w: dict[str, float], energy_kwh: float, emissions_kg: float) -> str:
    """One line: elapsed, power per component and in all, energy and emissions so far."""
    minutes, seconds = divmod(int(elapsed_s), 60)
    hours, minutes = divmod(minutes, 60)
    parts = " ".join(f"{name.upper()} {_power_text(power_w.get(name, 0.0))}" for name in ("cpu", "gpu", "ram"))
    total = sum(power_w.values())
    return (f"{hours:d}:{minutes:02d}:{seconds:02d}  {parts} (= {_power_text(total)})  "
            f"{_energy_text(energy_kwh)}  {emissions_kg * 1000:.4g} g CO2eq")


class LiveLine:
    """Draws the live line of a running tracker on its own thread until ``stop`` is set."""

    def __init__(self, tracker: Any, stream: TextIO, *, every_s: float, in_place: bool):
        self.tracker = tracker
        self.stream = stream
        self.every_s = every_s
        self.in_place = in_place
        self.lines_drawn = 0
        self._previous: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def snapshot(self) -> str | None:
        """The line for now: a fresh reading, power over the span since the previous one; None when not running."""
        from codecarbon.core.sampler import window_between

        sampler, run = getattr(self.tracker, "_sampler", None), getattr(self.tracker, "_run", None)
        if sampler is None or run is None:
            return None
        reading = sampler.read()  # cumulative counters: an extra reading never changes the run's totals
        pue = float(getattr(sampler, "pue", 1.0))
        total = window_between(run.start, reading, pue)
        since = window_between(self._previous or run.start, reading, pue)
        self._previous = reading
        return live_text(total.duration, since.power_w, total.energy_consumed, total.emissions_kg)

    def draw_once(self) -> None:
        try:
            text = self.snapshot()
        except Exception:  # the live line is a courtesy; it never disturbs the tracking
            return
        if text is None:
            return
        try:
            if self.in_place:
                self.stream.write("\r\x1b[2K" + text)
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
            self.lines_drawn += 1
        except (OSError, ValueError):
            pass

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.draw_once()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="codecarbon-monitor-line", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self.in_place and self.lines_drawn:
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def monitor_until_signalled(plan: MonitorPlan, stream: TextIO = sys.stdout,
                            make_tracker: Callable[[MonitorPlan], Any] = build_tracker,
                            every_s: float | None = None, live: bool = True) -> int:
    """Track until SIGINT or SIGTERM (drawing the live line), then stop (writing the outputs) and return 0.

    ``every_s``: seconds between lines; default 1 on a terminal (redrawn in place), 10 elsewhere."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    line: LiveLine | None = None
    try:
        tracker = make_tracker(plan)
        tracker.start()
        print("codecarbon: monitoring; press Ctrl+C to stop.", file=stream, flush=True)
        if live:
            in_place = _is_terminal(stream)
            line = LiveLine(tracker, stream, every_s=every_s or (1.0 if in_place else 10.0), in_place=in_place)
            line.start()
        while not stop.wait(0.2):
            pass
        if line is not None:
            line.stop()
        tracker.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print_report(tracker, plan, stream)
    return 0


def run_and_monitor(command: Sequence[str], plan: MonitorPlan, stream: TextIO = sys.stdout,
                    make_tracker: Callable[[MonitorPlan], Any] = build_tracker) -> int:
    """Run ``command`` under a process-mode tracker; return its exit code (127 not found, 128+N killed by N)."""
    tracker = make_tracker(plan)
    tracker.start()
    child: subprocess.Popen | None = None
    previous: dict[int, Any] = {}

    def forward_term(signum: int, _frame: Any) -> None:
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def let_child_handle_interrupt(_signum: int, _frame: Any) -> None:
        """Ctrl+C reaches the whole foreground group: the command decides, we stop when it ends."""

    try:
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, forward_term)
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, let_child_handle_interrupt)
        try:
            child = subprocess.Popen(list(command))
        except FileNotFoundError:
            print(f"codecarbon: command not found: {command[0]}", file=sys.stderr)
            code = EXIT_NOT_FOUND
        except PermissionError:
            print(f"codecarbon: permission denied: {command[0]}", file=sys.stderr)
            code = EXIT_NOT_EXECUTABLE
        else:
            returned = child.wait()
            code = 128 - returned if returned < 0 else returned
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        tracker.stop()
    if child is not None:
        print_report(tracker, plan, stream)
    return code


def print_report(tracker: Any, plan: MonitorPlan, stream: TextIO) -> None:
    """A few lines a person reads: emissions in grams, energy, duration, where the row went."""
    data = getattr(tracker, "final_emissions_data", None)
    if data is None:
        print("codecarbon: no measurement was recorded.", file=stream)
        return
    energy_kwh = float(data.energy_consumed or 0.0)
    energy = f"{energy_kwh:.4g} kWh" if energy_kwh >= 1 else f"{energy_kwh * 1000:.4g} Wh"
    parts = ", ".join(f"{c.upper()} {float(getattr(data, c + '_energy', 0.0) or 0.0) * 1000:.4g} Wh"
                      for c in ("cpu", "gpu", "ram"))
    intensity = getattr(data, "carbon_intensity", None)
    lines = [
        "codecarbon report",
        f"  emissions: {float(data.emissions or 0.0) * 1000:.4g} g CO2eq",
        f"  energy:    {energy} ({parts})",
        f"  duration:  {float(data.duration or 0.0):.1f} s",
    ]
    if intensity is not None:
        source = getattr(data, "intensity_source", "") or "source unknown"
        lines.append(f"  intensity: {float(intensity):.0f} g/kWh ({source})")
    path = csv_path(plan)
    if path is not None:
        lines.append(f"  csv:       {path.resolve()}")
    print("\n".join(lines), file=stream, flush=True)
