"""A plain install (no extras) in a fresh virtual environment does what 3.3.2's plain install does.

Slow (a wheel build and a venv, ~30 s): marked ``slow`` so it can be deselected with ``-m "not slow"``, but it is
part of the default suite. pip reaches the configured package index for the dependencies.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

IN_THE_VENV = r"""
import json, logging
import pynvml, prometheus_client  # plain dependencies now

records = []

class Keep(logging.Handler):
    def emit(self, record):
        records.append(record)

logging.getLogger("codecarbon").addHandler(Keep())
import codecarbon
from codecarbon import OfflineEmissionsTracker

documented = OfflineEmissionsTracker(save_to_prometheus=True, country_iso_code="FRA", prometheus_url="127.0.0.1:9")
try:
    import logfire  # noqa: F401
    logfire_installed = True
except ImportError:
    logfire_installed = False
documented._warmup.join()  # hardware warnings of its warm-up thread are not what this test counts
records.clear()
asked = OfflineEmissionsTracker(output_methods=["csv", "logfire"], country_iso_code="FRA")
asked._warmup.join()
print(json.dumps({
    "package": codecarbon.__file__,
    "documented": [type(o).__name__ for o in documented._output_handlers],
    "asked": [type(o).__name__ for o in asked._output_handlers],
    "warnings": [r.getMessage() for r in records if r.levelno == logging.WARNING],
    "logfire_installed": logfire_installed,
}))
"""


def copy_sources(target: Path) -> None:
    """The repository's files (not build leftovers), so building never writes into the working tree."""
    listed = None
    if (ROOT / ".git").exists() and shutil.which("git"):
        done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                               "--exclude-standard"], capture_output=True, timeout=60)
        if done.returncode == 0:
            listed = [name for name in done.stdout.decode().split("\0") if name]
    if listed is None:
        shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__",
                                                                    ".venv", "venv"))
        return
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def run(command: list[str], **options) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **options)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_a_plain_install_pushes_to_prometheus_and_a_missing_extra_only_warns(tmp_path: Path) -> None:
    source, dist, venv, home = tmp_path / "src", tmp_path / "dist", tmp_path / "venv", tmp_path / "venv-home"
    home.mkdir()
    copy_sources(source)
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist)]
    if importlib.util.find_spec("setuptools") and importlib.util.find_spec("wheel"):
        build.append("--no-build-isolation")  # what is installed already builds it; no download needed
    run([*build, str(source)])
    [wheel] = dist.glob("codecarbon-*.whl")
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # without PYTHON* variables: a PYTHONPATH naming this working tree would make pip see codecarbon as installed
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("CODECARBON_", "PYTHON"))}
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(wheel)], env=environment)
    environment["HOME"] = str(home)
    done = run([str(python), "-c", IN_THE_VENV], cwd=tmp_path, env=environment)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["package"].startswith(str(venv))  # the installed package, not this working tree
    assert "PrometheusOutput" in report["documented"]
    assert report["logfire_installed"] is False
    assert report["asked"] == ["FileOutput"]  # the run goes on with the other outputs
    about_outputs = [w for w in report["warnings"] if "logfire" in w.lower() or "output" in w.lower()]
    [warning] = about_outputs  # one warning, whatever the hardware of this machine makes the warm-up say
    assert "pip install 'codecarbon[logfire]'" in warning
