"""Windows, by simulation (CI is Linux): sys.platform says win32, the registry and psutil answer as Windows'
do, and the calls Windows lacks (os.pread, os.sysconf) are gone. The Linux files of the host running the test
are still there, so any read of /proc or /sys on this path would show up as a wrong answer."""

from __future__ import annotations

import os
import sys
import types
from collections import namedtuple

import psutil
import pytest

from codecarbon.hardware import HardwareOptions, SystemSeams, UtilizationMeter, detect_hardware
from codecarbon.hardware.attribution import CpuClock, load_fraction, read_cgroup_limits

REGISTRY_NAME = "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz"
# psutil's Windows fields: system is kernel time less idle, and already holds interrupt and DPC time
WinTimes = namedtuple("scputimes", "user system idle interrupt dpc")
WinMemory = namedtuple("svmem", "total available percent used free")


class FakeWindows:
    """The state the simulated Windows answers from."""

    def __init__(self) -> None:
        self.times = WinTimes(10.0, 10.0, 80.0, 5.0, 5.0)
        self.memory = WinMemory(16 * 1024 ** 3, 12 * 1024 ** 3, 25.0, 4 * 1024 ** 3, 12 * 1024 ** 3)
        self.registry_reads = 0


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> FakeWindows:
    import codecarbon.external.logger as logger_module

    monkeypatch.setattr(logger_module, "_said_once", set())  # what this simulation logs once stays here
    state = FakeWindows()

    class Key:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def open_key(root, path):
        assert root == "HKLM" and path == r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
        state.registry_reads += 1
        return Key()

    winreg = types.ModuleType("winreg")
    winreg.HKEY_LOCAL_MACHINE = "HKLM"
    winreg.OpenKey = open_key
    winreg.QueryValueEx = lambda key, name: (REGISTRY_NAME + "  ", 1) if name == "ProcessorNameString" else None
    monkeypatch.setitem(sys.modules, "winreg", winreg)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "pread", raising=False)
    monkeypatch.delattr(os, "sysconf", raising=False)
    monkeypatch.setattr(psutil, "cpu_times", lambda percpu=False: state.times)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: state.memory)
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 8 if logical else 4)
    return state


def test_detection_reads_the_registry_and_psutil_not_linux_files(windows: FakeWindows) -> None:
    hardware = detect_hardware(HardwareOptions(), SystemSeams(environ={}))
    assert hardware.cpu_model == REGISTRY_NAME and windows.registry_reads == 1
    assert (hardware.cpu_count, hardware.cpu_physical_count) == (8, 4)
    assert hardware.ram_total_size == pytest.approx(16.0)
    assert hardware.measure_label("cpu") in ("tdp-model", "constant")  # no RAPL on Windows
    assert hardware.warnings == []  # no driver can be seen cheaply here, so a missing binding says nothing


def test_no_cgroups_on_windows(windows: FakeWindows) -> None:
    limits = read_cgroup_limits()
    assert (limits.version, limits.cpu_limit, limits.machine_usage_file) == (None, None, None)


def test_cpu_load_counts_interrupt_and_dpc_time_once(windows: FakeWindows) -> None:
    clock = CpuClock()
    before = clock.read()
    windows.times = WinTimes(30.0, 20.0, 150.0, 10.0, 10.0)  # +20 user, +10 system (of which +10 irq/dpc)
    after = clock.read()
    assert after.busy_s - before.busy_s == pytest.approx(30.0)
    assert load_fraction(before, after) == pytest.approx(0.3)  # 30 busy of 100 s, not 40 of 110


def test_utilization_from_psutil(windows: FakeWindows) -> None:
    meter = UtilizationMeter(SystemSeams())
    windows.times = WinTimes(30.0, 20.0, 150.0, 10.0, 10.0)
    sample = meter.sample()
    assert sample.cpu_percent == pytest.approx(30.0)
    assert (sample.ram_percent, sample.ram_used_gb) == (pytest.approx(25.0), pytest.approx(4.0))


def test_process_mode_works_without_linux_calls(windows: FakeWindows) -> None:
    hardware = detect_hardware(HardwareOptions(tracking_mode="process"), SystemSeams(environ={}))
    for source in hardware.sources:
        source.open()
    burnt = 0
    while burnt < 200_000:
        burnt += 1
    assert all(source.read_joules() >= 0.0 for source in hardware.sources)
    assert hardware.measure_label("cpu").endswith("+process-share")
