"""Jupyter / IPython: ``%load_ext codecarbon`` then ``%%codecarbon [options]`` measures one cell.

The magic starts a tracker, runs the cell through IPython (so its output, its errors and its last value behave
as usual), stops the tracker and shows one compact summary under the cell (the HTML table of `EmissionsData`).
Options follow the tracker's parameters, e.g. ``%%codecarbon --country-iso-code FRA`` measures offline.
Loaded only by `codecarbon.load_ipython_extension`, so ``import codecarbon`` stays cheap.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

#: The magic's log level when neither its line nor any configuration layer (config files, CODECARBON_LOG_LEVEL)
#: sets one: a measured cell shows its own output, the summary and warnings, not the tracker's info lines.
QUIET_LOG_LEVEL = "warning"


def _configured(name: str) -> bool:
    """Whether a configuration layer above the defaults sets ``name`` (a broken config is left to the tracker,
    which reports it naming the parameter)."""
    from codecarbon.core.config import load_settings
    from codecarbon.support.errors import CodeCarbonError

    try:
        return load_settings({}, offline=True).is_set(name)
    except (CodeCarbonError, ValueError):
        return False


class MagicUsageError(ValueError):
    """Bad options on the %%codecarbon line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="%%codecarbon", add_help=False, exit_on_error=False)
    parser.add_argument("--country-iso-code", metavar="ISO3",
                        help="measure offline with this country's intensity (ISO alpha-3)")
    parser.add_argument("--region", metavar="R")
    parser.add_argument("--cloud-provider", metavar="P")
    parser.add_argument("--cloud-region", metavar="R")
    parser.add_argument("--project-name", metavar="P")
    parser.add_argument("--experiment-name", metavar="E")
    parser.add_argument("--measure-power-secs", metavar="S", type=float)
    parser.add_argument("--output-dir", metavar="D")
    parser.add_argument("--tracking-mode", choices=("machine", "process"))
    parser.add_argument("--no-save", action="store_true", help="write no CSV row")
    parser.add_argument("--var", metavar="NAME", help="also store the cell's EmissionsData in this variable")
    parser.add_argument("--log-level", metavar="LEVEL",
                        help="the tracker's log level (default: the config's, else warning)")
    parser.add_argument("--quiet", action="store_true", help="show no summary")
    return parser


def usage() -> str:
    """The magic's usage line, made from its parser (so it always lists every option)."""
    return " ".join(_parser().format_usage().split()).removeprefix("usage: ")


USAGE = usage()


def parse_line(line: str) -> tuple[bool, dict[str, Any], argparse.Namespace]:
    """(offline, tracker arguments, parsed options) of a magic line; MagicUsageError when it is wrong."""
    try:
        options, unknown = _parser().parse_known_args(shlex.split(line))
    except (argparse.ArgumentError, ValueError) as error:
        raise MagicUsageError(f"{error}\nusage: {USAGE}") from None
    if unknown:
        raise MagicUsageError(f"unknown option(s) {' '.join(unknown)}\nusage: {USAGE}")
    arguments: dict[str, Any] = {}
    for name in ("region", "cloud_provider", "cloud_region", "project_name", "experiment_name",
                 "measure_power_secs", "output_dir", "tracking_mode", "country_iso_code", "log_level"):
        value = getattr(options, name)
        if value is not None:
            arguments[name] = value
    if options.no_save:
        arguments["output_methods"] = []
    offline = bool(options.country_iso_code or options.cloud_provider)
    return offline, arguments, options


def run_cell_measured(shell: Any, line: str, cell: str) -> Any:
    """Measure one cell: tracker started, the cell run by the shell, tracker stopped (its row written), summary
    shown; then, when the cell raised, the same exception again, so the cell fails as it would without the
    magic (Run All stops, nbclient and papermill report the error)."""
    __tracebackhide__ = True  # noqa: F841 - IPython leaves this frame out of the traceback it shows
    from IPython.display import display

    from codecarbon.emissions_tracker import EmissionsTracker, OfflineEmissionsTracker

    try:
        offline, arguments, options = parse_line(line)
    except MagicUsageError as problem:
        print(f"%%codecarbon: {problem}")
        return None
    if "log_level" not in arguments and not _configured("log_level"):
        arguments["log_level"] = QUIET_LOG_LEVEL
    factory = OfflineEmissionsTracker if offline else EmissionsTracker
    tracker = factory(**arguments)
    tracker.start()
    try:
        result = _run_quietly_on_error(shell, cell)
    finally:
        tracker.stop()
    data = tracker.final_emissions_data
    if options.var and data is not None:
        shell.user_ns[options.var] = data
    if not options.quiet and data is not None:
        display(data)  # HTML table in a notebook, the plain-text summary elsewhere
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        raise error
    return None


def _run_quietly_on_error(shell: Any, cell: str) -> Any:
    """``shell.run_cell(cell)`` without showing the traceback of an exception the cell raises: the magic raises
    it again once the row is written, and IPython shows it then, once, ending at the cell's own line."""
    own = shell.__dict__.get("showtraceback")
    shell.showtraceback = lambda *args, **kwargs: None
    try:
        return shell.run_cell(cell)
    finally:
        if own is None:
            del shell.showtraceback
        else:
            shell.showtraceback = own


def load(ipython: Any) -> None:
    """Register the %%codecarbon cell magic on an IPython shell."""

    def codecarbon(line: str, cell: str) -> Any:
        __tracebackhide__ = True  # noqa: F841
        return run_cell_measured(ipython, line, cell)

    codecarbon.__doc__ = f"Measure the energy and emissions of this cell.\n\nusage: {USAGE}"
    ipython.register_magic_function(codecarbon, magic_kind="cell", magic_name="codecarbon")
