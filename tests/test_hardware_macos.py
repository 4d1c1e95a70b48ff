"""macOS, by simulation (CI is Linux): sys.platform says darwin, `sysctl` and `sudo` are small scripts on PATH,
psutil answers as it does on a Mac. The host's /proc is still there, so reading it on this path would show."""

from __future__ import annotations

import platform
import sys
from collections import namedtuple
from pathlib import Path

import psutil
import pytest

from codecarbon.hardware import HardwareOptions, SystemSeams, UtilizationMeter, detect_hardware
from codecarbon.hardware.attribution import CpuClock, load_fraction, read_cgroup_limits

MacTimes = namedtuple("scputimes", "user nice system idle")
MacMemory = namedtuple("svmem", "total available percent used free active inactive wired")

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="shell scripts stand in for macOS tools")


@pytest.fixture
def mac(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict:
    import codecarbon.external.logger as logger_module

    monkeypatch.setattr(logger_module, "_said_once", set())  # what this simulation logs once stays here
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "calls"
    (tools / "sysctl").write_text(f'#!/bin/sh\necho "sysctl $*" >> {log}\n'
                                  'if [ "$2" = machdep.cpu.brand_string ]; then echo "Apple M2 Pro"; fi\n')
    (tools / "sudo").write_text(f'#!/bin/sh\necho "sudo $*" >> {log}\necho "a password is required" >&2\nexit 1\n')
    for tool in tools.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    state = {"times": MacTimes(100.0, 0.0, 50.0, 850.0), "log": log}
    monkeypatch.setattr(psutil, "cpu_times", lambda percpu=False: state["times"])
    monkeypatch.setattr(psutil, "virtual_memory",
                        lambda: MacMemory(32 * 1024 ** 3, 24 * 1024 ** 3, 25.0, 8 * 1024 ** 3, 0, 0, 0, 0))
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 12 if logical else 12)
    return state


def test_detection_asks_sysctl_and_psutil_not_proc(mac: dict) -> None:
    hardware = detect_hardware(HardwareOptions(), SystemSeams(environ={}))
    assert hardware.cpu_model == "Apple M2 Pro"
    assert (hardware.cpu_count, hardware.ram_total_size) == (12, pytest.approx(32.0))
    calls = mac["log"].read_text()
    assert "sysctl -n machdep.cpu.brand_string" in calls
    assert "sudo -n -l powermetrics" in calls  # powermetrics was tried first, and refused
    ram = next(s for s in hardware.sources if s.component == "ram")
    assert ram.method == "ram-model"
    assert hardware.warnings == []


def test_no_cgroups_on_macos(mac: dict) -> None:
    assert read_cgroup_limits() == read_cgroup_limits(Path("/nonexistent"), Path("/nonexistent"))
    assert read_cgroup_limits().version is None


def test_cpu_load_and_utilization_from_psutil(mac: dict) -> None:
    clock = CpuClock()
    meter = UtilizationMeter(SystemSeams())
    before = clock.read()
    mac["times"] = MacTimes(160.0, 0.0, 90.0, 950.0)  # +100 busy of +200
    assert load_fraction(before, clock.read()) == pytest.approx(0.5)
    sample = meter.sample()
    assert sample.cpu_percent == pytest.approx(50.0)
    assert (sample.ram_percent, sample.ram_used_gb) == (pytest.approx(25.0), pytest.approx(8.0))
