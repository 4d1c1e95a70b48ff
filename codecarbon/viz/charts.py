"""The charts every view draws, as plain plotly figure dicts built from `reading.Run`s.

Plain dicts (no plotly Python package, no pandas): the HTML report embeds them as JSON next to an inline
plotly.js, carbonboard hands them to `dcc.Graph`. Every chart labels its numbers on the marks themselves, so a
reader (and a test reading the page) sees the CSV's figures without hovering.

The world map draws offline: plotly.js would fetch its base map from a CDN, so `world_topojson()` ships our own
(`world_110m.json`, Natural Earth via world-atlas, see scripts/make_world_map.py) and each view pre-loads it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codecarbon.viz.reading import Run

WORLD_MAP_FILE = Path(__file__).resolve().parent / "world_110m.json"
#: Name plotly.js looks the base map up by (scope "world", resolution 110).
WORLD_MAP_NAME = "world_110m"
COMPONENT_COLOURS = {"CPU": "#1f77b4", "GPU": "#d62728", "RAM": "#2ca02c"}
#: At most this many runs in the per-run bar chart (the latest ones): beyond it the bars are unreadable.
MAX_BARS = 40

#: Everyday equivalents of emissions: (label, kg CO2eq per unit, source). The per-km figure is our conversion
#: of the per-mile one (1 mile = 1.609344 km).
EQUIVALENTS: tuple[tuple[str, float, str], ...] = (
    ("km driven by an average petrol car", 3.93e-4 * 1000 / 1.609344,
     "US EPA Greenhouse Gas Equivalencies Calculator: 3.93e-4 t CO2e per mile of an average passenger vehicle"),
    ("smartphone charges", 1.24e-5 * 1000,
     "US EPA Greenhouse Gas Equivalencies Calculator: 1.24e-5 t CO2 per smartphone charged"),
)


def equivalents(emissions_kg: float) -> list[dict[str, Any]]:
    """How many km / phone charges the emissions equal, each with its source."""
    return [{"label": label, "value": emissions_kg / per_unit, "source": source}
            for label, per_unit, source in EQUIVALENTS]


@functools.lru_cache(maxsize=1)
def world_topojson_text() -> str:
    """The bundled base map as JSON text (read once)."""
    return WORLD_MAP_FILE.read_text(encoding="utf-8")


def world_topojson() -> dict[str, Any]:
    return json.loads(world_topojson_text())


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {"title": {"text": title}, "margin": {"l": 60, "r": 30, "t": 60, "b": 60},
                              "height": 380, "template": None, "paper_bgcolor": "white",
                              "plot_bgcolor": "#fafafa"}
    layout.update(extra)
    return layout


def short_id(run: Run) -> str:
    return str(run.values.get("run_id", ""))[:8]


def fmt(value: float, digits: int = 3) -> str:
    """A compact number with ``digits`` significant figures (what the marks and tables show)."""
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def runs_over_time(runs: Sequence[Run]) -> dict[str, Any]:
    """Emissions of each run against its end time, one trace per project."""
    by_project: dict[str, list[Run]] = {}
    for run in runs:
        by_project.setdefault(str(run.values.get("project_name") or "(none)"), []).append(run)
    data = []
    for project, members in sorted(by_project.items()):
        members = sorted(members, key=lambda r: str(r.values.get("timestamp", "")))
        data.append({
            "type": "scatter", "mode": "lines+markers" if len(members) <= 500 else "markers", "name": project,
            "x": [r.values.get("timestamp", "") for r in members],
            "y": [r.values["emissions"] * 1000 for r in members],
            "customdata": [short_id(r) for r in members],
            "hovertemplate": "%{x}<br>%{y:.4g} g CO2eq<br>run %{customdata}<extra>" + project + "</extra>",
        })
    return {"data": data, "layout": _layout("Emissions of each run over time",
                                            xaxis={"title": {"text": "run end (local time)"}},
                                            yaxis={"title": {"text": "g CO2eq"}})}


def energy_by_component(runs: Sequence[Run], limit: int = MAX_BARS) -> dict[str, Any]:
    """Stacked CPU / GPU / RAM energy (Wh) of the latest ``limit`` runs, each bar labelled with its total."""
    latest = sorted(runs, key=lambda r: str(r.values.get("timestamp", "")))[-limit:]
    labels = [short_id(r) for r in latest]
    data: list[dict[str, Any]] = []
    for component in ("CPU", "GPU", "RAM"):
        key = f"{component.lower()}_energy"
        values = [r.values[key] * 1000 for r in latest]
        data.append({"type": "bar", "name": component, "x": labels, "y": values,
                     "marker": {"color": COMPONENT_COLOURS[component]},
                     "hovertemplate": "%{x}: %{y:.4g} Wh<extra>" + component + "</extra>"})
    totals = [r.values["energy_consumed"] * 1000 for r in latest]
    data.append({"type": "scatter", "mode": "text", "name": "total", "showlegend": False, "x": labels,
                 "y": totals, "text": [fmt(t) for t in totals], "textposition": "top center",
                 "hoverinfo": "skip"})
    title = "Energy by component per run (Wh)"
    if len(runs) > len(latest):
        title += f" - latest {len(latest)} of {len(runs)} runs"
    return {"data": data, "layout": _layout(title, barmode="stack", xaxis={"title": {"text": "run"},
                                                                          "type": "category"},
                                            yaxis={"title": {"text": "Wh"}})}


def location_of(run: Run) -> str:
    """Where a run ran, as a reader names it: cloud region, else region and country, else country code."""
    v = run.values
    if v.get("cloud_provider") and v.get("cloud_region"):
        return f"{v['cloud_provider']}:{v['cloud_region']}"
    country = str(v.get("country_name") or v.get("country_iso_code") or "unknown")
    return f"{country} / {v['region']}" if v.get("region") else country


def by_location(runs: Sequence[Run]) -> dict[str, Any]:
    """Emissions summed per location (bars, labelled) and the intensity used there (markers, right axis)."""
    grams: dict[str, float] = {}
    energy: dict[str, float] = {}
    for run in runs:
        name = location_of(run)
        grams[name] = grams.get(name, 0.0) + run.values["emissions"] * 1000
        energy[name] = energy.get(name, 0.0) + run.values["energy_consumed"]
    names = sorted(grams, key=lambda n: -grams[n])
    emissions = [grams[n] for n in names]
    intensity = [grams[n] / energy[n] if energy[n] > 0 else None for n in names]
    data = [
        {"type": "bar", "name": "emissions (g CO2eq)", "x": names, "y": emissions,
         "text": [fmt(e) for e in emissions], "textposition": "inside", "insidetextanchor": "start",
         "marker": {"color": "#6c757d"}},
        {"type": "scatter", "mode": "markers+text", "name": "intensity (g/kWh)", "x": names, "y": intensity,
         "yaxis": "y2", "text": [fmt(i) if i is not None else "" for i in intensity], "textposition": "top center",
         "marker": {"size": 12, "color": "#e6550d"}},
    ]
    return {"data": data, "layout": _layout(
        "Emissions and carbon intensity by location", xaxis={"type": "category"},
        yaxis={"title": {"text": "g CO2eq"}},
        yaxis2={"title": {"text": "g CO2eq/kWh"}, "overlaying": "y", "side": "right", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2})}


def world_map(runs: Sequence[Run]) -> dict[str, Any]:
    """The bundled intensity of every country (colour), with a dot where the user's runs ran (size: emissions)."""
    from codecarbon.intensity import tables

    countries = tables.load_table()["countries"]
    codes = sorted(countries)
    data: list[dict[str, Any]] = [{
        "type": "choropleth", "locationmode": "ISO-3", "locations": codes,
        "z": [countries[c]["g"] for c in codes],
        "text": [f"{countries[c]['name']}: {countries[c]['g']:.0f} g/kWh ({countries[c]['src']} "
                 f"{countries[c].get('year') or ''})" for c in codes],
        "hoverinfo": "text", "colorscale": [[0, "#1a9850"], [0.5, "#fee08b"], [1, "#d73027"]],
        "zmin": 0, "zmax": 900, "colorbar": {"title": {"text": "g/kWh"}},
        "marker": {"line": {"color": "white", "width": 0.5}}, "name": "grid intensity",
    }]
    placed: dict[str, dict[str, float]] = {}
    for run in runs:
        code = str(run.values.get("country_iso_code") or "").upper()
        if not code:
            continue
        spot = placed.setdefault(code, {"emissions": 0.0, "runs": 0})
        spot["emissions"] += run.values["emissions"] * 1000
        spot["runs"] += 1
    if placed:
        biggest = max(s["emissions"] for s in placed.values()) or 1.0
        places = sorted(placed)
        data.append({
            "type": "scattergeo", "locationmode": "ISO-3", "locations": places, "mode": "markers+text",
            "text": places, "textposition": "bottom center", "hoverinfo": "text+name",
            "hovertext": [f"{code}: {placed[code]['runs']:.0f} run(s), {fmt(placed[code]['emissions'])} g"
                          for code in places],
            "marker": {"size": [10 + 20 * placed[c]["emissions"] / biggest for c in places], "color": "#08306b",
                       "line": {"color": "white", "width": 1}},
            "name": "your runs",
        })
    return {"data": data, "layout": _layout(
        "Grid carbon intensity by country (bundled table) and where your runs ran", height=460,
        geo={"scope": "world", "resolution": 110, "projection": {"type": "natural earth", "rotation": {"lon": 0}},
             "lonaxis": {"range": [-180, 180]}, "lataxis": {"range": [-60, 85]}, "showland": True,
             "landcolor": "#eeeeee", "showcoastlines": True, "coastlinecolor": "#999999", "showcountries": False,
             "showocean": False, "showlakes": False, "showrivers": False, "showframe": False,
             "showsubunits": False},
        margin={"l": 10, "r": 10, "t": 60, "b": 10})}


def cloud_regions(runs: Sequence[Run]) -> dict[str, Any]:
    """Every region of the user's cloud provider by intensity, the regions the user ran in highlighted."""
    from codecarbon.intensity import tables

    cloud = tables.load_table()["cloud"]
    used = {(str(r.values.get("cloud_provider") or "").lower(), str(r.values.get("cloud_region") or "").lower())
            for r in runs if r.values.get("cloud_provider")}
    providers = sorted({p for p, _ in used if p in cloud}) or sorted(cloud)[:1]
    note = "" if any(p in cloud for p, _ in used) else " (no cloud run in the file: showing " + \
        ", ".join(providers) + ")"
    data = []
    for provider in providers:
        regions = sorted(cloud[provider].items(), key=lambda item: item[1]["g"])
        names = [name for name, _ in regions]
        values = [record["g"] for _, record in regions]
        colours = ["#08306b" if (provider, name) in used else "#9ecae1" for name in names]
        data.append({"type": "bar", "name": provider, "x": names, "y": values, "marker": {"color": colours},
                     "text": [f"{v:.0f}" for v in values], "textposition": "outside",
                     "hovertext": [f"{record.get('city', '')} {record.get('country', '')}" for _, record in regions],
                     "hovertemplate": "%{x} (%{hovertext}): %{y:.0f} g/kWh<extra>" + provider + "</extra>"})
    return {"data": data, "layout": _layout("Cloud regions compared: grid intensity" + note, height=420,
                                            xaxis={"type": "category", "tickangle": -45},
                                            yaxis={"title": {"text": "g CO2eq/kWh"}},
                                            margin={"l": 60, "r": 30, "t": 60, "b": 140})}


def all_figures(runs: Sequence[Run]) -> dict[str, dict[str, Any]]:
    """Every chart of the views, by id, in the order they are shown."""
    return {
        "runs-over-time": runs_over_time(runs),
        "energy-by-component": energy_by_component(runs),
        "by-location": by_location(runs),
        "world-map": world_map(runs),
        "cloud-regions": cloud_regions(runs),
    }


CHART_DESCRIPTIONS = {
    "runs-over-time": "each run's emissions (g CO2eq) at its end time, one line per project",
    "energy-by-component": "CPU, GPU and RAM energy (Wh) of each run, stacked, labelled with the run's total",
    "by-location": "emissions summed per location (bars) and the intensity they were computed at (dots)",
    "world-map": "the bundled grid intensity of every country, with a dot sized by emissions where runs ran",
    "cloud-regions": "every region of the cloud provider used, by intensity; the regions used are dark",
}
