"""A GPU driver in sight without its Python bindings: one warning saying GPU energy is not measured and what to
install, and `codecarbon detect` says the same. Driven in a fresh interpreter over a fake system root, with the
bindings made unimportable (``sys.modules[name] = None`` makes ``import name`` raise ImportError)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.sysfs import FakeSysfs

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="driver look-up is Linux's")

SCRIPT = r"""
import io, json, logging, sys
from pathlib import Path
for name in sys.argv[5].split(","):
    if name:
        sys.modules[name] = None  # installed or not, importing it now fails
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append((record.levelname, record.getMessage()))
logging.getLogger("codecarbon").addHandler(Keep())
import codecarbon.hardware as hardware
from codecarbon.hardware import HardwareOptions, SystemSeams
real = hardware.detect_hardware
seams = SystemSeams(sysfs_root=Path(sys.argv[1]), proc_root=Path(sys.argv[2]), dev_root=Path(sys.argv[3]), environ={})
first = real(HardwareOptions(), seams)
second = real(HardwareOptions(), seams)  # a second tracker in the same process
out = ""
if sys.argv[4] == "cli":
    hardware.detect_hardware = lambda options, seams_=None: real(options, seams)  # the CLI over the fake root
    from codecarbon.cli.main import main
    buffer = io.StringIO()
    sys.stdout, saved = buffer, sys.stdout
    try:
        main(["detect"])
    finally:
        sys.stdout = saved
    out = buffer.getvalue()
print(json.dumps({"records": records, "warnings": first.warnings, "second": second.warnings,
                  "gpu_count": first.gpu_count, "gpu_label": first.measure_label("gpu"), "cli": out,
                  "modules": sorted(m for m in ("codecarbon.hardware.nvidia", "codecarbon.hardware.amd",
                                                "codecarbon.hardware.gpus") if m in sys.modules)}))
"""


def _machine(tmp_path: Path, *, nvidia: str | None = None, amd: bool = False) -> tuple[Path, Path, Path]:
    fs = FakeSysfs(tmp_path)
    fs.write_cpuinfo("AMD EPYC 7763 64-Core Processor", sockets=1, cores_per_socket=64)
    fs.write_meminfo(64 * 1024 * 1024, 32 * 1024 * 1024)
    fs.write_stat(100, 100, 100)
    dev = tmp_path / "dev"
    dev.mkdir()
    if nvidia == "dev":
        (dev / "nvidiactl").write_text("")
    elif nvidia == "proc":
        (fs.proc / "driver" / "nvidia").mkdir(parents=True)
        (fs.proc / "driver" / "nvidia" / "version").write_text("NVRM version: 550.54\n")
    elif nvidia == "wsl":
        (dev / "dxg").write_text("")
    if amd:
        (dev / "kfd").write_text("")
        (fs.sys / "module" / "amdgpu").mkdir(parents=True)
    return fs.sys, fs.proc, dev


def _run(roots: tuple[Path, Path, Path], blocked: str, mode: str = "") -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", SCRIPT, *map(str, roots), mode, blocked], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _warnings(result: dict) -> list[str]:
    return [message for level, message in result["records"] if level == "WARNING"]


@pytest.mark.parametrize("where", ["dev", "proc", "wsl"])
def test_nvidia_driver_without_pynvml_warns_once_naming_the_package(tmp_path: Path, where: str) -> None:
    result = _run(_machine(tmp_path, nvidia=where), blocked="pynvml,amdsmi")
    warnings = _warnings(result)
    assert len(warnings) == 1, warnings
    assert "GPU energy is not measured" in warnings[0] and "pip install nvidia-ml-py" in warnings[0]
    assert result["warnings"] == warnings and result["second"] == warnings  # detection reports it each time
    assert result["gpu_count"] == 0 and result["gpu_label"] == ""


def test_amd_driver_without_amdsmi_warns_once_naming_the_extra(tmp_path: Path) -> None:
    result = _run(_machine(tmp_path, amd=True), blocked="pynvml,amdsmi")
    warnings = _warnings(result)
    assert len(warnings) == 1, warnings
    assert "AMD" in warnings[0] and "amdsmi" in warnings[0] and "pip install 'codecarbon[amd]'" in warnings[0]


def test_both_drivers_without_bindings_warn_once_each(tmp_path: Path) -> None:
    result = _run(_machine(tmp_path, nvidia="dev", amd=True), blocked="pynvml,amdsmi")
    warnings = _warnings(result)
    assert len(warnings) == 2 and any("nvidia-ml-py" in w for w in warnings) and any("[amd]" in w for w in warnings)


def test_codecarbon_detect_says_the_same(tmp_path: Path) -> None:
    result = _run(_machine(tmp_path, nvidia="dev"), blocked="pynvml,amdsmi", mode="cli")
    assert "GPU count: 0" in result["cli"]
    line = next(line for line in result["cli"].splitlines() if "WARNING" in line)
    assert "GPU energy is not measured" in line and "pip install nvidia-ml-py" in line


def test_no_driver_no_warning_and_no_gpu_code(tmp_path: Path) -> None:
    result = _run(_machine(tmp_path), blocked="pynvml,amdsmi")
    assert _warnings(result) == [] and result["warnings"] == []
    assert result["modules"] == []  # GPU-less Linux loads none of our GPU modules


def test_driver_with_bindings_that_find_no_gpu_is_quiet(tmp_path: Path) -> None:
    """pynvml importable (a plain dependency) but no NVML library here: no bindings warning."""
    pytest.importorskip("pynvml")
    result = _run(_machine(tmp_path, nvidia="dev"), blocked="amdsmi")
    assert not any("cannot be imported" in w for w in _warnings(result))
    assert result["warnings"] == []
