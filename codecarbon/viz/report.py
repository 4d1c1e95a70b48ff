"""`codecarbon report`: what emissions CSV files say, for a terminal, a script, a paper or a browser.

Formats: ``text`` (aligned tables by project / experiment / run, the job totals, one sentence for a paper),
``json`` (contract #2: ``{"runs": [...], "jobs": [...]}``), ``csv`` (one row per run), ``markdown`` and a
self-contained ``html`` page with the dashboard's charts that opens offline (plotly.js inlined from the plotly
package). Everything comes from `reading.read_runs`, so a run is counted once however often it was flushed.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codecarbon.viz.reading import ENERGY_KEYS, JOB_COLUMNS, Reading, Run, jobs, summed

#: Columns of ``--format csv`` (and of the markdown table), per run.
RUN_COLUMNS = ("project_name", "experiment", "run_id", "timestamp", "duration", "cpu_energy", "gpu_energy",
               "ram_energy", "energy_consumed", "emissions", "carbon_intensity", "intensity_source",
               "country_iso_code", "region", "cloud_provider", "cloud_region", "node_name", "job_id", "tasks")


# ------------------------------------------------------------------------------------------------ units
def _scaled(value: float, units: tuple[str, str, str, str], zero: str) -> str:
    """``value`` in the largest of four units, each 1000 times the next (e.g. MWh, kWh, Wh, mWh)."""
    for factor, unit in zip((1e-3, 1.0, 1e3), units[:3], strict=True):
        if value * factor >= 1:
            return f"{value * factor:.3g} {unit}"
    return f"{value * 1e6:.3g} {units[3]}" if value > 0 else zero


def energy_text(kwh: float) -> str:
    """kWh with a readable unit: 12.3 Wh, 4.56 kWh, 7.8 MWh."""
    return _scaled(kwh, ("MWh", "kWh", "Wh", "mWh"), "0 Wh")


def mass_text(kg: float) -> str:
    """kg CO2eq with a readable unit: 3.2 mg, 4.5 g, 1.2 kg, 3.4 t."""
    return _scaled(kg, ("t", "kg", "g", "mg"), "0 g")


def duration_text(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def intensity_of(energy_kwh: float, emissions_kg: float) -> float | None:
    return emissions_kg * 1000 / energy_kwh if energy_kwh > 0 else None


# -------------------------------------------------------------------------------------------- the sentence
def _source_words(source: str) -> str:
    """'owid-energy 2023' -> 'Our World in Data energy dataset, 2023' (the table's own title, shortened)."""
    key, _, year = source.strip().partition(" ")
    title = key
    try:
        from codecarbon.intensity import tables

        record = tables.sources().get(key)
        if record:
            title = str(record.get("title") or key)
            for stop in (" (", ", ", ": ", "; ", " weighted by"):
                title = title.split(stop)[0]
    except Exception:  # the sentence never fails for want of a table
        pass
    if key == "forced":
        title = "an intensity set by the user"
    elif key == "electricitymaps":
        title = "Electricity Maps (live)"
    return f"{title}, {year}" if year and year not in title else title


def paper_sentence(runs: Sequence[Run], activity: str = "Training") -> str:
    """One plain sentence for a paper's appendix: energy, emissions, the intensity and its source."""
    if not runs:
        return "No run was recorded."
    total = summed(runs)
    energy, emissions = total["energy_consumed"], total["emissions"]
    intensity = intensity_of(energy, emissions)
    sources = sorted({str(r.values.get("intensity_source") or "").strip() for r in runs} - {""})
    if not sources:
        where = "intensity source not recorded"
    else:
        named = [_source_words(s) for s in sources[:4]]
        where = "; ".join(named) + (f" and {len(sources) - 4} more sources" if len(sources) > 4 else "")
    average = " on average" if len(sources) > 1 or len({r.intensity_g_per_kwh for r in runs}) > 1 else ""
    grams = f"{intensity:.0f} g/kWh" if intensity is not None else "an unknown intensity"
    count = f" over {len(runs)} runs" if len(runs) > 1 else ""
    return (f"{activity} used {_kwh_words(energy)} of electricity{count}, about {_mass_words(emissions)} CO2eq "
            f"at {grams}{average} ({where}).")


def _kwh_words(kwh: float) -> str:
    return f"{kwh:.3g} kWh" if kwh >= 0.01 else energy_text(kwh)


def _mass_words(kg: float) -> str:
    return f"{kg:.3g} kg" if kg >= 0.1 else mass_text(kg)


# -------------------------------------------------------------------------------------------------- JSON
def as_json(reading: Reading) -> dict[str, Any]:
    """Contract #2: every run (its final row, typed) and the job totals by node."""
    return {
        "runs": [run.to_dict() for run in reading.runs],
        "jobs": jobs(reading.runs),
        "files": reading.files,
        "skipped_lines": reading.skipped_lines,
        "sentence": paper_sentence(reading.runs),
    }


# ---------------------------------------------------------------------------------------------- CSV / MD
def _run_cells(run: Run) -> dict[str, Any]:
    cells = {name: run.values.get(name, "") for name in RUN_COLUMNS}
    cells["experiment"] = run.experiment
    cells["carbon_intensity"] = run.intensity_g_per_kwh
    cells["tasks"] = len(run.tasks)
    return cells


def as_csv(reading: Reading) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RUN_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for run in reading.runs:
        writer.writerow({k: ("" if v is None else v) for k, v in _run_cells(run).items()})
    return buffer.getvalue()


def as_markdown(reading: Reading) -> str:
    head = ("project", "experiment", "run", "end", "duration", "CPU", "GPU", "RAM", "energy", "CO2eq", "g/kWh",
            "source")
    align = ["---" if i < 4 or i == len(head) - 1 else "---:" for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for row in _table_rows(reading.runs):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    lines += ["", paper_sentence(reading.runs)]
    return "\n".join(lines) + "\n"


def _table_rows(runs: Sequence[Run]) -> list[list[str]]:
    rows = []
    for run in runs:
        v = run.values
        intensity = run.intensity_g_per_kwh
        rows.append([str(v.get("project_name") or ""), run.experiment[:36], str(v.get("run_id", ""))[:8],
                     str(v.get("timestamp", "")), duration_text(v["duration"]), energy_text(v["cpu_energy"]),
                     energy_text(v["gpu_energy"]), energy_text(v["ram_energy"]), energy_text(v["energy_consumed"]),
                     mass_text(v["emissions"]), f"{intensity:.0f}" if intensity is not None else "?",
                     str(v.get("intensity_source") or "-")])
    return rows


# -------------------------------------------------------------------------------------------------- text
def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]], right_from: int, indent: str) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [str(cell).rjust(w) if i >= right_from else str(cell).ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        out.append(indent + "  ".join(cells).rstrip())
    return out


def as_text(reading: Reading, max_runs: int = 20) -> str:
    """The terminal summary: per project and experiment, a table of runs (the latest ``max_runs``) and totals."""
    runs = reading.runs
    lines: list[str] = []
    files = ", ".join(reading.files) if len(reading.files) <= 3 else f"{len(reading.files)} files"
    lines.append(f"{len(runs)} run(s) from {files or 'no file'}"
                 + (f"; {reading.skipped_lines} malformed line(s) skipped" if reading.skipped_lines else ""))
    if reading.orphan_tasks:
        lines.append(f"{len(reading.orphan_tasks)} task row(s) belong to runs not in these files (not counted)")
    if not runs:
        return "\n".join(lines) + "\n"
    header = ("run", "end", "duration", "CPU", "GPU", "RAM", "energy", "CO2eq", "g/kWh", "intensity source")
    projects: dict[str, dict[str, list[Run]]] = {}
    for run in runs:
        projects.setdefault(str(run.values.get("project_name") or "(no project)"), {}) \
            .setdefault(run.experiment or "(no experiment)", []).append(run)
    for project, experiments in projects.items():
        project_runs = [r for members in experiments.values() for r in members]
        total = summed(project_runs)
        lines += ["", f"project {project}: {len(project_runs)} run(s), {energy_text(total['energy_consumed'])}, "
                      f"{mass_text(total['emissions'])} CO2eq"]
        for experiment, members in experiments.items():
            lines.append(f"  experiment {experiment}")
            shown = sorted(members, key=lambda r: str(r.values.get("timestamp", "")))[-max_runs:]
            rows = [row[2:] for row in _table_rows(shown)]
            lines += _aligned(header, rows, right_from=2, indent="    ")
            if len(members) > len(shown):
                lines.append(f"    ... {len(members) - len(shown)} earlier run(s) not shown")
            for run in shown:
                for task in run.tasks:
                    t = task.values
                    lines.append(f"      task {task.task_name} (run {str(run.values.get('run_id'))[:8]}): "
                                 f"{duration_text(t['duration'])}, {energy_text(t['energy_consumed'])}, "
                                 f"{mass_text(t['emissions'])} CO2eq")
    job_totals = jobs(runs)
    for job in job_totals:
        lines += ["", f"job {job['job_id']} ({job['scheduler'] or 'scheduler unknown'}): {job['runs']} run(s) on "
                      f"{len(job['nodes'])} node(s)"]
        header_job = ("node", "duration", "CPU", "GPU", "RAM", "energy", "CO2eq", "g/kWh")
        rows = [[node or "(unknown)", *_total_cells(t)] for node, t in job["nodes"].items()]
        rows.append(["total", *_total_cells(job["total"])])
        lines += _aligned(header_job, rows, right_from=1, indent="  ")
    overall = summed(runs)
    lines += ["", f"Total: {energy_text(overall['energy_consumed'])} (CPU {energy_text(overall['cpu_energy'])}, "
                  f"GPU {energy_text(overall['gpu_energy'])}, RAM {energy_text(overall['ram_energy'])}), "
                  f"{mass_text(overall['emissions'])} CO2eq over {duration_text(overall['duration'])} of runs",
              "", paper_sentence(runs)]
    return "\n".join(lines) + "\n"


def _total_cells(total: dict[str, float]) -> list[str]:
    intensity = intensity_of(total["energy_consumed"], total["emissions"])
    return [duration_text(total["duration"]), energy_text(total["cpu_energy"]), energy_text(total["gpu_energy"]),
            energy_text(total["ram_energy"]), energy_text(total["energy_consumed"]), mass_text(total["emissions"]),
            f"{intensity:.0f}" if intensity is not None else "?"]


# -------------------------------------------------------------------------------------------------- HTML
def plotly_js() -> str:
    """The plotly.js bundle shipped inside the plotly package (found without importing plotly)."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        from codecarbon.support.errors import MissingDependencyError

        raise MissingDependencyError("the HTML report inlines plotly.js from the plotly package: "
                                     "pip install 'codecarbon[carbonboard]'")
    path = Path(list(spec.submodule_search_locations)[0]) / "package_data" / "plotly.min.js"
    return path.read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def as_html(reading: Reading, title: str = "CodeCarbon report") -> str:
    """One self-contained page: summary, equivalents, every chart, the run table. No network needed."""
    from codecarbon.viz import charts

    runs = reading.runs
    figures = charts.all_figures(runs)
    total = summed(runs)
    cards = [("energy", energy_text(total["energy_consumed"])), ("emissions", mass_text(total["emissions"]) +
                                                                 " CO2eq"), ("runs", str(len(runs)))]
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
        ".cards{display:flex;gap:16px}.card{border:1px solid #ddd;border-radius:8px;padding:12px 18px}"
        ".card b{display:block;font-size:1.4em}table{border-collapse:collapse;font-size:.9em}"
        "td,th{border-bottom:1px solid #eee;padding:4px 8px;text-align:right}td:first-child,th:first-child"
        "{text-align:left}.chart{min-height:380px}small{color:#666}</style>",
        f"<script>{plotly_js()}</script>",
        "<script>window.PlotlyGeoAssets=window.PlotlyGeoAssets||{topojson:{}};"
        f"window.PlotlyGeoAssets.topojson[{json.dumps(charts.WORLD_MAP_NAME)}]={charts.world_topojson_text()};"
        "</script>",
        "</head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p id='sentence'>{esc(paper_sentence(runs))}</p>",
        "<div class='cards'>" + "".join(f"<div class='card' id='total-{k}'>{esc(k)}<b>{esc(v)}</b></div>"
                                        for k, v in cards) + "</div>",
        "<h2>Equivalents</h2><ul id='equivalents'>",
    ]
    for item in charts.equivalents(total["emissions"]):
        parts.append(f"<li>{item['value']:.3g} {esc(item['label'])} <small>({esc(item['source'])})</small></li>")
    parts.append("</ul>")
    for chart_id, figure in figures.items():
        parts.append(f"<h2>{esc(figure['layout']['title']['text'])}</h2>"
                     f"<p><small>{esc(charts.CHART_DESCRIPTIONS[chart_id])}</small></p>"
                     f"<div class='chart' id='{chart_id}'></div>")
    parts.append("<h2>Runs</h2><table id='runs'><tr>" + "".join(
        f"<th>{h}</th>" for h in ("project", "experiment", "run", "end", "duration", "CPU", "GPU", "RAM", "energy",
                                  "CO2eq", "g/kWh", "source")) + "</tr>")
    for row in _table_rows(runs[-500:]):
        parts.append("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>")
    parts.append("</table>")
    if len(runs) > 500:
        parts.append(f"<p>Showing the last 500 of {len(runs)} runs.</p>")
    parts.append("<p><small>Country shapes: Natural Earth (public domain) via world-atlas (ISC). Intensities: "
                 "the bundled table of this package.</small></p>")
    parts.append(f"<script>var FIGURES={_script_json(figures)};"
                 "var drawn=0;for(var id in FIGURES){Plotly.newPlot(id,FIGURES[id].data,FIGURES[id].layout,"
                 "{responsive:true,displaylogo:false}).then(function(){drawn+=1;"
                 "if(drawn===Object.keys(FIGURES).length){document.body.setAttribute('data-charts-drawn',drawn);"
                 "document.body.dataset.chartsDrawnMs=Math.round(performance.now());}"
                 "});}</script>")
    parts.append("</body></html>")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------- dispatch
FORMATS = ("text", "json", "csv", "markdown", "html")


def render(reading: Reading, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(as_json(reading), default=str) + "\n"  # no indent: the C encoder, 3x faster
    if fmt == "csv":
        return as_csv(reading)
    if fmt == "markdown":
        return as_markdown(reading)
    if fmt == "html":
        return as_html(reading)
    return as_text(reading)


__all__ = ["ENERGY_KEYS", "FORMATS", "JOB_COLUMNS", "as_html", "as_json", "as_text", "paper_sentence", "render"]
