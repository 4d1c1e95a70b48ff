#!/usr/bin/env python3
"""Build codecarbon/viz/world_110m.json: the country shapes the offline world map draws.

plotly.js fetches its base map (``world_110m.json``) from a CDN unless the page already holds it; charts here
must work offline, so we ship our own. Input: the TopoJSON of Natural Earth's 1:110m countries as published by
the `world-atlas` npm package (``npm pack world-atlas@2.0.2`` gives ``package/countries-110m.json``; Natural
Earth is public domain, world-atlas is ISC-licensed). Country ids there are ISO 3166-1 numeric; plotly's
``locationmode="ISO-3"`` matches alpha-3, so ids are rewritten with Debian's iso-codes table
(/usr/share/iso-codes/json/iso_3166-1.json). Each country gets ``properties.ct`` (the centroid of its largest
ring, which plotly uses to place markers by country), and the land outline is also exposed as ``coastlines``.

Usage: python3 scripts/make_world_map.py path/to/countries-110m.json [iso_3166-1.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "codecarbon" / "viz" / "world_110m.json"
ISO_TABLE = Path("/usr/share/iso-codes/json/iso_3166-1.json")


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Absolute lon/lat points of every arc (TopoJSON arcs are delta-encoded integers under a transform)."""
    scale_x, scale_y = topology["transform"]["scale"]
    move_x, move_y = topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale_x + move_x, y * scale_y + move_y))
        decoded.append(points)
    return decoded


def ring_points(ring: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in ring:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc if not points else arc[1:])
    return points


def centroid(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(lon, lat, |area|) of a closed ring by the shoelace formula, in degrees (good enough to place a dot)."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-12:
        xs, ys = zip(*points, strict=True)
        return sum(xs) / len(xs), sum(ys) / len(ys), 0.0
    return cx / (3 * area), cy / (3 * area), abs(area / 2)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    topology = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    iso_table = json.loads(Path(argv[2] if len(argv) > 2 else ISO_TABLE).read_text(encoding="utf-8"))
    alpha3 = {entry["numeric"]: entry["alpha_3"] for entry in iso_table["3166-1"]}
    arcs = decode_arcs(topology)
    geometries = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        best = max((centroid(ring_points(polygon[0], arcs)) for polygon in polygons), key=lambda c: c[2])
        entry = {"type": geometry["type"], "arcs": geometry["arcs"],
                 "properties": {"name": geometry["properties"]["name"], "ct": [round(best[0], 2),
                                                                               round(best[1], 2)]}}
        code = alpha3.get(str(geometry.get("id", "")))
        if code:
            entry["id"] = code
        geometries.append(entry)
    land = topology["objects"]["land"]
    out = {
        "type": "Topology",
        "transform": topology["transform"],
        "bbox": topology.get("bbox"),
        "arcs": topology["arcs"],
        "objects": {"countries": {"type": "GeometryCollection", "geometries": geometries},
                    "land": land, "coastlines": land},
        "credits": "Natural Earth 1:110m countries (public domain), TopoJSON by the world-atlas package "
                   "(Copyright 2013-2019 Michael Bostock, ISC licence); ids rewritten to ISO 3166-1 alpha-3.",
    }
    OUT.write_text(json.dumps(out, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(geometries)} countries)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
