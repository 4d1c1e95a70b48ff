#!/usr/bin/env python3
"""Run the examples offline and keep the rows they write as examples/emissions.csv.

The docs and the tests read that file, so it must be what the tracker really writes, not a hand-made table.
Each example runs as a user would run it (a fresh interpreter, the repository on PYTHONPATH), all of them
writing to one temporary output directory; the resulting emissions.csv is copied to examples/.
Examples that need a server (prometheus_output.py) are left out.

Usage: python3 scripts/make_example_csv.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIPPED = {"prometheus_output.py"}  # needs a Pushgateway


def main() -> int:
    scripts = [p for p in sorted((REPO / "examples").glob("*.py")) if p.name not in SKIPPED]
    with tempfile.TemporaryDirectory(prefix="codecarbon-examples-") as work:
        env = dict(os.environ, PYTHONPATH=str(REPO), CODECARBON_OUTPUT_DIR=work, CODECARBON_LOG_LEVEL="error")
        env.pop("CODECARBON_OUTPUT_FILE", None)
        for script in scripts:
            done = subprocess.run([sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True,
                                  timeout=300)
            if done.returncode != 0:
                print(f"{script.name} failed:\n{done.stdout}{done.stderr}", file=sys.stderr)
                return 1
            print(f"ran {script.name}")
        target = REPO / "examples" / "emissions.csv"
        shutil.copyfile(Path(work) / "emissions.csv", target)
        rows = sum(1 for _ in open(target, encoding="utf-8")) - 1
        print(f"wrote {target} ({rows} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
