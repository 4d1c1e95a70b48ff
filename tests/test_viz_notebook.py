"""`%load_ext codecarbon`, `%%codecarbon` and the HTML views, through a real Jupyter kernel (nbclient)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[1]


def run_notebook(cells: list[str], where: Path) -> list[dict]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(where)}})
    client.execute()
    return [cell.get("outputs", []) for cell in notebook.cells]


def test_cell_magic_measures_one_cell_and_shows_one_summary(isolated_environment: Path):
    outputs = run_notebook([
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n%load_ext codecarbon",
        "%%codecarbon --country-iso-code FRA --measure-power-secs 0.2 --project-name nb --var cc\n"
        "total = sum(i * i for i in range(2_000_000))\nprint('inside', total > 0)\ntotal",
        "cc",
        "print(type(cc).__name__, round(cc.emissions, 12) > 0, cc.country_iso_code)",
        "%%codecarbon --no-such-option\n1",
    ], isolated_environment)
    measured = [o for o in outputs[1] if o.get("name") != "stderr"]  # log lines may go to stderr
    assert [o["output_type"] for o in measured] == ["stream", "execute_result", "display_data"]
    assert measured[0]["text"] == "inside True\n"  # the cell ran as usual, its value shown as usual
    assert measured[1]["data"]["text/plain"] == str(sum(i * i for i in range(2_000_000)))
    summary = measured[2]["data"]["text/html"]
    assert "codecarbon-summary" in summary and "g CO2eq" in summary and "France" in summary
    assert measured[2]["data"]["text/plain"].startswith("EmissionsData(emissions: ")
    shown = outputs[2][0]["data"]
    assert shown["text/html"].startswith("<table class='codecarbon-summary'>")
    assert shown["text/plain"].startswith("EmissionsData(emissions: ") and "g CO2eq" in shown["text/plain"]
    assert outputs[3][0]["text"] == "EmissionsData True FRA\n"
    assert "unknown option" in outputs[4][0]["text"]  # a usage message, not a traceback
    with open(isolated_environment / "emissions.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["project_name"] == "nb" and float(row["energy_consumed"]) > 0


def test_a_stopped_tracker_renders_as_a_table(isolated_environment: Path):
    outputs = run_notebook([
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from codecarbon import OfflineEmissionsTracker\n"
        "t = OfflineEmissionsTracker(country_iso_code='DEU', measure_power_secs=0.2, log_level='error')\nt",
        "t.start(); sum(range(100_000)); t.stop(); t",
        "print(str(t.final_emissions_data)[:14])",
    ], isolated_environment)
    before = outputs[0][0]["data"]["text/html"]
    assert "not started" in before
    after = outputs[1][0]["data"]["text/html"]
    assert "codecarbon-summary" in after and "Germany" in after and "g/kWh" in after
    assert outputs[2][0]["text"] == "EmissionsData(\n"  # str()/repr() outside notebooks stay the dataclass's


def test_import_codecarbon_does_not_load_the_notebook_code():
    done = subprocess.run([sys.executable, "-c", "import sys, codecarbon; print(sorted(m for m in sys.modules "
                           "if m.startswith('codecarbon.viz') or m.startswith('IPython')))"],
                          env={"PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_cell_that_raises_fails_once_its_row_is_written(isolated_environment: Path):
    """Run All, nbclient and papermill must stop at a failing measured cell, as they do without the magic."""
    cells = [
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n%load_ext codecarbon",
        "%%codecarbon --country-iso-code FRA --measure-power-secs 0.2 --project-name failing\n"
        "print('before')\n1 / 0",
        "print('this cell must not run')",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(isolated_environment)}})
    with pytest.raises(nbclient.exceptions.CellExecutionError) as failure:
        client.execute()
    assert failure.value.ename == "ZeroDivisionError"  # the cell's own exception, not one of ours
    outputs = [o for o in notebook.cells[1].outputs if o.get("name") != "stderr"]
    assert [o["output_type"] for o in outputs] == ["stream", "display_data", "error"]  # one traceback only
    assert outputs[0]["text"] == "before\n" and "codecarbon-summary" in outputs[1]["data"]["text/html"]
    traceback = "\n".join(outputs[2]["traceback"])
    assert "1 / 0" in traceback  # it ends at the cell's own line
    assert notebook.cells[2].outputs == []  # execution stopped there
    with open(isolated_environment / "emissions.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["project_name"] == "failing" and float(row["duration"]) > 0


def test_the_magic_takes_log_level_from_the_config_layers(isolated_environment: Path):
    config = isolated_environment / ".codecarbon.config"
    magic = "%%codecarbon --country-iso-code FRA --measure-power-secs 0.2 --no-save --quiet"
    outputs = run_notebook([
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n%load_ext codecarbon",
        f"{magic}\nx = 1",  # no layer sets log_level: the magic stays at warning
        f"open({str(config)!r}, 'w').write('[codecarbon]\\nlog_level = info\\n')",
        f"{magic}\nx = 2",  # ./.codecarbon.config says info: the magic follows it
        f"{magic} --log-level error\nx = 3",  # the line wins over the file
    ], isolated_environment)

    def info_lines(cell: list[dict]) -> list[str]:
        text = "".join(o.get("text", "") for o in cell if o.get("name") == "stderr")
        return [line for line in text.splitlines() if "INFO" in line]

    assert info_lines(outputs[1]) == []
    assert info_lines(outputs[3]), outputs[3]
    assert info_lines(outputs[4]) == []


def test_the_usage_line_in_the_docs_is_the_magics():
    from codecarbon.viz.notebook import USAGE, parse_line

    for page in ("notebooks.md", "visualize.md"):
        assert f"```text\n{USAGE}\n```" in (REPO / "docs" / page).read_text()
    assert "--cloud-region R" in USAGE and "--experiment-name E" in USAGE and "--log-level LEVEL" in USAGE
    assert parse_line("--log-level error")[1] == {"log_level": "error"}
    assert "log_level" not in parse_line("--project-name p")[1]  # left to the configuration
