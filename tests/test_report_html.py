"""`codecarbon report --html`: one self-contained page whose charts a real (headless, offline) Chromium draws
with the CSV's numbers, laid out so a reader can read them, whatever text the CSV holds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from codecarbon.output_methods.emissions_data import CSV_COLUMNS, EXTRA_COLUMNS
from codecarbon.viz import charts
from codecarbon.viz.reading import read_runs
from tests.test_report import row_332, write_rows
from tests.viz_browser import dump_dom, measured_layout, screenshot

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CSV = REPO / "examples" / "emissions.csv"


def section(dom: str, chart_id: str) -> str:
    start = dom.index(f'id="{chart_id}"')
    following = [dom.find(f'id="{other}"', start + 1) for other in charts.CHART_DESCRIPTIONS]
    end = min([i for i in following if i > start] or [len(dom)])
    return dom[start:end]


def write_report(csv_path: Path, out: Path, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "codecarbon.cli.main", "report", str(csv_path), "--html",
                           str(out)], env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_html_report_draws_every_chart_offline_with_the_csv_numbers(tmp_path: Path, cwd: Path):
    out = tmp_path / "report.html"
    write_report(EXAMPLE_CSV, out, cwd)
    page = out.read_text()
    assert "cdn.plot.ly" not in page.replace('dflt:"https://cdn.plot.ly/un/"', "")  # only plotly.js' own default
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=", page)  # nothing fetched
    dom = dump_dom(out.as_uri(), tmp_path)
    assert 'data-charts-drawn="5"' in dom  # every Plotly.newPlot promise resolved
    runs = read_runs([EXAMPLE_CSV]).runs
    # the stacked bars carry each run's total energy as drawn text, in the unit of the axis (mWh here)
    bars = section(dom, "energy-by-component")
    assert "Energy by component per run (mWh)" in bars
    for run in runs:
        assert f">{charts.fmt(run.energy_consumed * 1e6)}<" in bars
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
    assert "Projects codecarbon, cloud, decorated and quickstart used" in dom and "US EPA" in dom
    # equivalents and small figures scaled, never in e-notation (7.96 mg = 3.26 cm by car)
    equivalents = dom[dom.index('id="equivalents"'):dom.index("</ul>", dom.index('id="equivalents"'))]
    assert "3.26 cm driven by an average petrol car" in equivalents
    assert "0.000642 smartphone charges" in equivalents
    shown_text = re.sub(r"<[^>]*>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S))
    assert not re.search(r"\d(\.\d+)?e[-+]\d", shown_text)  # no figure on the page in e-notation
    assert "× 10" not in shown_text and "393 g CO2e per mile" in equivalents  # nor in powers of ten
    shot = screenshot(out.as_uri(), tmp_path / "report.png", tmp_path)
    assert shot.stat().st_size > 50_000  # kept in pytest's tmp_path (the last three sessions) for a person


def test_html_report_layout_is_readable(tmp_path: Path, cwd: Path):
    """Measured in Chromium: bars named by project and run, the location chart's right axis title clear of its
    tick labels, map markers of neighbouring countries not on top of one another, the run table one line a row
    and inside the page."""
    out = tmp_path / "report.html"
    write_report(EXAMPLE_CSV, out, cwd)
    layout, _dom = measured_layout(out, tmp_path)
    runs = read_runs([EXAMPLE_CSV]).runs
    labels = layout["energy_axis_labels"]
    assert {run.project_name for run in runs} <= set(labels)  # the project under its runs' bars
    assert {run.run_id[:8] for run in runs} <= set(labels)
    assert layout["energy_axis_labels_cut"] == 0  # the project row under the runs is inside the chart
    assert layout["y2_title"] == "g CO2eq/kWh" and layout["y2_ticks"] >= 3
    assert layout["y2_title_over_ticks"] == 0
    assert layout["map_markers"] == len({run.country_iso_code for run in runs})  # one marker per country
    assert layout["map_markers_overlapping"] == 0  # FRA, BEL, DEU and GBR apart
    assert sorted(layout["map_labels"]) == sorted({run.country_iso_code for run in runs})
    assert layout["map_labels_overlapping"] == 0  # no label over another label or marker (GBR beside DEU)
    assert layout["table_overflows"] is False and layout["table_tallest_row_lines"] < 1.8


def test_map_labels_of_neighbouring_countries_stay_apart(tmp_path: Path, cwd: Path):
    """The examples and one more run in France: France's bigger marker pushes Germany's and Great Britain's up
    side by side, where their labels once ran together ("GBRDEU")."""
    lines = EXAMPLE_CSV.read_text(encoding="utf-8").splitlines()
    quickstart = next(line for line in lines if ",quickstart," in line).split(",")
    quickstart[0], quickstart[2] = "2026-12-08T01:40:36", "953ee0b6-fec4-48fb-9dbe-fd4dd1ec1b53"
    path = cwd / "more.csv"
    path.write_text("\n".join([*lines, ",".join(quickstart)]) + "\n", encoding="utf-8")
    out = tmp_path / "report.html"
    write_report(path, out, cwd)
    for width in (900, 1200, 1600):  # the map shrinks with the window; markers and labels keep their size
        layout, _dom = measured_layout(out, tmp_path, width=width)
        assert sorted(layout["map_labels"]) == ["BEL", "CAN", "DEU", "FRA", "GBR", "USA"]
        assert layout["map_markers_overlapping"] == 0, width
        assert layout["map_labels_overlapping"] == 0, width


def test_hostile_names_are_shown_as_text_and_every_chart_is_drawn(tmp_path: Path, cwd: Path):
    names = ["<!--<script>", "</script><script>document.title='pwned'</script>", "<img src=x onerror=alert(1)>"]
    path = cwd / "hostile.csv"
    write_rows(path, CSV_COLUMNS + EXTRA_COLUMNS, [
        row_332(f"run{i}", name, 10 + i, 0.002, 0.0001, carbon_intensity=50, intensity_source=name,
                cloud_provider="gcp", cloud_region=name, timestamp=f"2025-05-01T10:00:0{i}")
        for i, name in enumerate(names)])
    out = tmp_path / "hostile.html"
    write_report(path, out, cwd)
    layout, dom = measured_layout(out, tmp_path)
    assert 'data-charts-drawn="5"' in dom  # the names did not stop any chart
    assert "<title>CodeCarbon report</title>" in dom and "pwned</title>" not in dom
    assert "<img src" not in dom.replace('<img src="data:', "")  # no element made from a name
    for name in names:
        assert name in layout["legend"]  # each project drawn in the legend with its name as text
    table = dom[dom.index('id="runs"'):]
    assert "&lt;!--&lt;script&gt;" in table and "&lt;img src=x onerror=alert(1)&gt;" in table
    screenshot(out.as_uri(), tmp_path / "report-hostile.png", tmp_path)
