"""Every script in examples/ runs as a user would run it, offline, and writes what it says it writes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").glob("*.py"))


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, isolated_environment: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), CODECARBON_OUTPUT_DIR=str(isolated_environment),
               CODECARBON_DELIVERY_TIMEOUT_SECS="1")
    result = subprocess.run([sys.executable, str(script)], cwd=isolated_environment, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    # what it prints reads plainly: no e-notation, and no figure rounded away to zero ("0.0000 g")
    printed = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("{"))  # logged rows
    printed = UUID.sub("<uuid>", printed)  # a run id in a file name ("...ebc8ee6e-02ca...") is not a figure
    assert not re.search(r"\d\.?\d*e[-+]\d", printed) and not re.search(r"\b0\.0+ ", printed), printed
    summaries = [line.split(" -> ")[0] for line in result.stderr.splitlines() if "CO2eq over" in line]
    assert summaries and not any(re.search(r"\d\.?\d*e[-+]\d", line) for line in summaries), summaries
    produced = list(isolated_environment.glob("*.csv")) + list(isolated_environment.glob("*.json")) + \
        list(isolated_environment.glob("*.log"))
    assert produced, f"{script.name} wrote nothing"
