"""`carbonboard --filepath=emissions.csv [--port 8050] [--debug]`: a small dashboard over an emissions CSV.

The summary is computed with the csv module so it can be tested (and reused) without the dashboard's packages;
Dash is imported only when the dashboard is served, with an install hint when it is missing.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "carbonboard needs Dash: pip install 'codecarbon[carbonboard]'"
#: kg CO2eq per mile driven by an average passenger car, and per hour of television (the reference's figures).
KG_PER_CAR_MILE = 0.409
KG_PER_TV_HOUR = 0.097
#: kg CO2eq of an average US household's week, for the "share of a household week" figure.
KG_PER_US_HOUSEHOLD_WEEK = 160.58


@dataclass
class ProjectTotals:
    """Sums over the rows of one project."""

    runs: int = 0
    duration_s: float = 0.0
    energy_kwh: float = 0.0
    emissions_kg: float = 0.0
    water_l: float = 0.0


@dataclass
class Summary:
    """Totals across the file and per project, with everyday equivalents of the emissions."""

    rows: int = 0
    energy_kwh: float = 0.0
    emissions_kg: float = 0.0
    projects: dict[str, ProjectTotals] = field(default_factory=dict)
    skipped_rows: int = 0

    @property
    def car_miles(self) -> float:
        return self.emissions_kg / KG_PER_CAR_MILE

    @property
    def tv_hours(self) -> float:
        return self.emissions_kg / KG_PER_TV_HOUR

    @property
    def household_week_percent(self) -> float:
        return self.emissions_kg / KG_PER_US_HOUSEHOLD_WEEK * 100


def _number(text: str | None) -> float:
    if text is None or not text.strip():
        return 0.0
    return float(text)


def summarize_csv(path: str | Path) -> Summary:
    """Totals of an emissions CSV (one row per run or flush). Rows whose numbers cannot be read are counted
    in ``skipped_rows``, not fatal; a file without the emissions columns raises ValueError."""
    summary = Summary()
    with open(path, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        needed = {"project_name", "emissions", "energy_consumed"}
        if not reader.fieldnames or not needed <= set(reader.fieldnames):
            raise ValueError(f"{path} is not an emissions CSV: it needs the columns {', '.join(sorted(needed))}")
        for row in reader:
            try:
                emissions = _number(row.get("emissions"))
                energy = _number(row.get("energy_consumed"))
                duration = _number(row.get("duration"))
                water = _number(row.get("water_consumed"))
            except ValueError:
                summary.skipped_rows += 1
                continue
            project = summary.projects.setdefault(row.get("project_name") or "", ProjectTotals())
            project.runs += 1
            project.duration_s += duration
            project.energy_kwh += energy
            project.emissions_kg += emissions
            project.water_l += water
            summary.rows += 1
            summary.energy_kwh += energy
            summary.emissions_kg += emissions
    return summary


def build_app(summary: Summary, title: str):  # pragma: no cover - needs Dash, exercised by hand
    """A one-page Dash app: totals, equivalents and the per-project table."""
    from dash import Dash, dash_table, html

    app = Dash(__name__, title="Carbonboard")
    table_rows = [{"project": name, "runs": totals.runs, "duration (s)": round(totals.duration_s, 1),
                   "energy (kWh)": round(totals.energy_kwh, 6), "emissions (kg CO2eq)": round(totals.emissions_kg, 6),
                   "water (L)": round(totals.water_l, 3)} for name, totals in sorted(summary.projects.items())]
    app.layout = html.Div([
        html.H1("Carbonboard"),
        html.P(title),
        html.H2("Totals"),
        html.Ul([
            html.Li(f"Energy consumed: {summary.energy_kwh:.4f} kWh"),
            html.Li(f"Emissions: {summary.emissions_kg:.4f} kg CO2eq"),
        ]),
        html.H2("Exemplary equivalents"),
        html.Ul([
            html.Li(f"{summary.car_miles:.2f} miles driven by car"),
            html.Li(f"{summary.tv_hours:.2f} hours of television"),
            html.Li(f"{summary.household_week_percent:.2f} % of a US household's weekly emissions"),
        ]),
        html.H2("Projects"),
        dash_table.DataTable(data=table_rows, columns=[{"name": key, "id": key} for key in
                                                       (table_rows[0] if table_rows else {"project": ""})]),
    ])
    return app


def viz(filepath: str, port: int = 8050, debug: bool = False) -> None:  # pragma: no cover - serves forever
    """Serve the dashboard for ``filepath`` (the name older scripts import)."""
    summary = summarize_csv(filepath)
    build_app(summary, str(Path(filepath).resolve())).run(port=port, debug=debug)


def _flag(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """The `carbonboard` script; returns the exit status."""
    parser = argparse.ArgumentParser(prog="carbonboard", description="Dashboard over an emissions CSV file.")
    parser.add_argument("--filepath", required=True, help="the emissions CSV written by the tracker")
    parser.add_argument("--port", type=int, default=8050, help="port to serve on (default 8050)")
    parser.add_argument("--debug", nargs="?", const=True, default=False, type=_flag,
                        help="Dash debug mode (--debug or --debug=True)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        import dash  # noqa: F401
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return 1
    if not Path(args.filepath).is_file():
        print(f"carbonboard: no such file: {args.filepath}", file=sys.stderr)
        return 1
    try:
        viz(args.filepath, port=args.port, debug=args.debug)
    except ValueError as problem:
        print(f"carbonboard: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
