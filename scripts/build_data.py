"""Build every bundled table in codecarbon/data/ from ../shared/reference-data (or --reference DIR)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    for script in ("build_intensity_data.py", "build_cpu_power_data.py"):
        print(f"== {script}")
        sys.argv = [script, *sys.argv[1:]]
        runpy.run_path(str(HERE / script), run_name="__main__")
