"""RAM model, forced power, memory size under cgroup limits, and the utilisation meter."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecarbon.hardware import HardwareOptions, SystemSeams, detect_hardware
from codecarbon.hardware.attribution import CpuClock, read_cgroup_limits
from codecarbon.hardware.ram import ConstantPowerSource, dimm_count, ram_power_w, read_total_bytes
from codecarbon.hardware.utilization import UtilizationMeter
from tests.fakes.sysfs import FakeSysfs


@pytest.mark.parametrize("size_gb, dimms", [(1, 1), (2, 1), (8, 2), (16, 2), (32, 4), (64, 4), (128, 8),
                                            (192, 12), (256, 8), (1024, 8), (2048, 16), (4096, 32), (8192, 32)])
def test_dimm_count(size_gb: float, dimms: int) -> None:
    assert dimm_count(size_gb) == dimms


@pytest.mark.parametrize("size_gb, watts", [(1, 10.0), (16, 10.0), (32, 20.0), (128, 38.0), (2048, 70.0),
                                            (4096, 70.0 + 16 * 5 * 0.7)])
def test_x86_power(size_gb: float, watts: float) -> None:
    assert ram_power_w(size_gb) == pytest.approx(watts)


def test_arm_power_and_floor() -> None:
    assert ram_power_w(8, arm=True) == 3.0
    assert ram_power_w(32, arm=True) == pytest.approx(6.0)


def test_constant_source_integrates_time() -> None:
    now = [10.0]
    source = ConstantPowerSource(20.0, monotonic=lambda: now[0])
    assert source.read_joules() == 0.0
    source.open()
    now[0] += 3.5
    assert source.read_joules() == 70.0
    with pytest.raises(ValueError, match="power_w"):
        ConstantPowerSource(-1.0)


def test_total_respects_cgroup_v2_memory_limit(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_meminfo(64 * 1024 * 1024, 32 * 1024 * 1024)
    assert read_total_bytes(fs.proc) == 64 * 1024 ** 3
    fs.cgroup_v2("/", memory_max=str(6 * 1024 ** 3))
    limits = read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup")
    assert read_total_bytes(fs.proc, limits) == 6 * 1024 ** 3


def test_detection_models_ram_and_honours_force(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_cpuinfo("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz")
    fs.write_meminfo(128 * 1024 * 1024, 64 * 1024 * 1024)
    fs.write_stat(1, 1, 1)
    seams = SystemSeams(fs.sys, fs.proc)
    modelled = detect_hardware(HardwareOptions(), seams)
    ram = next(s for s in modelled.sources if s.component == "ram")
    assert (ram.method, ram.power_w, modelled.ram_total_size) == ("ram-model", 38.0, 128.0)
    forced = detect_hardware(HardwareOptions(force_ram_power=50.5), seams)
    ram = next(s for s in forced.sources if s.component == "ram")
    assert (ram.method, ram.power_w) == ("constant", 50.5)


def test_utilization_from_deltas_and_meminfo(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_stat(user=100, system=0, idle=100)
    fs.write_meminfo(16 * 1024 * 1024, 12 * 1024 * 1024)
    meter = UtilizationMeter(SystemSeams(fs.sys, fs.proc))
    fs.write_stat(user=175, system=0, idle=125)  # 75 busy of 100 ticks
    sample = meter.sample()
    assert sample.cpu_percent == pytest.approx(75.0)
    assert sample.ram_percent == pytest.approx(25.0) and sample.ram_used_gb == pytest.approx(4.0)
    fs.write_stat(user=175, system=10, idle=215)
    assert meter.sample().cpu_percent == pytest.approx(10.0)


def test_utilization_inside_a_container(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_stat(user=100, system=0, idle=100)
    fs.write_meminfo(16 * 1024 * 1024, 12 * 1024 * 1024)
    fs.cgroup_v1("/job", quota_us=100_000, limit_bytes=2 * 1024 ** 3, usage_bytes=1024 ** 3)
    ticks = [0.0]
    limits = read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup")
    meter = UtilizationMeter(SystemSeams(fs.sys, fs.proc), limits=limits,
                             clock=CpuClock(fs.proc, limits, monotonic=lambda: ticks[0]))
    fs.cgroup_v1("/job", quota_us=100_000, limit_bytes=2 * 1024 ** 3, usage_bytes=1024 ** 3,
                 usage_ns=500_000_000)
    ticks[0] = 2.0  # 0.5 CPU-s over 2 s on a 1-CPU quota
    sample = meter.sample()
    assert sample.cpu_percent == pytest.approx(25.0)
    assert (sample.ram_percent, sample.ram_used_gb) == (50.0, 1.0)
