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
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codecarbon.viz.reading import Run
from codecarbon.viz.text import ENERGY_UNITS, MASS_UNITS, chart_unit, plain

WORLD_MAP_FILE = Path(__file__).resolve().parent / "world_110m.json"
#: Name plotly.js looks the base map up by (scope "world", resolution 110).
WORLD_MAP_NAME = "world_110m"
COMPONENT_COLOURS = {"CPU": "#1f77b4", "GPU": "#d62728", "RAM": "#2ca02c"}
#: At most this many runs in the per-run bar chart (the latest ones): beyond it the bars are unreadable.
MAX_BARS = 40

#: Everyday equivalents of emissions: (label, unit, kg CO2eq per unit, source). The per-km figure is our
#: conversion of the per-mile one (1 mile = 1.609344 km). A unit of "km" is shown scaled (m, cm, mm).
EQUIVALENTS: tuple[tuple[str, str, float, str], ...] = (
    ("driven by an average petrol car", "km", 3.93e-4 * 1000 / 1.609344,
     "US EPA Greenhouse Gas Equivalencies Calculator: 393 g CO2e per mile of an average passenger "
     "vehicle"),
    ("smartphone charges", "", 1.24e-5 * 1000,
     "US EPA Greenhouse Gas Equivalencies Calculator: 12.4 g CO2 per smartphone charged"),
)


def equivalents(emissions_kg: float) -> list[dict[str, Any]]:
    """How many km / phone charges the emissions equal, each with its unit and source."""
    return [{"label": label, "unit": unit, "value": emissions_kg / per_unit, "source": source}
            for label, unit, per_unit, source in EQUIVALENTS]


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
    """A number as the marks show it: ``digits`` significant figures, never in e-notation."""
    return plain(value, digits)


def project_of(run: Run) -> str:
    return str(run.values.get("project_name") or "(none)")


def runs_over_time(runs: Sequence[Run]) -> dict[str, Any]:
    """Emissions of each run against its end time, one trace per project."""
    by_project: dict[str, list[Run]] = {}
    for run in runs:
        by_project.setdefault(project_of(run), []).append(run)
    unit, factor = chart_unit(max((r.values["emissions"] for r in runs), default=0.0), MASS_UNITS)
    data = []
    for project, members in sorted(by_project.items()):
        members = sorted(members, key=lambda r: str(r.values.get("timestamp", "")))
        data.append({
            "type": "scatter", "mode": "lines+markers" if len(members) <= 500 else "markers", "name": project,
            "x": [r.values.get("timestamp", "") for r in members],
            "y": [r.values["emissions"] / factor for r in members],
            "customdata": [short_id(r) for r in members],
            "hovertemplate": "%{x}<br>%{y:.3r} " + unit + " CO2eq<br>run %{customdata}<extra>%{fullData.name}"
                             "</extra>",
        })
    return {"data": data, "layout": _layout("Emissions of each run over time",
                                            xaxis={"title": {"text": "run end (local time)"}},
                                            yaxis={"title": {"text": f"{unit} CO2eq"}, "exponentformat": "none"})}


def energy_by_component(runs: Sequence[Run], limit: int = MAX_BARS) -> dict[str, Any]:
    """Stacked CPU / GPU / RAM energy of the latest ``limit`` runs, grouped by project (the axis names both the
    project and the run), each bar labelled with its total, in a unit that fits the largest bar."""
    latest = sorted(runs, key=lambda r: str(r.values.get("timestamp", "")))[-limit:]
    latest.sort(key=project_of)  # stable: by project, then by end time within a project
    unit, factor = chart_unit(max((r.values["energy_consumed"] for r in latest), default=0.0), ENERGY_UNITS)
    # few bars: the runs under their project (a two-level axis); many: "project · run" upright under each bar
    crowded = len(latest) > 12
    x: list[Any] = ([f"{project_of(r)} · {short_id(r)}" for r in latest] if crowded
                    else [[project_of(r) for r in latest], [short_id(r) for r in latest]])
    data: list[dict[str, Any]] = []
    for component in ("CPU", "GPU", "RAM"):
        key = f"{component.lower()}_energy"
        values = [r.values[key] / factor for r in latest]
        data.append({"type": "bar", "name": component, "x": x, "y": values,
                     "marker": {"color": COMPONENT_COLOURS[component]},
                     "hovertemplate": "%{x}: %{y:.3r} " + unit + "<extra>" + component + "</extra>"})
    totals = [r.values["energy_consumed"] / factor for r in latest]
    data.append({"type": "scatter", "mode": "text", "name": "total", "showlegend": False, "x": x,
                 "y": totals, "text": [fmt(t) for t in totals], "textposition": "top center",
                 "textfont": {"size": 9 if crowded else 12}, "hoverinfo": "skip", "cliponaxis": False})
    title = f"Energy by component per run ({unit}), by project"
    if len(runs) > len(latest):
        title += f" - latest {len(latest)} of {len(runs)} runs"
    longest = max((len(label) for label in x), default=0) if crowded else 0
    xaxis = {"type": "category", "tickangle": -90} if crowded else {"type": "multicategory"}
    return {"data": data, "layout": _layout(title, barmode="stack", xaxis=xaxis,
                                            yaxis={"title": {"text": unit}, "exponentformat": "none"},
                                            height=420 + 7 * longest if crowded else 400,
                                            # the two-level axis needs two rows of labels below the bars
                                            margin={"l": 60, "r": 30, "t": 60,
                                                    "b": 20 + 7 * longest if crowded else 70})}


def location_of(run: Run) -> str:
    """Where a run ran, as a reader names it: cloud region, else region and country, else country code."""
    v = run.values
    if v.get("cloud_provider") and v.get("cloud_region"):
        return f"{v['cloud_provider']}:{v['cloud_region']}"
    country = str(v.get("country_name") or v.get("country_iso_code") or "unknown")
    return f"{country} / {v['region']}" if v.get("region") else country


def by_location(runs: Sequence[Run]) -> dict[str, Any]:
    """Emissions summed per location (bars, labelled) and the intensity used there (markers, right axis, with
    room for its tick labels and title apart)."""
    kg: dict[str, float] = {}
    energy: dict[str, float] = {}
    for run in runs:
        name = location_of(run)
        kg[name] = kg.get(name, 0.0) + run.values["emissions"]
        energy[name] = energy.get(name, 0.0) + run.values["energy_consumed"]
    names = sorted(kg, key=lambda n: -kg[n])
    unit, factor = chart_unit(max(kg.values(), default=0.0), MASS_UNITS)
    emissions = [kg[n] / factor for n in names]
    intensity = [kg[n] * 1000 / energy[n] if energy[n] > 0 else None for n in names]
    top = max((i for i in intensity if i is not None), default=0.0)
    data = [
        {"type": "bar", "name": f"emissions ({unit} CO2eq)", "x": names, "y": emissions,
         "text": [fmt(e) for e in emissions], "textposition": "inside", "insidetextanchor": "start",
         "marker": {"color": "#6c757d"}},
        {"type": "scatter", "mode": "markers+text", "name": "intensity (g/kWh)", "x": names, "y": intensity,
         "yaxis": "y2", "text": [fmt(i) if i is not None else "" for i in intensity], "textposition": "top center",
         "marker": {"size": 12, "color": "#e6550d"}, "cliponaxis": False},
    ]
    return {"data": data, "layout": _layout(
        "Emissions and carbon intensity by location", xaxis={"type": "category"},
        yaxis={"title": {"text": f"{unit} CO2eq"}, "exponentformat": "none"},
        yaxis2={"title": {"text": "g CO2eq/kWh"}, "overlaying": "y", "side": "right",
                "range": [0, (top or 1.0) * 1.18], "showgrid": False, "tickmode": "auto"},
        margin={"l": 70, "r": 90, "t": 60, "b": 60},
        legend={"orientation": "h", "y": -0.2})}


@functools.lru_cache(maxsize=1)
def country_centres() -> dict[str, tuple[float, float]]:
    """(lon, lat) where plotly.js places a country's marker: the ``ct`` of each shape of the bundled map."""
    shapes = world_topojson()["objects"]["countries"]["geometries"]
    return {str(shape["id"]): (float(shape["properties"]["ct"][0]), float(shape["properties"]["ct"][1]))
            for shape in shapes if shape.get("id") and "ct" in shape.get("properties", {})}


#: Screen pixels per degree on the views' world map, on the small side so that what is kept apart here is apart
#: on screen: the map is about 780 px for 360 degrees at the equator in a window 1200 px wide, about 3/4 of that
#: in one 900 px wide, and fewer px a degree of longitude towards the poles (natural earth), where Europe's
#: markers crowd; markers and labels keep their size in px whatever the map's.
PIXELS_PER_DEGREE = 1.4


def spread_markers(centres: Sequence[tuple[float, float]], sizes: Sequence[float]) -> list[tuple[float, float]]:
    """Marker positions that do not cover one another: each marker (biggest first) stays at its country's
    centre when that is clear of those placed before it, else moves to the nearest clear spot around it
    (neighbours such as France, Belgium and Germany otherwise pile up into one blot)."""
    placed: list[tuple[float, float, float]] = []
    out = []
    for (lon, lat), size in zip(centres, sizes, strict=True):
        radius = size / 2 / PIXELS_PER_DEGREE

        def clear(x: float, y: float, r: float = radius) -> bool:
            return all(math.hypot(x - px, y - py) >= r + pr + 1.0 for px, py, pr in placed)

        spot = (lon, lat)
        if not clear(lon, lat):
            candidates = [(lon + step * math.cos(angle), lat + step * math.sin(angle))
                          for step in (radius * k for k in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0))
                          for angle in (math.pi * i / 6 for i in range(12))]
            spot = next((c for c in sorted(candidates, key=lambda c: math.hypot(c[0] - lon, c[1] - lat))
                         if clear(*c)), spot)
        placed.append((spot[0], spot[1], radius))
        out.append(spot)
    return out


def label_side(centre: tuple[float, float], spot: tuple[float, float]) -> str:
    """Where a marker's label goes: below it, or on the side it was moved to (away from its neighbours)."""
    dx, dy = spot[0] - centre[0], spot[1] - centre[1]
    if abs(dx) < 1e-9 and abs(dy) < 1e-9:
        return "bottom center"
    if abs(dx) >= abs(dy):
        return "middle right" if dx > 0 else "middle left"
    return "top center" if dy > 0 else "bottom center"


#: A marker label's size on screen, with room to spare (the map scale is approximate): plotly's 12 px font is about
#: 8.5 px a character and 14 px high.
LABEL_CHAR_PX, LABEL_HEIGHT_PX, LABEL_GAP_PX = 10.0, 16.0, 2.0
_SIDES = ("bottom center", "top center", "middle right", "middle left")


def _label_box(x: float, y: float, r: float, text: str, side: str) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in screen pixels of ``text`` written on ``side`` of a marker of radius ``r``
    centred at (x, y) (y grows downwards)."""
    w, h, gap = LABEL_CHAR_PX * len(text) + 2 * LABEL_GAP_PX, LABEL_HEIGHT_PX, LABEL_GAP_PX
    if side == "bottom center":
        return x - w / 2, y + r + gap, x + w / 2, y + r + gap + h
    if side == "top center":
        return x - w / 2, y - r - gap - h, x + w / 2, y - r - gap
    if side == "middle right":
        return x + r + gap, y - h / 2, x + r + gap + w, y + h / 2
    return x - r - gap - w, y - h / 2, x - r - gap, y + h / 2


def label_sides(centres: Sequence[tuple[float, float]], spots: Sequence[tuple[float, float]],
                sizes: Sequence[float], texts: Sequence[str]) -> list[str]:
    """Where each marker's label goes: the side ``label_side`` prefers when that is clear of every marker and of
    the labels placed before it, else the first clear side, else the least covered one (GBR's label would
    otherwise sit on DEU's when both markers were moved up, clear of France)."""
    pixels = [(lon * PIXELS_PER_DEGREE, -lat * PIXELS_PER_DEGREE) for lon, lat in spots]
    markers = [(x - s / 2, y - s / 2, x + s / 2, y + s / 2) for (x, y), s in zip(pixels, sizes, strict=True)]

    def covered(a: tuple[float, float, float, float], others: list[tuple[float, float, float, float]]) -> float:
        """Area of ``a`` under the others (0: clear)."""
        return sum(max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
                   for b in others)

    taken: list[tuple[float, float, float, float]] = []
    out = []
    for i, ((x, y), size, text) in enumerate(zip(pixels, sizes, texts, strict=True)):
        preferred = label_side(centres[i], spots[i])
        others = [m for j, m in enumerate(markers) if j != i] + taken
        # the preferred side when clear, else the first clear one, else the least covered (crowded Europe)
        sides = (preferred, *(side for side in _SIDES if side != preferred))
        boxes = [_label_box(x, y, size / 2, text, side) for side in sides]
        best = min(range(len(sides)), key=lambda k: (covered(boxes[k], others), k))
        taken.append(boxes[best])
        out.append(sides[best])
    return out


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
        "zmin": 0, "zmax": 900,
        "colorbar": {"ticksuffix": " g/kWh", "showticksuffix": "last"},  # a title there covers the top tick
        "marker": {"line": {"color": "white", "width": 0.5}}, "name": "grid intensity",
    }]
    placed: dict[str, dict[str, float]] = {}
    for run in runs:  # runs in one country are one marker (however many regions or cloud regions)
        code = str(run.values.get("country_iso_code") or "").upper()
        if not code:
            continue
        spot = placed.setdefault(code, {"emissions": 0.0, "runs": 0})
        spot["emissions"] += run.values["emissions"] * 1000
        spot["runs"] += 1
    centres = country_centres()
    places = sorted((code for code in placed if code in centres), key=lambda c: -placed[c]["emissions"])
    if places:
        biggest = max(placed[c]["emissions"] for c in places) or 1.0
        sizes = [10 + 14 * math.sqrt(max(placed[c]["emissions"], 0.0) / biggest) for c in places]
        spots = spread_markers([centres[c] for c in places], sizes)
        data.append({
            "type": "scattergeo", "lon": [lon for lon, _ in spots], "lat": [lat for _, lat in spots],
            "mode": "markers+text", "text": places, "hoverinfo": "text+name",
            "textposition": label_sides([centres[c] for c in places], spots, sizes, places),
            "hovertext": [f"{code}: {placed[code]['runs']:.0f} run(s), {fmt(placed[code]['emissions'])} g"
                          for code in places],
            "marker": {"size": sizes, "color": "#08306b", "opacity": 0.85, "line": {"color": "white", "width": 1}},
            "name": "your runs",
        })
    return {"data": data, "layout": _layout(
        "Grid carbon intensity by country (bundled table) and where your runs ran", height=460,
        geo={"scope": "world", "resolution": 110, "projection": {"type": "natural earth", "rotation": {"lon": 0}},
             "lonaxis": {"range": [-180, 180]}, "lataxis": {"range": [-60, 85]}, "showland": True,
             "landcolor": "#eeeeee", "showcoastlines": True, "coastlinecolor": "#999999", "showcountries": False,
             "showocean": False, "showlakes": False, "showrivers": False, "showframe": False,
             "showsubunits": False},
        margin={"l": 10, "r": 80, "t": 60, "b": 10})}


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
    "runs-over-time": "each run's emissions (CO2eq) at its end time, one line per project",
    "energy-by-component": "CPU, GPU and RAM energy of each run, stacked, under its project, labelled with the "
                           "run's total",
    "by-location": "emissions summed per location (bars) and the intensity they were computed at (dots)",
    "world-map": "the bundled grid intensity of every country, with a dot sized by emissions where runs ran",
    "cloud-regions": "every region of the cloud provider used, by intensity; the regions used are dark",
}
