"""`codecarbon monitor`: track the machine until told to stop, or track one command and exit with its code.

While the machine is tracked, a live line shows elapsed time, power by component, energy and emissions: on a
terminal one line redrawn in place every second, elsewhere (a pipe, a log file) a plain line every
``--every`` seconds. The line is drawn by its own thread, from readings taken at its own pace, and written
outside the sampler's lock: a slow or blocked terminal never delays the sampling.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from codecarbon.core.config import load_settings
from codecarbon.output_methods.base_output import OutputMethod
from codecarbon.support.errors import MonitorError  # defined in the error tree, importable here
from codecarbon.viz.text import energy_text, mass_text

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
    from codecarbon.output_methods.selection import selected_methods

    if api is not None:
        # settings hold method names as strings, and the deprecated save_to_* flags select outputs too: the
        # methods in effect, as members, less the API
        methods: list[OutputMethod] = [m for m in selected_methods(configured) if m is not OutputMethod.API]
        if api:
            if offline:
                raise MonitorError("--api cannot be used with --offline")
            methods.append(OutputMethod.API)
        arguments["output_methods"] = methods
    chosen = arguments.get("output_methods")
    sends_to_api = OutputMethod.API in (chosen if chosen is not None else selected_methods(configured))
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


def live_text(elapsed_s: float, power_w: dict[str, float], energy_kwh: float, emissions_kg: float) -> str:
    """One line: elapsed, power per component and in all, energy and emissions so far."""
    minutes, seconds = divmod(int(elapsed_s), 60)
    hours, minutes = divmod(minutes, 60)
    parts = " ".join(f"{name.upper()} {_power_text(power_w.get(name, 0.0))}" for name in ("cpu", "gpu", "ram"))
    total = sum(power_w.values())
    return (f"{hours:d}:{minutes:02d}:{seconds:02d}  {parts} (= {_power_text(total)})  "
            f"{energy_text(energy_kwh)}  {mass_text(emissions_kg)} CO2eq")


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


#: Signals passed on to the command: it decides what they mean, and the monitor writes the row when it ends.
FORWARDED_SIGNALS = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2")
#: What a terminal sends to its whole foreground process group (Ctrl+C, Ctrl+\\): the command has its own copy.
TERMINAL_SIGNALS = ("SIGINT", "SIGQUIT")
REPORT_WRITE_BOUND_S = 5.0


def _in_terminal_foreground() -> bool:
    """Whether a terminal has our process group in the foreground, so that its Ctrl+C reached the command too.

    Windows' console sends Ctrl+C to every process attached to it: there the command always has its own copy."""
    getpgrp, tcgetpgrp = getattr(os, "getpgrp", None), getattr(os, "tcgetpgrp", None)
    if getpgrp is None or tcgetpgrp is None:
        return True
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and tcgetpgrp(fd) == getpgrp():
                return True
        except OSError:
            continue
    return False


def _fill_standard_descriptors() -> None:
    """A closed stdin/stdout/stderr is opened on the null device, so that no file we open later (the CSV)
    takes its number and receives the command's output."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def run_and_monitor(command: Sequence[str], plan: MonitorPlan, stream: TextIO | None = sys.stdout,
                    make_tracker: Callable[[MonitorPlan], Any] = build_tracker) -> int:
    """Run ``command`` under a process-mode tracker; return its exit code (127 not found, 128+N killed by N).

    SIGHUP, SIGTERM, SIGUSR1 and SIGUSR2 sent to the monitor are passed on to the command, and so are SIGINT and
    SIGQUIT unless a terminal already sent them to both; the monitor ends when the command does, after writing the
    row. The report is a courtesy: a closed or full stdout never costs the command's exit status."""
    _fill_standard_descriptors()
    child: subprocess.Popen | None = None
    pending: list[int] = []  # signals that came before the command started: delivered once it has
    terminal = {getattr(signal, name) for name in TERMINAL_SIGNALS if hasattr(signal, name)}

    def forward(signum: int, _frame: Any) -> None:
        if signum in terminal and _in_terminal_foreground():
            return  # the terminal sent it to the command's process group as well
        if child is None:
            pending.append(signum)
            return
        try:
            child.send_signal(signum)  # a no-op once the command has ended
        except OSError:
            pass

    previous: dict[int, Any] = {}
    code = 0
    try:
        for name in FORWARDED_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is not None:
                try:
                    previous[signum] = signal.signal(signum, forward)
                except (OSError, ValueError):  # not the main thread, or not settable here
                    pass
        tracker = make_tracker(plan)
        tracker.start()
        try:
            try:
                child = subprocess.Popen(list(command))
            except FileNotFoundError:
                print(f"codecarbon: command not found: {command[0]}", file=sys.stderr)
                code = EXIT_NOT_FOUND
            except PermissionError:
                print(f"codecarbon: permission denied: {command[0]}", file=sys.stderr)
                code = EXIT_NOT_EXECUTABLE
            else:
                for signum in pending:
                    forward(signum, None)
                returned = child.wait()
                code = 128 - returned if returned < 0 else returned
        finally:
            tracker.stop()  # still forwarding meanwhile: a late signal cannot end the monitor before its row
        if child is not None:
            write_bounded(stream, report_text(tracker, plan))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def write_bounded(stream: TextIO | None, text: str, bound_s: float = REPORT_WRITE_BOUND_S) -> bool:
    """Write ``text`` unless the stream is closed, gone or stays full for ``bound_s``; True when all was written.

    A real descriptor is written directly, in pieces no larger than a pipe takes at once when ``select`` says it
    has room, so a reader that stopped reading cannot hold the monitor; nothing stays in Python's buffer for the
    exit to flush (and fail on)."""
    if stream is None or not text:
        return stream is not None
    try:
        fd = stream.fileno()
        stream.flush()
    except (AttributeError, ValueError, OSError):
        fd = -1
    if fd < 0 or sys.platform.startswith("win"):  # a StringIO, or Windows' pipes (select takes sockets only)
        try:
            stream.write(text)
            stream.flush()
            return True
        except (OSError, ValueError):
            return False
    import select

    data = text.encode(getattr(stream, "encoding", None) or "utf-8", "replace")
    deadline = time.monotonic() + bound_s
    while data:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                break
            data = data[os.write(fd, data[:512]):]
        except (OSError, ValueError):  # closed: EPIPE, EBADF
            break
    else:
        return True
    try:  # give up on this stream: later writes (the exit's flush) go nowhere instead of failing or blocking
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except OSError:
        pass
    return False


def print_report(tracker: Any, plan: MonitorPlan, stream: TextIO) -> None:
    """A few lines a person reads: emissions in grams, energy, duration, where the row went."""
    print(report_text(tracker, plan), file=stream, end="", flush=True)


def report_text(tracker: Any, plan: MonitorPlan) -> str:
    """The report's lines, each ending with a newline."""
    data = getattr(tracker, "final_emissions_data", None)
    if data is None:
        return "codecarbon: no measurement was recorded.\n"
    energy = energy_text(float(data.energy_consumed or 0.0))
    parts = ", ".join(f"{c.upper()} {energy_text(float(getattr(data, c + '_energy', 0.0) or 0.0))}"
                      for c in ("cpu", "gpu", "ram"))
    intensity = getattr(data, "carbon_intensity", None)
    lines = [
        "codecarbon report",
        f"  emissions: {mass_text(float(data.emissions or 0.0))} CO2eq",
        f"  energy:    {energy} ({parts})",
        f"  duration:  {float(data.duration or 0.0):.1f} s",
    ]
    if intensity is not None:
        source = getattr(data, "intensity_source", "") or "source unknown"
        lines.append(f"  intensity: {float(intensity):.0f} g/kWh ({source})")
    path = csv_path(plan)
    if path is not None:
        lines.append(f"  csv:       {path.resolve()}")
    return "\n".join(lines) + "\n"
