"""How the sampling thread reads the kernel cheaply: the root cgroup's cpu.stat for the machine's busy time,
descriptors kept open and re-read in place, memory figures re-read every few seconds, not every tick."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codecarbon.hardware import SystemSeams
from codecarbon.hardware._linux import kernel_file, online_cpus, parse_meminfo, parse_stat_cpu_line
from codecarbon.hardware.attribution import CpuClock, load_fraction, machine_usage_file, read_cgroup_limits
from codecarbon.hardware.utilization import UtilizationMeter
from tests.fakes.sysfs import FakeSysfs

pytestmark = pytest.mark.skipif(not os.name == "posix" or not hasattr(os, "pread"), reason="Linux reads")


def _root_cgroup(fs: FakeSysfs, usage_usec: int, *, hybrid: bool = False) -> Path:
    """A cgroup v2 root as the kernel shows it: cgroup.controllers and cpu.stat, but neither cgroup.type nor
    cpu.max (those exist on every non-root cgroup)."""
    mount = fs.sys / "fs" / "cgroup" / ("unified" if hybrid else "")
    mount.mkdir(parents=True, exist_ok=True)
    (mount / "cgroup.controllers").write_text("" if hybrid else "cpu memory io\n")
    (mount / "cpu.stat").write_text(f"usage_usec {usage_usec}\nuser_usec 0\nsystem_usec 0\n")
    return mount


@pytest.mark.parametrize("hybrid", [False, True])
def test_the_root_cgroup_gives_the_machines_busy_time(tmp_path: Path, hybrid: bool) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_stat(user=0, system=0, idle=0)  # /proc/stat stays still: the figure must come from cpu.stat
    mount = _root_cgroup(fs, 5_000_000, hybrid=hybrid)
    limits = read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup")
    assert limits.machine_usage_file == mount / "cpu.stat" and limits.cpu_limit is None
    ticks = [100.0]
    clock = CpuClock(fs.proc, limits, monotonic=lambda: ticks[0])
    before = clock.read()
    cpus = online_cpus()
    (mount / "cpu.stat").write_text(f"usage_usec {5_000_000 + int(cpus * 2 * 0.25 * 1e6)}\nuser_usec 0\n")
    ticks[0] = 102.0  # two seconds on every online CPU, a quarter of it busy
    after = clock.read()
    assert after.busy_s - before.busy_s == pytest.approx(cpus * 0.5)
    assert load_fraction(before, after) == pytest.approx(0.25)


def test_a_containers_own_cgroup_is_not_taken_for_the_machine(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.cgroup_v2("/")  # a cgroup namespace: the mount root is the container's cgroup (it has cpu.max)
    (fs.sys / "fs" / "cgroup" / "cgroup.type").write_text("domain\n")
    assert machine_usage_file(fs.sys / "fs" / "cgroup") is None
    fs.write_stat(user=100, system=0, idle=100)
    clock = CpuClock(fs.proc, read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup"))
    before = clock.read()
    fs.write_stat(user=150, system=0, idle=150)
    assert load_fraction(before, clock.read()) == pytest.approx(0.5)  # /proc/stat, as before


def test_a_kept_descriptor_sees_each_new_value(tmp_path: Path) -> None:
    path = tmp_path / "energy_uj"
    path.write_text("1\n")
    file = kernel_file(path, 32)
    assert file.read() == b"1\n"
    path.write_text("22\n")  # rewritten in place, as the kernel regenerates its files
    assert file.read() == b"22\n"
    assert kernel_file(Path("/proc/meminfo"), 256) is kernel_file(Path("/proc/meminfo"), 256)  # one per process
    assert kernel_file(path, 32) is not file  # a test's tree is not shared (its descriptor goes with it)


def test_parsers() -> None:
    assert parse_stat_cpu_line(b"cpu  10 1 5 100 4 2 3 7 0 0\ncpu0 1 2\n") == (28, 132)
    assert parse_meminfo(b"MemTotal: 100 kB\nMemFree: 10 kB\nMemAvailable: 40 kB\n") == (102400, 40960)
    with pytest.raises(ValueError):
        parse_stat_cpu_line(b"intr 0\n")


def test_memory_is_re_read_every_few_seconds_not_every_tick(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_stat(user=100, system=0, idle=100)
    fs.write_meminfo(16 * 1024 * 1024, 12 * 1024 * 1024)
    ticks = [0.0]
    meter = UtilizationMeter(SystemSeams(fs.sys, fs.proc), monotonic=lambda: ticks[0])
    assert meter.sample().ram_used_gb == pytest.approx(4.0)
    fs.write_meminfo(16 * 1024 * 1024, 8 * 1024 * 1024)
    ticks[0] = 1.0
    fs.write_stat(user=150, system=0, idle=150)
    sample = meter.sample()
    assert sample.ram_used_gb == pytest.approx(4.0)  # held: read less than MEMORY_EVERY_S ago
    assert sample.cpu_percent == pytest.approx(50.0)  # CPU time is still read every tick
    ticks[0] = 1.0 + UtilizationMeter.MEMORY_EVERY_S
    assert meter.sample().ram_used_gb == pytest.approx(8.0)
