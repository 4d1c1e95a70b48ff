"""Every Python and INI example of README.md and docs/ runs as written, offline (issue 13).

Each page runs in a fresh interpreter, its blocks in order, in one IPython shell (so a notebook page's ``%`` lines
run too). An INI block goes where its first line says (``# ~/.codecarbon.config``, else ``./.codecarbon.config``)
and a tracker is then built, started and stopped with it. What the reader brings is given: ``model``, ``x``,
``y`` (a small computation), ``my_logger``, and the imports a fragment leaves out (``logging``,
``EmissionsTracker``). Geolocation and the CodeCarbon API point at a closed local port and the grid intensity
providers at a local server speaking their APIs, so nothing leaves the machine. ``pyi`` blocks (internals.md's
declarations) are signatures, not examples, and are not run.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.grid import GridServer

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(python|ini)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
#: Paths an example names on its author's machine, and where the test puts them.
PLACES = {"/Users/victor/emissions": "emissions-folder"}

RUNNER = r'''
import json, logging, os, sys
from pathlib import Path

closed = sys.argv[1]
from codecarbon.intensity import geolocation
geolocation.GEOJS_URL = closed + "/geo.json"
geolocation.IPINFO_URL = closed + "/json"
geolocation.METADATA_BASE = closed

from IPython.core.interactiveshell import InteractiveShell


class Model:
    """The reader's own computation."""

    def fit(self, x, y):
        return sum(a * b for a, b in zip(x, y))


namespace = {"model": Model(), "x": list(range(200_000)), "y": list(range(200_000)),
             "my_logger": logging.getLogger("my_app"), "logging": logging}
exec("from codecarbon import EmissionsTracker", namespace)
shell = InteractiveShell.instance(user_ns=namespace)
ran = []
for kind, code in json.loads(Path(sys.argv[2]).read_text()):
    if kind == "ini":
        first = code.lstrip().splitlines()[0] if code.strip() else ""
        target = Path.home() if first.startswith("# ~/") else Path.cwd()
        (target / ".codecarbon.config").write_text(code, encoding="utf-8")
        code = "_t = EmissionsTracker()\n_t.start()\n_kg = _t.stop()\nassert _kg is not None and _kg >= 0, _kg\n"
    result = shell.run_cell(code, store_history=False)
    if not result.success:
        print("FAILED BLOCK:\n" + code, file=sys.stderr)
        sys.exit(1)
    ran.append(kind)
print(json.dumps(ran))
'''


def examples(page: Path) -> list[tuple[str, str]]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        code = match.group(2)
        for written, local in PLACES.items():
            code = code.replace(written, str(Path.cwd() / local))
        found.append((match.group(1), code))
    return found


def closed_port() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there: every request is refused at once
    return f"http://127.0.0.1:{port}"


PAGES_WITH_EXAMPLES = [p for p in PAGES if FENCE.search(p.read_text(encoding="utf-8"))]


def test_the_pages_with_examples_are_the_ones_expected() -> None:
    names = {p.name for p in PAGES_WITH_EXAMPLES}
    assert {"README.md", "configuration.md", "notebooks.md", "outputs.md", "troubleshooting.md",
            "visualize.md", "login.md"} <= names


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=[p.name for p in PAGES_WITH_EXAMPLES])
def test_every_example_of_the_page_runs_offline(page: Path, isolated_environment: Path, tmp_path: Path) -> None:
    for local in PLACES.values():
        (isolated_environment / local).mkdir()
    blocks = examples(page)
    script = tmp_path / "blocks.json"
    script.write_text(json.dumps(blocks), encoding="utf-8")
    closed = closed_port()
    # the grid intensity providers' documented API, on this machine, taking the token the pages write
    grid = GridServer(token="your-token").start()
    env = {**os.environ, "PYTHONPATH": str(REPO), "CODECARBON_API_ENDPOINT": closed,
           "CODECARBON_DELIVERY_TIMEOUT_SECS": "1", "CODECARBON_STATE_DIR": str(tmp_path / "state"),
           "IPYTHONDIR": str(tmp_path / "ipython"), "CODECARBON_UK_GRID_API_URL": grid.base,
           "CODECARBON_ENERGIDATASERVICE_API_URL": grid.base, "CODECARBON_WATTTIME_API_URL": grid.base,
           "CODECARBON_ELECTRICITYMAPS_API_URL": grid.base + "/v3"}
    try:
        done = subprocess.run([sys.executable, "-c", RUNNER, closed, str(script)], cwd=isolated_environment,
                              env=env, capture_output=True, text=True, timeout=300)
    finally:
        grid.close()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ran = json.loads(done.stdout.strip().splitlines()[-1])
    assert ran == [kind for kind, _ in blocks]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]


def test_the_readmes_ini_writes_its_rows_to_the_csv_and_the_log(isolated_environment: Path, tmp_path: Path) -> None:
    """``output_methods = csv,logger`` with no logger object (a file cannot hold one): both outputs get the row."""
    (ini,) = [code for kind, code in examples(REPO / "README.md") if kind == "ini"]
    (isolated_environment / ".codecarbon.config").write_text(ini, encoding="utf-8")
    code = ("from codecarbon import OfflineEmissionsTracker\n"
            "t = OfflineEmissionsTracker(country_iso_code='FRA')\nt.start()\nt.stop()\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CODECARBON_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-c", code], cwd=isolated_environment, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = (isolated_environment / "emissions.csv").read_text().splitlines()
    assert len(rows) == 2 and ",training," in rows[1]
    logged = [line for line in done.stderr.splitlines() if '"project_name": "training"' in line]
    assert len(logged) == 1 and logged[0].startswith("[codecarbon INFO")


def test_the_report_figures_quoted_in_visualize_md_are_the_ones_the_report_prints(capsys) -> None:
    """The page quotes `codecarbon report examples/emissions.csv`'s sentence; its figures must be today's."""
    from codecarbon.cli.main import main

    page = (REPO / "docs" / "visualize.md").read_text(encoding="utf-8")
    quote = re.search(r"^> (.*?)(?:\n(?!> )|\Z)", page, re.S | re.M)
    assert quote is not None
    quoted = " ".join(line.lstrip("> ").strip() for line in quote.group(1).splitlines())
    figures = re.findall(r"\d[\d.]* g/kWh|\d[\d.]* (?:mWh|Wh|kWh|µWh|runs|mg|g|kg|t)\b(?: CO2eq)?", quoted)
    assert len(figures) >= 4, quoted
    assert main(["report", str(REPO / "examples" / "emissions.csv"), "--sentence"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    for figure in figures:
        assert figure in printed, (figure, printed)
