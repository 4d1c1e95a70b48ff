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

USAGE = "%%codecarbon [--country-iso-code ISO3 [--region R]] [--project-name P] [--measure-power-secs S] " \
        "[--output-dir D] [--no-save] [--tracking-mode machine|process] [--var NAME] [--quiet]"


class MagicUsageError(ValueError):
    """Bad options on the %%codecarbon line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="%%codecarbon", add_help=False, exit_on_error=False)
    parser.add_argument("--country-iso-code", help="measure offline with this country's intensity (ISO alpha-3)")
    parser.add_argument("--region")
    parser.add_argument("--cloud-provider")
    parser.add_argument("--cloud-region")
    parser.add_argument("--project-name")
    parser.add_argument("--experiment-name")
    parser.add_argument("--measure-power-secs", type=float)
    parser.add_argument("--output-dir")
    parser.add_argument("--tracking-mode", choices=("machine", "process"))
    parser.add_argument("--no-save", action="store_true", help="write no CSV row")
    parser.add_argument("--var", help="also store the cell's EmissionsData in this variable")
    parser.add_argument("--quiet", action="store_true", help="show no summary")
    return parser


def parse_line(line: str) -> tuple[bool, dict[str, Any], argparse.Namespace]:
    """(offline, tracker arguments, parsed options) of a magic line; MagicUsageError when it is wrong."""
    try:
        options, unknown = _parser().parse_known_args(shlex.split(line))
    except (argparse.ArgumentError, ValueError) as error:
        raise MagicUsageError(f"{error}\nusage: {USAGE}") from None
    if unknown:
        raise MagicUsageError(f"unknown option(s) {' '.join(unknown)}\nusage: {USAGE}")
    arguments: dict[str, Any] = {"log_level": "warning"}
    for name in ("region", "cloud_provider", "cloud_region", "project_name", "experiment_name",
                 "measure_power_secs", "output_dir", "tracking_mode", "country_iso_code"):
        value = getattr(options, name)
        if value is not None:
            arguments[name] = value
    if options.no_save:
        arguments["output_methods"] = []
    offline = bool(options.country_iso_code or options.cloud_provider)
    return offline, arguments, options


def run_cell_measured(shell: Any, line: str, cell: str) -> Any:
    """Measure one cell: tracker started, the cell run by the shell, tracker stopped, summary shown."""
    from IPython.display import display

    from codecarbon.emissions_tracker import EmissionsTracker, OfflineEmissionsTracker

    try:
        offline, arguments, options = parse_line(line)
    except MagicUsageError as problem:
        print(f"%%codecarbon: {problem}")
        return None
    factory = OfflineEmissionsTracker if offline else EmissionsTracker
    tracker = factory(**arguments)
    tracker.start()
    try:
        result = shell.run_cell(cell)
    finally:
        tracker.stop()
    data = tracker.final_emissions_data
    if options.var and data is not None:
        shell.user_ns[options.var] = data
    if not options.quiet and data is not None:
        display(data)  # HTML table in a notebook, the plain-text summary elsewhere
    del result  # the cell's own output and value were already shown by run_cell
    return None


def load(ipython: Any) -> None:
    """Register the %%codecarbon cell magic on an IPython shell."""

    def codecarbon(line: str, cell: str) -> Any:
        return run_cell_measured(ipython, line, cell)

    codecarbon.__doc__ = f"Measure the energy and emissions of this cell.\n\nusage: {USAGE}"
    ipython.register_magic_function(codecarbon, magic_kind="cell", magic_name="codecarbon")
