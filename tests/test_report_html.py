"""`codecarbon report --html`: one self-contained page whose charts a real (headless, offline) Chromium draws
with the CSV's numbers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from codecarbon.viz import charts
from codecarbon.viz.reading import read_runs
from tests.viz_browser import dump_dom, screenshot

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CSV = REPO / "examples" / "emissions.csv"


def section(dom: str, chart_id: str) -> str:
    start = dom.index(f'id="{chart_id}"')
    following = [dom.find(f'id="{other}"', start + 1) for other in charts.CHART_DESCRIPTIONS]
    end = min([i for i in following if i > start] or [len(dom)])
    return dom[start:end]


def test_html_report_draws_every_chart_offline_with_the_csv_numbers(tmp_path: Path, cwd: Path):
    out = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "codecarbon.cli.main", "report", str(EXAMPLE_CSV), "--html",
                           str(out)], env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert "cdn.plot.ly" not in page.replace('dflt:"https://cdn.plot.ly/un/"', "")  # only plotly.js' own default
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=", page)  # nothing fetched
    dom = dump_dom(out.as_uri(), tmp_path)
    assert 'data-charts-drawn="5"' in dom  # every Plotly.newPlot promise resolved
    runs = read_runs([EXAMPLE_CSV]).runs
    # the stacked bars carry each run's total energy (Wh) as drawn text
    bars = section(dom, "energy-by-component")
    for run in runs:
        assert f">{charts.fmt(run.energy_consumed * 1000)}<" in bars
    assert bars.count('class="point"') >= len(runs)  # one bar per run and component (zero-height ones too)
    # the world map: every country of the bundled shapes drawn, and the user's countries placed
    world = section(dom, "world-map")
    assert world.count('class="choroplethlocation"') > 150
    for code in {run.country_iso_code for run in runs}:
        assert f">{code}<" in world
    # cloud regions of the provider used, with its region's intensity as text
    cloud = section(dom, "cloud-regions")
    cloud_run = next(run for run in runs if run.cloud_provider == "gcp")
    assert f">{cloud_run.carbon_intensity:.0f}<" in cloud
    assert "Training used" in dom and "smartphone charges" in dom and "US EPA" in dom
    shot = screenshot(out.as_uri(), tmp_path / "report.png", tmp_path)
    assert shot.stat().st_size > 50_000
