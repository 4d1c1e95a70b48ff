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

from codecarbon.hardware import HardwareOptions, SystemSeams, UtilizationMeter, detect_hardware, emi
from codecarbon.hardware.attribution import CpuClock, load_fraction, read_cgroup_limits
from tests.fakes.emi import FakeEmiSystem, FakeMeter, intel_laptop

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


# --- the Energy Meter Interface (tests/fakes/emi.py answers the documented IOCTLs) ---------------------------------
PKG_METER = r"\\?\ACPI#INTC1046#0#{45bd8344-7ed6-49cf-a440-c276c933b053}"


def _laptop_run(system: FakeEmiSystem, seconds: float = 10.0) -> None:
    """Package 15 W, of which cores 12 W and graphics 1 W; DRAM 2 W; the whole platform 25 W."""
    system.meters[PKG_METER].add_joules(seconds, RAPL_Package0_PKG=15.0, RAPL_Package0_PP0=12.0,
                                        RAPL_Package0_PP1=1.0, RAPL_Package0_DRAM=2.0, RAPL_Package_PSYS=25.0)


def _opened(hardware, component: str):
    (source,) = [s for s in hardware.sources if s.component == component]
    source.open()
    return source


def test_emi_meters_read_as_documented() -> None:
    system = intel_laptop()
    meters = {path: emi.read_meter(system.open(path), path) for path in system.device_paths()}
    rapl = meters[PKG_METER]
    assert (rapl.version, rapl.oem, rapl.model) == (2, "Intel", "RAPL")
    assert [c.name for c in rapl.channels] == ["RAPL_Package0_PKG", "RAPL_Package0_PP0", "RAPL_Package0_PP1",
                                               "RAPL_Package0_DRAM", "RAPL_Package_PSYS"]
    assert [c.index for c in rapl.channels] == [0, 1, 2, 3, 4]
    (gauge,) = [m for p, m in meters.items() if p != PKG_METER]
    assert gauge.version == 1 and [c.name for c in gauge.channels] == ["Battery"] and gauge.model == "Fuel gauge"
    assert emi.IOCTL_EMI_GET_VERSION == 0x224000 and emi.IOCTL_EMI_GET_MEASUREMENT == 0x22400C


def test_windows_measures_the_cpu_packages_with_emi_not_the_model_and_never_adds_the_planes(
        windows: FakeWindows) -> None:
    system = intel_laptop()
    hardware = detect_hardware(HardwareOptions(), SystemSeams(environ={}, emi=system))
    assert hardware.measure_label("cpu") == "emi"
    assert hardware.measure_label("ram") == "ram-model"  # DRAM only with rapl_include_dram, as on Linux
    assert any("RAPL_Package0_PKG" in note and "not added" in note for note in hardware.notes)
    cpu = _opened(hardware, "cpu")
    _laptop_run(system)
    assert cpu.read_joules() == pytest.approx(150.0)  # the package alone: not + cores + graphics + platform
    _laptop_run(system)
    assert cpu.read_joules() == pytest.approx(300.0)  # cumulative since open()
    cpu.close()
    assert all(meter.open_handles == 0 for meter in system.meters.values())


def test_emi_platform_channel_when_preferred_and_dram_as_ram(windows: FakeWindows) -> None:
    system = intel_laptop()
    hardware = detect_hardware(HardwareOptions(rapl_prefer_psys=True, rapl_include_dram=True),
                               SystemSeams(environ={}, emi=system))
    assert (hardware.measure_label("cpu"), hardware.measure_label("ram")) == ("emi-psys", "emi-dram")
    cpu, ram = _opened(hardware, "cpu"), _opened(hardware, "ram")
    _laptop_run(system)
    assert (cpu.read_joules(), ram.read_joules()) == (pytest.approx(250.0), pytest.approx(20.0))


def test_emi_sums_packages_once_each_across_meters(windows: FakeWindows) -> None:
    system = FakeEmiSystem({
        "meter-a": FakeMeter(["RAPL_Package0_PKG", "RAPL_Package0_PP0", "RAPL_Package1_PKG"]),
        "meter-b": FakeMeter(["RAPL_Package1_PKG"]),  # the second socket's counter seen again through another meter
    })
    hardware = detect_hardware(HardwareOptions(), SystemSeams(environ={}, emi=system))
    cpu = _opened(hardware, "cpu")
    system.meters["meter-a"].add_joules(4.0, RAPL_Package0_PKG=50.0, RAPL_Package0_PP0=40.0, RAPL_Package1_PKG=30.0)
    system.meters["meter-b"].add_joules(4.0, RAPL_Package1_PKG=30.0)
    assert cpu.read_joules() == pytest.approx(320.0)  # 200 + 120


def test_emi_counter_wraps_at_64_bits_and_a_restarted_meter_adds_what_it_counted_since(windows: FakeWindows) -> None:
    system = FakeEmiSystem({"meter": FakeMeter(["RAPL_Package0_PKG"], energy_pwh=[(1 << 64) - 5_000_000_000])})
    hardware = detect_hardware(HardwareOptions(), SystemSeams(environ={}, emi=system))
    cpu = _opened(hardware, "cpu")
    meter = system.meters["meter"]
    meter.add_joules(2.0, RAPL_Package0_PKG=20.0)  # passes 2**64 on the way
    assert meter.energy_pwh[0] < 1 << 63
    assert cpu.read_joules() == pytest.approx(40.0)
    meter.energy_pwh[0] = 0  # the driver restarted its count
    meter.add_joules(1.0, RAPL_Package0_PKG=10.0)
    assert cpu.read_joules() == pytest.approx(50.0)


def test_a_meter_that_stops_answering_keeps_its_energy(windows: FakeWindows, codecarbon_log) -> None:
    system = intel_laptop()
    hardware = detect_hardware(HardwareOptions(), SystemSeams(environ={}, emi=system))
    cpu = _opened(hardware, "cpu")
    _laptop_run(system)
    assert cpu.read_joules() == pytest.approx(150.0)
    system.meters[PKG_METER].failing = True
    _laptop_run(system)
    assert cpu.read_joules() == pytest.approx(150.0)
    assert cpu.read_joules() == pytest.approx(150.0)
    assert any("stopped reading the energy meter" in r.getMessage() for r in codecarbon_log.records)


@pytest.mark.parametrize("system", [
    FakeEmiSystem(),  # no meter at all
    FakeEmiSystem({"gauge": FakeMeter(["Battery"], version=1)}),  # meters, none of them RAPL
    FakeEmiSystem({"meter": FakeMeter(["RAPL_Package0_PKG"], units=[7])}),  # a unit emi.h does not define
    FakeEmiSystem({"meter": FakeMeter(["RAPL_Package0_PKG"], failing=True)}),  # a meter that does not answer
    FakeEmiSystem({"meter": FakeMeter(["RAPL_Package0_PP0", "RAPL_Package0_PP1"])}),  # planes but no package
], ids=["none", "not-rapl", "unknown-unit", "failing", "planes-only"])
def test_without_a_usable_package_channel_windows_falls_back_to_the_model(windows: FakeWindows,
                                                                          system: FakeEmiSystem) -> None:
    hardware = detect_hardware(HardwareOptions(), SystemSeams(environ={}, emi=system))
    assert hardware.measure_label("cpu") in ("tdp-model", "constant")


def test_forced_cpu_power_never_reads_the_meters(windows: FakeWindows) -> None:
    system = intel_laptop()
    hardware = detect_hardware(HardwareOptions(force_cpu_power=30.0), SystemSeams(environ={}, emi=system))
    assert hardware.measure_label("cpu") == "tdp-model"
    assert all(meter.calls == [] for meter in system.meters.values())


def test_process_mode_apportions_the_emi_package(windows: FakeWindows) -> None:
    system = intel_laptop()
    hardware = detect_hardware(HardwareOptions(tracking_mode="process"), SystemSeams(environ={}, emi=system))
    assert hardware.measure_label("cpu") == "emi+process-share"


def test_the_real_emi_is_not_reached_off_windows() -> None:
    assert emi.default_system() is None


def test_a_tracker_on_windows_writes_emi_measured_cpu_energy(windows: FakeWindows, monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path) -> None:
    from codecarbon import OfflineEmissionsTracker
    from tests.test_platform_windows import FakeClock, fake_msvcrt

    monkeypatch.setitem(sys.modules, "msvcrt", fake_msvcrt(FakeClock(), busy_until=0.0))
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(tmp_path / "state"))
    system = intel_laptop()

    class WindowsTracker(OfflineEmissionsTracker):
        _system_seams = SystemSeams(environ={}, emi=system)

    tracker = WindowsTracker(country_iso_code="FRA", measure_power_secs=60, output_methods=[], log_level="error")
    tracker.start()
    _laptop_run(system, seconds=3600.0)  # an hour at 15 W of package power
    tracker.stop()
    data = tracker.final_emissions_data
    assert data.cpu_measure == "emi"
    assert data.cpu_energy == pytest.approx(0.015, rel=1e-9)  # kWh: the package alone, from the meter
