"""Notebook use with a real Jupyter kernel: start() in one cell, work in another, stop() in a third."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[1]


def test_start_and_stop_in_separate_cells(isolated_environment: Path) -> None:
    cells = [
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from codecarbon import OfflineEmissionsTracker\n"
        "tracker = OfflineEmissionsTracker(country_iso_code='FRA', measure_power_secs=0.2, project_name='nb')\n"
        "tracker.start()",
        "total = sum(i * i for i in range(1_000_000))",
        "kg = tracker.stop()\nprint('KG', kg)",
        "print('THREADS', [t.name for t in __import__('threading').enumerate() if t.name.startswith('codecarbon')])",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(isolated_environment)}})
    client.execute()
    printed = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    assert "KG " in printed and float(printed.split("KG ")[1].split()[0]) > 0
    assert "THREADS []" in printed
    with open(isolated_environment / "emissions.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["project_name"] == "nb" and float(row["duration"]) > 0
