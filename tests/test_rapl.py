"""RAPL over fake powercap trees laid out like the kernel's: discovery, de-duplication, wraparound, access."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from codecarbon.hardware import HardwareOptions, SystemSeams, detect_hardware
from codecarbon.hardware.rapl import RaplSource, discover_rapl
from tests.fakes.sysfs import FakeSysfs, make_world_traversable


@pytest.fixture
def fake(tmp_path: Path) -> FakeSysfs:
    fs = FakeSysfs(tmp_path)
    fs.write_cpuinfo("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", sockets=2)
    fs.write_meminfo(64 * 1024 * 1024, 32 * 1024 * 1024)
    fs.write_stat(1000, 500, 8000)
    return fs


def _open(discovery, **kwargs) -> RaplSource:
    source = RaplSource(discovery.cpu_zones, **kwargs)
    source.open()
    return source


def test_one_socket_counts_the_package_not_its_children(fake: FakeSysfs) -> None:
    package = fake.add_zone("intel-rapl:0", "package-0", 5_000_000)
    core = fake.add_zone("intel-rapl:0:0", "core", 1_000)
    dram = fake.add_zone("intel-rapl:0:1", "dram", 2_000)
    found = discover_rapl(fake.sys)
    assert [z.name for z in found.cpu_zones] == ["package-0"] and found.cpu_method == "rapl"
    source = _open(found)
    package.advance(12_345_678)
    core.advance(9_000_000)
    dram.advance(3_000_000)
    assert source.read_joules() == 12_345_678 / 1e6
    package.advance(1)
    assert source.read_joules() == 12_345_679 / 1e6


def test_two_sockets_add_up(fake: FakeSysfs) -> None:
    zero = fake.add_zone("intel-rapl:0", "package-0", 10_000_000_000)
    one = fake.add_zone("intel-rapl:1", "package-1", 70_000_000_000)
    source = _open(discover_rapl(fake.sys))
    zero.advance(4_000_000)
    one.advance(6_500_000)
    assert source.read_joules() == 10_500_000 / 1e6
    zero.advance(1_000_000)
    one.advance(2_000_000)
    assert source.read_joules() == 13_500_000 / 1e6


def test_mirrored_multi_die_packages_are_counted_once(fake: FakeSysfs, codecarbon_log) -> None:
    dies = [fake.add_zone(f"intel-rapl:{i}", f"package-{i}", 123_456_789_000) for i in range(4)]
    source = _open(discover_rapl(fake.sys))
    for die in dies:
        die.advance(8_000_000)
    assert source.read_joules() == 8.0
    for die in dies:
        die.advance(2_000_000)
    assert source.read_joules() == 10.0
    assert "mirror one counter" in codecarbon_log.text


def test_equal_open_values_that_then_diverge_are_all_counted(fake: FakeSysfs) -> None:
    zero = fake.add_zone("intel-rapl:0", "package-0", 50_000_000)
    one = fake.add_zone("intel-rapl:1", "package-1", 50_000_000)
    source = _open(discover_rapl(fake.sys))
    zero.advance(30_000_000)
    one.advance(5_000_000)
    assert source.read_joules() == 35.0
    zero.advance(1_000_000)
    one.advance(1_000_000)
    assert source.read_joules() == 37.0


def test_msr_and_mmio_views_of_one_package_count_once(fake: FakeSysfs) -> None:
    msr = fake.add_zone("intel-rapl:0", "package-0", 7_000_000)
    mmio = fake.add_zone("intel-rapl-mmio:0", "package-0", 7_000_000)
    found = discover_rapl(fake.sys)
    assert [(z.provider, z.name) for z in found.cpu_zones] == [("intel-rapl", "package-0")]
    source = _open(found)
    msr.advance(3_000_000)
    mmio.advance(3_000_000)
    assert source.read_joules() == 3.0


def test_zones_reachable_only_through_the_device_tree_are_found(fake: FakeSysfs) -> None:
    zone = fake.add_zone("intel-rapl:0", "package-0", 0, links=False)
    source = _open(discover_rapl(fake.sys))
    zone.advance(2_000_000)
    assert source.read_joules() == 2.0


def test_psys_is_used_only_when_preferred_or_alone(fake: FakeSysfs) -> None:
    package = fake.add_zone("intel-rapl:0", "package-0", 0)
    psys = fake.add_zone("intel-rapl:1", "psys", 900_000_000)
    assert [z.name for z in discover_rapl(fake.sys).cpu_zones] == ["package-0"]
    preferred = discover_rapl(fake.sys, prefer_psys=True)
    assert [z.name for z in preferred.cpu_zones] == ["psys"] and preferred.cpu_method == "rapl-psys"
    source = _open(preferred, method=preferred.cpu_method)
    package.advance(1_000_000)
    psys.advance(4_000_000)
    assert source.read_joules() == 4.0
    hardware = detect_hardware(HardwareOptions(rapl_prefer_psys=True), SystemSeams(fake.sys, fake.proc))
    assert hardware.measure_label("cpu") == "rapl-psys"


def test_dram_becomes_a_separate_ram_source(fake: FakeSysfs) -> None:
    package = fake.add_zone("intel-rapl:0", "package-0", 0)
    dram = fake.add_zone("intel-rapl:0:0", "dram", 0)
    hardware = detect_hardware(HardwareOptions(rapl_include_dram=True), SystemSeams(fake.sys, fake.proc))
    assert hardware.measure_label("cpu") == "rapl" and hardware.measure_label("ram") == "rapl-dram"
    cpu = next(s for s in hardware.sources if s.component == "cpu")
    ram = next(s for s in hardware.sources if s.component == "ram")
    cpu.open()
    ram.open()
    package.advance(20_000_000)
    dram.advance(3_000_000)
    assert cpu.read_joules() == 20.0
    assert ram.read_joules() == 3.0
    without = detect_hardware(HardwareOptions(), SystemSeams(fake.sys, fake.proc))
    assert without.measure_label("ram") == "ram-model"


def test_wraparound_during_a_run_is_exact(fake: FakeSysfs) -> None:
    limit = 1_000_000_000
    zone = fake.add_zone("intel-rapl:0", "package-0", limit - 2_000_000, max_range_uj=limit)
    source = _open(discover_rapl(fake.sys))
    zone.advance(5_000_000)  # wraps: now 2_999_999
    assert zone.value < 5_000_000
    assert source.read_joules() == 5.0
    zone.advance(limit - 1_000_000)  # nearly a whole range again: wraps once more
    assert source.read_joules() == (5_000_000 + limit - 1_000_000) / 1e6
    zone.advance(0)
    assert source.read_joules() == (5_000_000 + limit - 1_000_000) / 1e6


def test_reopening_starts_a_new_baseline(fake: FakeSysfs) -> None:
    zone = fake.add_zone("intel-rapl:0", "package-0", 0)
    source = _open(discover_rapl(fake.sys))
    zone.advance(9_000_000)
    assert source.read_joules() == 9.0
    source.open()
    zone.advance(1_000_000)
    assert source.read_joules() == 1.0
    source.close()


def test_detected_rapl_is_labelled_and_apportioned_in_process_mode(fake: FakeSysfs) -> None:
    fake.add_zone("intel-rapl:0", "package-0", 0)
    machine = detect_hardware(HardwareOptions(), SystemSeams(fake.sys, fake.proc))
    assert machine.measure_label("cpu") == "rapl"
    process = detect_hardware(HardwareOptions(tracking_mode="process"), SystemSeams(fake.sys, fake.proc))
    assert process.measure_label("cpu") == "rapl+process-share"
    assert process.measure_label("ram") == "ram-model+process-share"


def test_force_mode_cpu_load_skips_rapl(fake: FakeSysfs) -> None:
    fake.add_zone("intel-rapl:0", "package-0", 0)
    hardware = detect_hardware(HardwareOptions(force_mode_cpu_load=True), SystemSeams(fake.sys, fake.proc))
    assert hardware.measure_label("cpu") == "tdp-model"


def _unreadable_case(root: Path) -> FakeSysfs:
    fs = FakeSysfs(root)
    fs.write_cpuinfo("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", sockets=1)
    fs.write_meminfo(16 * 1024 * 1024, 8 * 1024 * 1024)
    fs.write_stat(1000, 500, 8000)
    zone = fs.add_zone("intel-rapl:0", "package-0", 1_000)
    make_world_traversable(root)
    os.chmod(zone.energy_file, 0o000)  # as Linux ≥ 5.10 ships energy_uj: root only
    return fs


def test_unreadable_counters_fall_back_to_the_estimate_and_name_the_remedy(codecarbon_log) -> None:
    """Root reads anything, so as root the effective uid is dropped to 'nobody' for a real EACCES."""
    from codecarbon.external import logger as cc_logger

    cc_logger._said_once.discard("rapl-unreadable")
    root = Path(tempfile.mkdtemp(prefix="cc-rapl-"))
    os.chmod(root, 0o755)
    fs = _unreadable_case(root)
    drop = os.geteuid() == 0
    if drop:
        os.seteuid(65534)
    try:
        with pytest.raises(PermissionError):  # the denial is real, not simulated
            open(root / "sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/energy_uj").read()
        hardware = detect_hardware(HardwareOptions(), SystemSeams(fs.sys, fs.proc))
    finally:
        if drop:
            os.seteuid(0)
    assert hardware.measure_label("cpu") == "tdp-model"
    assert "sudo chmod -R a+r /sys/class/powercap/intel-rapl" in codecarbon_log.text
    assert "udev" in codecarbon_log.text
    assert any("not readable" in note for note in hardware.notes)
    assert [r.levelno for r in codecarbon_log.records if "chmod" in r.getMessage()] == [logging.WARNING]
    detect_hardware(HardwareOptions(force_ram_power=5.0), SystemSeams(fs.sys, fs.proc))
    assert sum("chmod" in r.getMessage() for r in codecarbon_log.records) == 1  # said once
    shutil.rmtree(root, ignore_errors=True)
