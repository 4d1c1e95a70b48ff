"""Measured energy through the whole tracker: fake RAPL trees and a fake NVML in, exact kWh in the CSV out."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from codecarbon import OfflineEmissionsTracker
from codecarbon.core.units import JOULES_PER_KWH
from codecarbon.hardware import SystemSeams
from tests.fakes.fake_pynvml import FakeGpu, FakeNVML, fake_uuid
from tests.fakes.sysfs import FakeSysfs

RANGE_UJ = 262_143_328_850


def tracker_on(seams: SystemSeams, **arguments) -> OfflineEmissionsTracker:
    class FakeMachineTracker(OfflineEmissionsTracker):
        _system_seams = seams

    return FakeMachineTracker(country_iso_code="FRA", measure_power_secs=999, **arguments)


def last_row(path: Path = Path("emissions.csv")) -> dict[str, str]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))[-1]


def test_rapl_and_nvml_counters_reach_the_csv_exactly(tmp_path: Path) -> None:
    fake = FakeSysfs(tmp_path / "root")
    socket0 = fake.add_zone("intel-rapl:0", "package-0", energy_uj=RANGE_UJ - 1_000_000, max_range_uj=RANGE_UJ)
    fake.add_zone("intel-rapl:0:0", "core", energy_uj=5)
    socket1 = fake.add_zone("intel-rapl:1", "package-1", energy_uj=10, max_range_uj=RANGE_UJ)
    dram = fake.add_zone("intel-rapl:0:1", "dram", energy_uj=0)
    gpus = [FakeGpu(uuid=fake_uuid(0), energy_mj=1_000), FakeGpu(uuid=fake_uuid(1), energy_mj=7),
            FakeGpu(uuid=fake_uuid(2), energy_mj=0)]
    nvml = FakeNVML(gpus)
    tracker = tracker_on(SystemSeams(sysfs_root=fake.sys, nvml=nvml, environ={"CUDA_VISIBLE_DEVICES": "0,1"}),
                         on_csv_write="update", rapl_include_dram=True, pue=1.2)
    tracker.start()
    socket0.advance(600_000_000)  # 600 J, wrapping through max_energy_range_uj
    socket1.advance(150_000_000)
    dram.advance(40_000_000)
    gpus[0].advance(250.0)
    gpus[1].advance(125.5)
    gpus[2].advance(10_000.0)  # not tracked: CUDA_VISIBLE_DEVICES hides it
    tracker.flush()
    socket0.advance(1_000_000)
    gpus[1].advance(0.5)
    tracker.stop()

    row = last_row()
    assert row["cpu_measure"] == "rapl" and row["gpu_measure"] == "nvml-energy"
    assert row["ram_measure"] == "rapl-dram"
    assert float(row["cpu_energy"]) == pytest.approx(751.0 * 1.2 / JOULES_PER_KWH, rel=1e-12)
    assert float(row["gpu_energy"]) == pytest.approx(376.0 * 1.2 / JOULES_PER_KWH, rel=1e-12)
    assert float(row["ram_energy"]) == pytest.approx(40.0 * 1.2 / JOULES_PER_KWH, rel=1e-12)
    assert row["gpu_count"] == "2" and "NVIDIA" in row["gpu_model"]
    assert float(row["energy_consumed"]) == pytest.approx(1167.0 * 1.2 / JOULES_PER_KWH, rel=1e-12)


def test_tasks_and_flush_windows_never_double_count(tmp_path: Path) -> None:
    fake = FakeSysfs(tmp_path / "root")
    package = fake.add_zone("intel-rapl:0", "package-0", energy_uj=0)
    tracker = tracker_on(SystemSeams(sysfs_root=fake.sys, nvml=FakeNVML([]), environ={}))
    tracker.start()
    package.advance(5_000_000)
    tracker.start_task("a")
    package.advance(20_000_000)
    task_a = tracker.stop_task("a")
    tracker.flush()
    package.advance(3_000_000)
    tracker.stop()
    assert task_a.cpu_energy == pytest.approx(20.0 / JOULES_PER_KWH, rel=1e-12)
    with open("emissions.csv", newline="") as handle:
        first, final = list(csv.DictReader(handle))
    assert float(first["cpu_energy"]) == pytest.approx(25.0 / JOULES_PER_KWH, rel=1e-12)
    assert float(final["cpu_energy"]) == pytest.approx(28.0 / JOULES_PER_KWH, rel=1e-12)


def test_a_gpu_lost_mid_run_keeps_its_energy_and_the_rest_goes_on(tmp_path: Path) -> None:
    fake = FakeSysfs(tmp_path / "root")
    package = fake.add_zone("intel-rapl:0", "package-0", energy_uj=0)
    gpus = [FakeGpu(uuid=fake_uuid(0)), FakeGpu(uuid=fake_uuid(1))]
    tracker = tracker_on(SystemSeams(sysfs_root=fake.sys, nvml=FakeNVML(gpus), environ={}),
                         on_csv_write="update")
    tracker.start()
    gpus[0].advance(100.0)
    gpus[1].advance(50.0)
    tracker.flush()
    gpus[1].fail_with = 15  # NVML_ERROR_GPU_IS_LOST
    gpus[0].advance(10.0)
    package.advance(7_000_000)
    assert tracker.stop() > 0
    row = last_row()
    assert float(row["gpu_energy"]) == pytest.approx(160.0 / JOULES_PER_KWH, rel=1e-12)
    assert float(row["cpu_energy"]) == pytest.approx(7.0 / JOULES_PER_KWH, rel=1e-12)
