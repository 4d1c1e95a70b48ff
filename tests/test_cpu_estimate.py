"""CPU model, TDP table and the load model, driven over fake /proc trees and a scripted monotonic clock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from codecarbon.hardware import HardwareOptions, SystemSeams, detect_hardware
from codecarbon.hardware.attribution import CpuClock, read_cgroup_limits
from codecarbon.hardware.cpu_estimate import CpuLoadModelSource, power_at_load
from codecarbon.hardware.cpu_model import parse_cpuinfo, read_cpu_info
from codecarbon.hardware.cpu_tdp import TdpTable, bundled_table, normalise_cpu_name
from tests.fakes.sysfs import FakeSysfs

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO.parent / "shared" / "reference-data" / "codecarbon-3.x"


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("raw, expected", [
    ("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", "intel core i7-8700k"),
    ("11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz", "intel core i7-1185g7"),
    ("AMD Ryzen 9 5950X 16-Core Processor", "amd ryzen 9 5950x"),
    ("AMD Ryzen Threadripper PRO 5995WX 64-Cores", "amd ryzen threadripper pro 5995wx"),
    ("AMD Ryzen 7 5800H with Radeon Graphics", "amd ryzen 7 5800h"),
    ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "intel xeon e5-2686 v4"),
])
def test_model_names_are_normalised(raw: str, expected: str) -> None:
    assert normalise_cpu_name(raw) == expected


@pytest.mark.parametrize("model, tdp", [
    ("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", 125.0),
    ("AMD EPYC 7763 64-Core Processor", 280.0),
    ("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", 95.0),
    ("AMD A10-9700 RADEON R7, 10 COMPUTE CORES 4C+6G", 65.0),   # token match on the model number
    ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", 120.0),
])
def test_bundled_table_matches_real_model_strings(model: str, tdp: float) -> None:
    match = bundled_table().match(model)
    assert match is not None and match.tdp_w == tdp


@pytest.mark.parametrize("model", ["AMD EPYC", "Intel(R) Xeon(R) CPU @ 2.20GHz", "Intel Xeon E5-2686 v9",
                                   "Intel(R) Xeon(R) Platinum 8999 CPU", ""])
def test_no_guess_without_a_model_number_match(model: str) -> None:
    assert bundled_table().match(model) is None


def test_token_match_needs_a_unique_best() -> None:
    table = TdpTable.from_rows({"acme x1 1000 pro": 50.0, "acme x1 1000 max": 70.0, "acme x2 2000": 30.0})
    assert table.match("Acme X1 1000") is None  # two equally good candidates: refuse
    assert table.match("Acme X1 1000 Pro Edition").tdp_w == 50.0
    assert table.match("ACME(R) X2 2000 CPU @ 3.1GHz").exact


@pytest.mark.parametrize("model, tdp", [
    ("Apple M1", 10.0), ("Apple M2", 22.0), ("Apple M2 Pro", 35.0), ("Apple M3 Max", 50.0),
    ("Apple M4 Ultra", 110.0), ("Cortex-A72", 7.5), ("Cortex-A76", 12.0),
    ("ARM Cortex-A76", 12.0),                                    # vendor prefix: token match
    ("ARMv8 Processor rev 0 (v8l)", 30.0),
])
def test_apple_silicon_and_arm_cores_are_in_the_table(model: str, tdp: float) -> None:
    match = bundled_table().match(model)
    assert match is not None and match.tdp_w == tdp


@pytest.mark.parametrize("model", ["Apple M1 Max", "Apple M1 Pro", "Apple M1 Ultra"])
def test_an_apple_tier_the_table_lacks_is_not_guessed_from_the_base_chip(model: str) -> None:
    assert bundled_table().match(model) is None  # the table has the base M1 (10 W) only


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="reference data folder absent")
def test_every_apple_and_arm_row_of_the_reference_resolves_exactly() -> None:
    import csv

    with open(REFERENCE / "hardware_cpu_power.csv", newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"].startswith(("Apple M", "Cortex", "ARM"))]
    assert len(rows) >= 15
    for row in rows:
        match = bundled_table().match(row["Name"])
        assert match is not None and match.exact and match.tdp_w == float(row["TDP"]), row


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="reference data folder absent")
def test_committed_table_is_what_the_script_builds(tmp_path: Path) -> None:
    out = tmp_path / "cpu_power.tsv"
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_cpu_power_data.py"), "--reference",
                    str(REFERENCE), "--output", str(out)], check=True, capture_output=True)
    committed = (REPO / "codecarbon" / "data" / "cpu_power.tsv").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed
    assert "Intel ARK" in committed and "MIT" in committed
    assert len(TdpTable.load(out)) > 4500


def test_cpuinfo_gives_model_sockets_and_cores(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_cpuinfo("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", sockets=2, cores_per_socket=16)
    info = read_cpu_info(fs.proc)
    assert (info.model, info.logical, info.physical_cores, info.sockets) == (
        "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", 64, 32, 2)
    arm = parse_cpuinfo("processor\t: 0\nBogoMIPS\t: 108.00\n\nprocessor\t: 1\nBogoMIPS\t: 108.00\n\n"
                        "Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n")
    assert (arm.model, arm.logical, arm.sockets) == ("Raspberry Pi 4 Model B Rev 1.4", 2, 1)


def test_load_curve_has_an_idle_floor_and_matches_the_reference_point() -> None:
    assert power_at_load(1000, 0.0) == 100.0
    assert power_at_load(1000, 0.5) == pytest.approx(1000 * (0.1 + 0.9 * 0.125))
    assert power_at_load(1000, 1.0) == 1000.0
    assert power_at_load(1000, 3.0) == 1000.0


def test_load_model_integrates_power_from_cpu_time_deltas(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_stat(user=10_000, system=0, idle=10_000)
    ticks = Ticks()
    source = CpuLoadModelSource(1000.0, CpuClock(fs.proc, monotonic=ticks))
    source.open()
    hz = CpuClock(fs.proc)._hz
    fs.write_stat(user=10_000 + int(hz * 5), system=0, idle=10_000 + int(hz * 5))  # 50 % busy
    ticks.now += 10.0
    assert source.read_joules() == pytest.approx(212.5 * 10)
    fs.write_stat(user=10_000 + int(hz * 5), system=0, idle=10_000 + int(hz * 15))  # idle
    ticks.now += 2.0
    assert source.read_joules() == pytest.approx(2125 + 100 * 2)


def test_container_quota_makes_the_load_relative_to_the_quota(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_stat(user=0, system=0, idle=0)
    fs.cgroup_v2("/", cpu_max="200000 100000", usage_usec=0)
    limits = read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup")
    ticks = Ticks()
    source = CpuLoadModelSource(100.0, CpuClock(fs.proc, limits, monotonic=ticks))
    source.open()
    fs.cgroup_v2("/", cpu_max="200000 100000", usage_usec=10_000_000)  # 10 CPU-s in 10 s on 2 CPUs: 50 %
    ticks.now += 10.0
    assert source.read_joules() == pytest.approx(power_at_load(100.0, 0.5) * 10)


def _seams(fs: FakeSysfs) -> SystemSeams:
    return SystemSeams(fs.sys, fs.proc)


def test_detection_uses_tdp_times_sockets(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_cpuinfo("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", sockets=2, cores_per_socket=16)
    fs.write_meminfo(64 * 1024 * 1024, 32 * 1024 * 1024)
    fs.write_stat(100, 100, 100)
    hardware = detect_hardware(HardwareOptions(), _seams(fs))
    cpu = next(s for s in hardware.sources if s.component == "cpu")
    assert cpu.method == "tdp-model" and cpu.scale_w == 250.0
    assert (hardware.cpu_model, hardware.cpu_count, hardware.cpu_physical_count) == (
        "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", 64, 32)


def test_unknown_cpu_uses_the_per_thread_constant(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_cpuinfo("Mystery Chip 9000", sockets=1, cores_per_socket=4, threads_per_core=2)
    fs.write_meminfo(8 * 1024 * 1024, 4 * 1024 * 1024)
    fs.write_stat(100, 100, 100)
    hardware = detect_hardware(HardwareOptions(), _seams(fs))
    cpu = next(s for s in hardware.sources if s.component == "cpu")
    assert (cpu.method, cpu.scale_w) == ("constant", 32.0)


def test_forced_cpu_power_probes_nothing(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_cpuinfo("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", sockets=2)
    fs.write_meminfo(8 * 1024 * 1024, 4 * 1024 * 1024)
    fs.write_stat(100, 100, 100)
    fs.add_zone("intel-rapl:0", "package-0", 0)
    hardware = detect_hardware(HardwareOptions(force_cpu_power=1000), _seams(fs))
    cpu = next(s for s in hardware.sources if s.component == "cpu")
    assert (cpu.method, cpu.scale_w) == ("tdp-model", 1000.0)
    assert not any("rapl" in note for note in hardware.notes)


def test_container_quota_scales_the_tdp_and_the_cpu_count(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.write_cpuinfo("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", sockets=2, cores_per_socket=16)
    fs.write_meminfo(64 * 1024 * 1024, 32 * 1024 * 1024)
    fs.write_stat(100, 100, 100)
    fs.cgroup_v1("/docker/abc", quota_us=800_000, period_us=100_000, limit_bytes=4 * 1024 ** 3)
    hardware = detect_hardware(HardwareOptions(), _seams(fs))
    cpu = next(s for s in hardware.sources if s.component == "cpu")
    assert cpu.scale_w == pytest.approx(250.0 * 8 / 64)
    assert hardware.cpu_count == 8 and hardware.ram_total_size == 4.0
