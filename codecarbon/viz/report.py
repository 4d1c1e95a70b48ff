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
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codecarbon.viz.reading import ENERGY_KEYS, JOB_COLUMNS, Reading, Run, jobs, summed
from codecarbon.viz.text import (
    distance_text,
    duration_text,
    energy_text,
    markdown_safe,
    mass_text,
    plain,
    spreadsheet_safe,
    terminal_safe,
)

#: Columns of ``--format csv`` (and of the markdown table), per run.
RUN_COLUMNS = ("project_name", "experiment", "run_id", "timestamp", "duration", "cpu_energy", "gpu_energy",
               "ram_energy", "energy_consumed", "emissions", "carbon_intensity", "intensity_source",
               "country_iso_code", "region", "cloud_provider", "cloud_region", "node_name", "job_id", "tasks")


def intensity_of(energy_kwh: float, emissions_kg: float) -> float | None:
    return emissions_kg * 1000 / energy_kwh if energy_kwh > 0 else None


def _intensity_cell(value: float | None) -> str:
    return f"{value:.0f}" if value is not None and math.isfinite(value) else "?"


def equivalent_text(item: dict[str, Any]) -> str:
    """'3.26 cm driven by an average petrol car', '0.000642 smartphone charges': no e-notation."""
    if item["unit"] == "km":
        return f"{distance_text(item['value'])} {item['label']}"
    return f"{plain(item['value'])} {item['label']}"


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


def _subject(runs: Sequence[Run]) -> str:
    """Who used the energy: the projects by name (in the order they first appear), at most four named."""
    names = [name for name in dict.fromkeys(str(r.values.get("project_name") or "").strip() for r in runs) if name]
    if not names:
        return "The runs" if len(runs) > 1 else "The run"
    if len(names) == 1:
        return f"Project {names[0]}"
    shown = names[:4] if len(names) <= 4 else names[:3]
    rest = len(names) - len(shown)
    listed = ", ".join(shown[:-1]) + f" and {shown[-1]}" if not rest else ", ".join(shown) + f" and {rest} more"
    return f"Projects {listed}"


def paper_sentence(runs: Sequence[Run], activity: str | None = None) -> str:
    """One plain sentence for a paper's appendix: who (the projects, or ``activity`` when given), energy,
    emissions, the intensity and its source."""
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
    grams = f"{intensity:.0f} g/kWh" if intensity is not None and math.isfinite(intensity) else \
        "an unknown intensity"
    count = f" over {len(runs)} runs" if len(runs) > 1 else ""
    subject = activity.strip() if activity and activity.strip() else _subject(runs)
    return (f"{subject} used {_kwh_words(energy)} of electricity{count}, about {_mass_words(emissions)} CO2eq "
            f"at {grams}{average} ({where}).")


def _kwh_words(kwh: float) -> str:
    return f"{plain(kwh)} kWh" if 0.01 <= kwh < 1000 else energy_text(kwh)


def _mass_words(kg: float) -> str:
    return f"{plain(kg)} kg" if 0.1 <= kg < 1000 else mass_text(kg)


# -------------------------------------------------------------------------------------------------- JSON
def finite(value: Any) -> Any:
    """``value`` with every infinite or NaN float replaced by None (JSON has no Infinity; a reader of ours
    that met one would otherwise write text that strict JSON parsers refuse)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def as_json(reading: Reading) -> dict[str, Any]:
    """Contract #2: every run (its final row, typed) and the job totals by node; only finite numbers (an
    intensity that cannot be computed, or any other non-finite figure, is null)."""
    return finite({
        "runs": [run.to_dict() for run in reading.runs],
        "jobs": jobs(reading.runs),
        "files": reading.files,
        "skipped_lines": reading.skipped_lines,
        "negative_rows": reading.negative_rows,
        "partial_lines": reading.partial_lines,
        "sentence": paper_sentence(reading.runs),
    })


# ---------------------------------------------------------------------------------------------- CSV / MD
def _run_cells(run: Run) -> dict[str, Any]:
    cells = {name: run.values.get(name, "") for name in RUN_COLUMNS}
    cells["experiment"] = run.experiment
    cells["carbon_intensity"] = run.intensity_g_per_kwh
    cells["tasks"] = len(run.tasks)
    return cells


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return spreadsheet_safe(value) if isinstance(value, str) else value


def as_csv(reading: Reading) -> str:
    """One row per run; text cells that a spreadsheet would run as a formula start with an apostrophe."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RUN_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for run in reading.runs:
        writer.writerow({k: _csv_cell(v) for k, v in _run_cells(run).items()})
    return buffer.getvalue()


TABLE_HEAD = ("project", "experiment", "run", "end", "duration", "CPU", "GPU", "RAM", "energy", "CO2eq", "g/kWh",
              "source")


def as_markdown(reading: Reading) -> str:
    """A table (every cell escaped: no HTML of the file's reaches the rendered page) and the sentence."""
    align = ["---" if i < 4 or i == len(TABLE_HEAD) - 1 else "---:" for i in range(len(TABLE_HEAD))]
    lines = ["| " + " | ".join(TABLE_HEAD) + " |", "|" + "|".join(align) + "|"]
    for row in _table_rows(reading.runs):
        lines.append("| " + " | ".join(markdown_safe(cell) for cell in row) + " |")
    lines += ["", markdown_safe(paper_sentence(reading.runs))]
    notes = _reading_notes(reading)
    if notes:
        lines += [""] + [markdown_safe(note) for note in notes]
    return "\n".join(lines) + "\n"


def _experiment_cell(run: Run) -> str:
    """The experiment's name, or its id shortened like a run's (a full UUID makes the table unreadable)."""
    return run.experiment_name[:36] if run.experiment_name else run.experiment[:8]


def _table_rows(runs: Sequence[Run]) -> list[list[str]]:
    """The cells of each run as shown to people (raw text from the file: each format escapes it its way)."""
    rows = []
    for run in runs:
        v = run.values
        rows.append([str(v.get("project_name") or ""), _experiment_cell(run), str(v.get("run_id", ""))[:8],
                     str(v.get("timestamp", "")).replace("T", " ", 1), duration_text(v["duration"]),
                     energy_text(v["cpu_energy"]), energy_text(v["gpu_energy"]), energy_text(v["ram_energy"]),
                     energy_text(v["energy_consumed"]), mass_text(v["emissions"]),
                     _intensity_cell(run.intensity_g_per_kwh),
                     str(v.get("intensity_source") or "-")])
    return rows


def _reading_notes(reading: Reading) -> list[str]:
    """What was not counted and why: said in every format, never silently dropped."""
    notes = []
    if reading.skipped_lines:
        notes.append(f"{reading.skipped_lines} malformed line(s) skipped")
    if reading.negative_rows:
        notes.append(f"{reading.negative_rows} row(s) with a negative energy, emissions, duration or water figure "
                     "left out (invalid)")
    if reading.partial_lines:
        notes.append(f"{reading.partial_lines} file(s) still being written: their unfinished last line not read")
    if reading.orphan_tasks:
        notes.append(f"{len(reading.orphan_tasks)} task row(s) belong to runs not in these files (not counted)")
    return notes


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
    """The terminal summary: per project and experiment, a table of runs (the latest ``max_runs``) and totals.

    Every piece of text that came from a file goes through `terminal_safe`: a CSV cannot send escape sequences
    to the terminal that prints the report."""
    t = terminal_safe
    runs = reading.runs
    lines: list[str] = []
    files = ", ".join(reading.files) if len(reading.files) <= 3 else f"{len(reading.files)} files"
    lines.append(t(f"{len(runs)} run(s) from {files or 'no file'}"))
    lines += _reading_notes(reading)
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
        lines += ["", f"project {t(project)}: {len(project_runs)} run(s), {energy_text(total['energy_consumed'])}, "
                      f"{mass_text(total['emissions'])} CO2eq"]
        for experiment, members in experiments.items():
            lines.append(f"  experiment {t(experiment)}")
            shown = sorted(members, key=lambda r: str(r.values.get("timestamp", "")))[-max_runs:]
            rows = [[t(cell) for cell in row[2:]] for row in _table_rows(shown)]
            lines += _aligned(header, rows, right_from=2, indent="    ")
            if len(members) > len(shown):
                lines.append(f"    ... {len(members) - len(shown)} earlier run(s) not shown")
            for run in shown:
                for task in run.tasks:
                    v = task.values
                    lines.append(f"      task {t(task.task_name)} (run {t(str(run.values.get('run_id'))[:8])}): "
                                 f"{duration_text(v['duration'])}, {energy_text(v['energy_consumed'])}, "
                                 f"{mass_text(v['emissions'])} CO2eq")
    for job in jobs(runs):
        lines += ["", f"job {t(job['job_id'])} ({t(job['scheduler'] or 'scheduler unknown')}): {job['runs']} run(s) "
                      f"on {len(job['nodes'])} node(s)"]
        header_job = ("node", "wall time", "CPU", "GPU", "RAM", "energy", "CO2eq", "g/kWh")
        rows = [[t(node or "(unknown)"), *_total_cells(total)] for node, total in job["nodes"].items()]
        rows.append(["total", *_total_cells(job["total"])])
        lines += _aligned(header_job, rows, right_from=1, indent="  ")
    overall = summed(runs)
    lines += ["", f"Total: {energy_text(overall['energy_consumed'])} (CPU {energy_text(overall['cpu_energy'])}, "
                  f"GPU {energy_text(overall['gpu_energy'])}, RAM {energy_text(overall['ram_energy'])}), "
                  f"{mass_text(overall['emissions'])} CO2eq over {duration_text(overall['duration'])} of runs",
              "", t(paper_sentence(runs))]
    return "\n".join(lines) + "\n"


def _total_cells(total: dict[str, float]) -> list[str]:
    intensity = intensity_of(total["energy_consumed"], total["emissions"])
    return [duration_text(total["duration"]), energy_text(total["cpu_energy"]), energy_text(total["gpu_energy"]),
            energy_text(total["ram_energy"]), energy_text(total["energy_consumed"]), mass_text(total["emissions"]),
            _intensity_cell(intensity)]


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


#: Characters written as JSON escapes inside <script>: with them escaped, no string of the data can end the
#: element (``</script>``), open an HTML comment that swallows it (``<!--<script>``), or end a JS line.
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: Any) -> str:
    """JSON that is inert inside an HTML <script> element, whatever text the emissions files held."""
    text = json.dumps(finite(value), separators=(",", ":"), allow_nan=False)
    for char, escape in _SCRIPT_ESCAPES.items():
        text = text.replace(char, escape)
    return text


PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}"
    ".cards{display:flex;gap:16px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:8px;padding:12px 18px}"
    ".card b{display:block;font-size:1.4em}.chart{min-height:380px}small{color:#666}"
    "#runs{border-collapse:collapse;font-size:.88em;width:100%}"
    "#runs th{background:#f0f0f0;position:sticky;top:0;font-weight:600;border-bottom:2px solid #ccc}"
    "#runs td,#runs th{padding:5px 6px;text-align:right;white-space:nowrap;border-bottom:1px solid #e6e6e6}"
    "#runs td:last-child{white-space:normal;min-width:9em}"
    "#runs td:nth-child(-n+4),#runs th:nth-child(-n+4),#runs td:last-child,#runs th:last-child{text-align:left}"
    "#runs td:nth-child(n+5):not(:last-child){font-variant-numeric:tabular-nums}"
    "#runs tr:nth-child(even) td{background:#fafafa}#runs tr:hover td{background:#eef5ff}"
    ".table-wrap{overflow-x:auto}.notes{color:#8a4b00}"
)


def as_html(reading: Reading, title: str = "CodeCarbon report") -> str:
    """One self-contained page: summary, equivalents, every chart, the run table. No network needed.

    Text from the files is HTML-escaped where it is markup and JSON-escaped (`script_json`) where it is data
    for the charts, so a project named ``<!--<script>`` is shown as such and every chart is still drawn."""
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
        f"<style>{PAGE_STYLE}</style>",
        f"<script>{plotly_js()}</script>",
        "<script>window.PlotlyGeoAssets=window.PlotlyGeoAssets||{topojson:{}};"
        f"window.PlotlyGeoAssets.topojson[{json.dumps(charts.WORLD_MAP_NAME)}]={charts.world_topojson_text()};"
        "</script>",
        "</head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p id='sentence'>{esc(paper_sentence(runs))}</p>",
        "<div class='cards'>" + "".join(f"<div class='card' id='total-{k}'>{esc(k)}<b>{esc(v)}</b></div>"
                                        for k, v in cards) + "</div>",
    ]
    notes = _reading_notes(reading)
    if notes:
        parts.append("<ul class='notes' id='notes'>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    parts.append("<h2>Equivalents</h2><ul id='equivalents'>")
    for item in charts.equivalents(total["emissions"]):
        parts.append(f"<li>{esc(equivalent_text(item))} <small>({esc(item['source'])})</small></li>")
    parts.append("</ul>")
    for chart_id, figure in figures.items():
        parts.append(f"<h2>{esc(figure['layout']['title']['text'])}</h2>"
                     f"<p><small>{esc(charts.CHART_DESCRIPTIONS[chart_id])}</small></p>"
                     f"<div class='chart' id='{chart_id}'></div>")
    shown = runs[-500:]
    parts.append("<h2>Runs</h2><div class='table-wrap'><table id='runs'><thead><tr>"
                 + "".join(f"<th>{h}</th>" for h in TABLE_HEAD) + "</tr></thead><tbody>")
    for run, row in zip(shown, _table_rows(shown), strict=True):
        full = {1: run.experiment, 2: str(run.values.get("run_id", ""))}  # the shortened ids, whole on hover
        parts.append("<tr>" + "".join(
            f"<td title='{esc(full[i])}'>{esc(cell)}</td>" if i in full else f"<td>{esc(cell)}</td>"
            for i, cell in enumerate(row)) + "</tr>")
    parts.append("</tbody></table></div>")
    if len(runs) > len(shown):
        parts.append(f"<p>Showing the last {len(shown)} of {len(runs)} runs.</p>")
    parts.append("<p><small>Country shapes: Natural Earth (public domain) via world-atlas (ISC). Intensities: "
                 "the bundled table of this package.</small></p>")
    parts.append(f"<script>var FIGURES={script_json(figures)};"
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
    if fmt == "json":  # no indent: the C encoder, 3x faster; allow_nan=False: strict JSON or an error, never Infinity
        return json.dumps(as_json(reading), default=str, allow_nan=False) + "\n"
    if fmt == "csv":
        return as_csv(reading)
    if fmt == "markdown":
        return as_markdown(reading)
    if fmt == "html":
        return as_html(reading)
    return as_text(reading)


__all__ = ["ENERGY_KEYS", "FORMATS", "JOB_COLUMNS", "as_html", "as_json", "as_text", "duration_text", "energy_text",
           "mass_text", "paper_sentence", "render"]
