"""carbonboard, served for real on 127.0.0.1 and loaded by headless, offline Chromium."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from codecarbon.viz import carbonboard, charts
from codecarbon.viz.reading import read_runs
from tests.viz_browser import dump_dom, screenshot

pytest.importorskip("dash")

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CSV = REPO / "examples" / "emissions.csv"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path):
    port = free_port()
    log = open(tmp_path / "server.log", "w+")
    process = subprocess.Popen([sys.executable, "-m", "codecarbon.viz.carbonboard", "--filepath", str(EXAMPLE_CSV),
                                "--port", str(port)], env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail("carbonboard did not start:\n" + log.read())
                time.sleep(0.2)
        yield url, tmp_path / "server.log"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_dashboard_draws_its_charts_offline_with_the_csv_numbers(served, tmp_path: Path):
    url, server_log = served
    dom = dump_dom(url, tmp_path, budget_ms=20000)
    assert 'data-charts-drawn="5"' in dom  # every graph on screen, the map's countries included
    assert dom.count('class="main-svg"') >= 10  # five graphs, two svg layers each
    runs = read_runs([EXAMPLE_CSV]).runs
    for run in runs:
        assert f">{charts.fmt(run.energy_consumed * 1e6)}<" in dom  # bar totals of the energy chart, in mWh
    assert dom.count('class="choroplethlocation"') > 150  # the world map, from our own shapes
    assert "3.26 cm driven by an average petrol car" in dom and "0.000642 smartphone charges" in dom
    assert "All projects (8 runs)" in dom and "Projects codecarbon, cloud, decorated and quickstart used" in dom
    requests = Path(server_log).read_text()
    assert "GET /_carbonboard/world_110m.json" in requests  # plotly.js asked us, not its CDN
    assert "/_dash-component-suites/plotly/package_data/plotly.min.js" in requests  # served locally
    screenshot(url, tmp_path / "carbonboard.png", tmp_path, budget_ms=20000)


def test_project_picker_redraws_for_the_chosen_project(served):
    """The picker's callback, called over HTTP as the page calls it."""
    url, _ = served
    outputs = [("summary", "children"), ("table", "children")] + [(c, "figure") for c in charts.CHART_DESCRIPTIONS]
    body = {"output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
            "outputs": [{"id": i, "property": p} for i, p in outputs],
            "inputs": [{"id": "project", "property": "value", "value": "cloud"}],
            "changedPropIds": ["project.value"], "state": []}
    request = urllib.request.Request(url + "_dash-update-component", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        response = json.loads(answer.read())["response"]
    energy = response["energy-by-component"]["figure"]
    (cloud_run,) = [r for r in read_runs([EXAMPLE_CSV]).runs if r.project_name == "cloud"]
    assert energy["data"][0]["x"] == [["cloud"], [cloud_run.run_id[:8]]]  # labelled by project and run
    regions = response["cloud-regions"]["figure"]["data"][0]
    assert "#08306b" in regions["marker"]["color"]  # the region used is highlighted
    assert regions["x"][regions["marker"]["color"].index("#08306b")] == cloud_run.cloud_region
    assert "1" in json.dumps(response["summary"]["children"])


def test_without_dash_it_prints_the_install_hint(monkeypatch: pytest.MonkeyPatch, capsys, cwd: Path):
    monkeypatch.setitem(sys.modules, "dash", None)  # what Python does for a package that is not installed
    (cwd / "emissions.csv").write_text("project_name,emissions,energy_consumed\n")
    assert carbonboard.main(["--filepath=emissions.csv"]) == 1
    assert "pip install 'codecarbon[carbonboard]'" in capsys.readouterr().err


def test_a_file_that_is_not_an_emissions_csv_is_refused(capsys, cwd: Path):
    (cwd / "other.csv").write_text("a,b\n1,2\n")
    assert carbonboard.main(["--filepath=other.csv"]) == 1
    assert "no emissions CSV" in capsys.readouterr().err
    assert carbonboard.main(["--filepath=missing.csv"]) == 1
