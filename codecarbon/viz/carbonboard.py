"""`carbonboard --filepath emissions.csv [--port 8050] [--debug]`: a dashboard over emissions CSV files.

It reads the file(s) once with `reading.read_runs` (a run counted once however often it was flushed) and draws
the charts of `charts` for the project picked: runs over time, energy by component per run, emissions and
intensity by location, the world map of the bundled intensities with the runs placed, the cloud regions of the
provider used, and everyday equivalents with their sources. Everything is served by the app itself: Dash serves
its scripts and plotly.js locally (``serve_locally``), and the world map's shapes come from this package's own
``/_carbonboard/world_110m.json`` instead of plotly's CDN, so the dashboard works with no network.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codecarbon.viz import charts
from codecarbon.viz.reading import Reading, Run, read_runs, summed
from codecarbon.viz.report import energy_text, equivalent_text, mass_text, paper_sentence

INSTALL_HINT = "carbonboard needs Dash and plotly: pip install 'codecarbon[carbonboard]'"
ALL_PROJECTS = "__all__"
TOPOJSON_ROUTE = "/_carbonboard/"
#: Rows of the run table (the latest ones).
TABLE_ROWS = 50


def _select(runs: Sequence[Run], project: str | None) -> list[Run]:
    if not project or project == ALL_PROJECTS:
        return list(runs)
    return [r for r in runs if str(r.values.get("project_name") or "") == project]


def _summary_children(runs: Sequence[Run]) -> list[Any]:
    from dash import html

    total = summed(runs)
    cards = [("Runs", str(len(runs))), ("Energy", energy_text(total["energy_consumed"])),
             ("Emissions", mass_text(total["emissions"]) + " CO2eq"),
             ("CPU / GPU / RAM", " / ".join(energy_text(total[f"{c}_energy"]) for c in ("cpu", "gpu", "ram")))]
    items = [html.Li([f"{equivalent_text(e)} ", html.Small(f"({e['source']})")])
             for e in charts.equivalents(total["emissions"])]
    return [
        html.Div([html.Div([html.Div(label), html.B(value)], className="card", id=f"card-{i}")
                  for i, (label, value) in enumerate(cards)], className="cards"),
        html.P(paper_sentence(runs), id="sentence"),
        html.H3("Equivalents"),
        html.Ul(items, id="equivalents"),
    ]


def _table(runs: Sequence[Run]) -> Any:
    from dash import html

    head = ("project", "run", "end", "duration (s)", "energy", "CO2eq", "g/kWh", "intensity source")
    latest = sorted(runs, key=lambda r: str(r.values.get("timestamp", "")))[-TABLE_ROWS:]
    body = []
    for run in reversed(latest):
        v = run.values
        intensity = run.intensity_g_per_kwh
        body.append(html.Tr([html.Td(str(v.get("project_name") or "")), html.Td(charts.short_id(run)),
                             html.Td(str(v.get("timestamp", ""))), html.Td(f"{v['duration']:.1f}"),
                             html.Td(energy_text(v["energy_consumed"])), html.Td(mass_text(v["emissions"])),
                             html.Td(f"{intensity:.0f}" if intensity is not None else "?"),
                             html.Td(str(v.get("intensity_source") or "-"))]))
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)], id="run-table")


STYLE = """
body{font-family:system-ui,sans-serif;margin:20px;color:#222}
.cards{display:flex;gap:16px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:8px;padding:10px 16px}
.card b{display:block;font-size:1.3em}table{border-collapse:collapse;font-size:.9em}
td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}small{color:#666}
"""


#: Marks the page once every chart (the map's countries included) is on screen: tests and bench/ read it.
DRAWN_MARKER = """<script>(function(){var want=%d;function check(){
var graphs=document.querySelectorAll('.js-plotly-plot'),drawn=0;
for(var i=0;i<graphs.length;i++){if(graphs[i].querySelector('.main-svg')){drawn++;}}
if(drawn>=want&&document.querySelector('.choroplethlocation')&&!document.body.dataset.chartsDrawn){
document.body.dataset.chartsDrawn=drawn;document.body.dataset.chartsDrawnMs=Math.round(performance.now());
var p=performance.getEntriesByName('first-contentful-paint')[0];
if(p){document.body.dataset.firstContentfulPaintMs=Math.round(p.startTime);}observer.disconnect();}}
var observer=new MutationObserver(check);
observer.observe(document.documentElement,{childList:true,subtree:true});})();</script>"""


def build_app(reading: Reading, title: str) -> Any:
    """The Dash app: a project picker driving the summary, the charts and the run table."""
    from dash import Dash, Input, Output, dcc, html

    runs = reading.runs
    app = Dash(__name__, title="Carbonboard", serve_locally=True,
               update_title="")
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + STYLE + "</style>").replace(
        "{%scripts%}", "{%scripts%}" + DRAWN_MARKER % len(charts.CHART_DESCRIPTIONS))
    topojson = charts.world_topojson_text()

    @app.server.route(TOPOJSON_ROUTE + charts.WORLD_MAP_NAME + ".json")
    def _world_map() -> Any:  # plotly.js asks here (config topojsonURL) instead of its CDN
        return app.server.response_class(topojson, mimetype="application/json")

    counts = Counter(str(r.values.get("project_name") or "") for r in runs)
    options = [{"label": f"All projects ({len(runs)} runs)", "value": ALL_PROJECTS}] + [
        {"label": f"{p or '(none)'} ({counts[p]} runs)", "value": p} for p in sorted(counts)]
    graph_config: Any = {"topojsonURL": TOPOJSON_ROUTE, "displaylogo": False}
    first = charts.all_figures(runs)
    graphs = []
    for chart_id, figure in first.items():
        graphs += [html.P(html.Small(charts.CHART_DESCRIPTIONS[chart_id])),
                   dcc.Graph(id=chart_id, figure=figure, config=graph_config)]
    skipped = f" ({reading.skipped_lines} malformed line(s) skipped)" if reading.skipped_lines else ""
    app.layout = html.Div([
        html.H1("Carbonboard"),
        html.P(f"{title}{skipped}", id="source"),
        html.Label("Project", htmlFor="project"),
        dcc.Dropdown(id="project", options=options, value=ALL_PROJECTS, clearable=False),
        html.Div(_summary_children(runs), id="summary"),
        *graphs,
        html.H3(f"Latest runs (up to {TABLE_ROWS})"),
        html.Div(_table(runs), id="table"),
        html.P(html.Small("Country shapes: Natural Earth (public domain) via world-atlas (ISC). Intensities: the "
                          "bundled table of codecarbon.")),
    ])

    @app.callback([Output("summary", "children"), Output("table", "children")]
                  + [Output(chart_id, "figure") for chart_id in first],
                  Input("project", "value"), prevent_initial_call=True)
    def _pick(project: str) -> list[Any]:
        chosen = _select(runs, project)
        figures = charts.all_figures(chosen)
        return [_summary_children(chosen), _table(chosen)] + [figures[chart_id] for chart_id in first]

    return app


def viz(filepath: str | Sequence[str], port: int = 8050, debug: bool = False,
        host: str = "127.0.0.1") -> None:  # pragma: no cover - serves forever
    """Serve the dashboard for ``filepath`` (one file, a directory, or several; the name older scripts import)."""
    paths = [filepath] if isinstance(filepath, str) else list(filepath)
    reading = read_runs(paths)
    if not reading.files:
        raise ValueError(f"{', '.join(paths)} holds no emissions CSV (it needs emissions and energy_consumed "
                         "columns)")
    title = ", ".join(str(Path(p).resolve()) for p in paths)
    build_app(reading, title).run(host=host, port=port, debug=debug)


def _flag(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _import_dash_without_ipython() -> None:
    """Import Dash without its optional Jupyter support, which imports IPython: over half of Dash's import time.

    Only for the `carbonboard` script (no notebook there); IPython stays importable afterwards."""
    if "dash" in sys.modules or "IPython" in sys.modules:
        import dash  # noqa: F401

        return
    sys.modules["IPython"] = None  # type: ignore[assignment]  # makes `import IPython` raise ImportError
    try:
        import dash  # noqa: F401
    finally:
        if sys.modules.get("IPython", 0) is None:
            del sys.modules["IPython"]


def main(argv: Sequence[str] | None = None) -> int:
    """The `carbonboard` script; returns the exit status."""
    parser = argparse.ArgumentParser(prog="carbonboard", description="Dashboard over emissions CSV files.")
    parser.add_argument("--filepath", required=True, action="append",
                        help="the emissions CSV written by the tracker, or a directory of them (repeatable)")
    parser.add_argument("--port", type=int, default=8050, help="port to serve on (default 8050)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--debug", nargs="?", const=True, default=False, type=_flag,
                        help="Dash debug mode (--debug or --debug=True)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        _import_dash_without_ipython()
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return 1
    missing = [p for p in args.filepath if not Path(p).exists()]
    if missing:
        print(f"carbonboard: no such file: {', '.join(missing)}", file=sys.stderr)
        return 1
    try:
        viz(args.filepath, port=args.port, debug=args.debug, host=args.host)
    except ValueError as problem:
        print(f"carbonboard: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
