"""AMD GPU detection and energy, driven over the fake amdsmi module (tests/fakes/fake_amdsmi.py)."""

from __future__ import annotations

import logging
import sys

import pytest

from codecarbon.hardware.amd import counter_delta, detect_amd
from codecarbon.hardware.gpus import detect_gpus
from tests.fakes.fake_amdsmi import AMDSMI_STATUS_DRIVER_NOT_LOADED, AMDSMI_STATUS_NOT_SUPPORTED, FakeAmdGpu, FakeAmdSmi
from tests.fakes.fake_pynvml import NVML_ERROR_DRIVER_NOT_LOADED, FakeGpu, FakeNVML, fake_uuid


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def no_nvml() -> FakeNVML:
    return FakeNVML(init_error=NVML_ERROR_DRIVER_NOT_LOADED)


def amd_uuid(i: int) -> str:
    return f"{i:02x}ff74a1-0000-1000-80e8-8bbdb8ff4e{i:02x}"


def machine(*gpus: FakeAmdGpu) -> FakeAmdSmi:
    return FakeAmdSmi(list(gpus))


def test_energy_is_accumulator_times_resolution_since_open():
    gpu0 = FakeAmdGpu(uuid=amd_uuid(0), counter_resolution=15.3, energy_uj=9e9)
    gpu1 = FakeAmdGpu(uuid=amd_uuid(1), counter_resolution=1.0)
    amdsmi = machine(gpu0, gpu1)
    inventory = detect_gpus(None, environ={}, nvml=no_nvml(), amdsmi=amdsmi)
    (source,) = inventory.sources
    assert source.method == "amdsmi" and source.component == "gpu"
    assert inventory.gpu_count == 2 and inventory.gpu_model == "2 x AMD Instinct MI250X"
    source.open()
    start0, start1 = gpu0.accumulator(), gpu1.accumulator()
    gpu0.advance(250.0)
    gpu1.advance(40.0)
    expected = ((gpu0.accumulator() - start0) * 15.3 + (gpu1.accumulator() - start1) * 1.0) / 1e6
    assert source.read_joules() == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(290.0, abs=1e-4)  # within one counter unit of what the GPUs used
    source.close()
    assert amdsmi.initialised is False


def test_older_amdsmi_power_key_is_read_the_same_way():
    gpu = FakeAmdGpu(uuid=amd_uuid(0), legacy_power_key=True, counter_resolution=1.0)
    found = detect_amd(None, environ={}, amdsmi=machine(gpu))
    found.source.open()
    gpu.advance(3.5)
    assert found.source.read_joules() == pytest.approx(3.5)


def test_32_bit_accumulator_wraparound_is_counted_exactly():
    clock = Clock()
    gpu = FakeAmdGpu(uuid=amd_uuid(0), counter_bits=32, counter_resolution=1.0)
    gpu.energy_uj = (1 << 32) - 1_000_000  # one joule below the wrap
    found = detect_amd(None, environ={}, amdsmi=machine(gpu), clock=clock)
    source = found.source
    source.open()
    clock.now += 10
    gpu.advance(3.0)  # crosses 2**32 µJ
    assert gpu.accumulator() < 1 << 31
    assert source.read_joules() == pytest.approx(3.0)
    clock.now += 10
    gpu.advance(2.0)
    assert source.read_joules() == pytest.approx(5.0)


def test_counter_delta_rules():
    assert counter_delta(10, 25, 1.0, 1.0) == 15
    assert counter_delta((1 << 32) - 5, 5, 1.0, 1.0) == 10
    # an implausible wrap (petajoules in a second) is a reset: count from zero
    assert counter_delta((1 << 40), 7, 1.0, 1.0) == 7


def test_library_present_without_driver_means_no_amd_gpu(codecarbon_log):
    amdsmi = FakeAmdSmi([FakeAmdGpu(uuid=amd_uuid(0))], init_error=AMDSMI_STATUS_DRIVER_NOT_LOADED)
    inventory = detect_gpus(None, environ={}, nvml=no_nvml(), amdsmi=amdsmi)
    assert inventory.sources == [] and inventory.gpu_count == 0 and inventory.gpu_model == ""
    assert not [r for r in codecarbon_log.records if r.levelno >= logging.WARNING]


def test_amdsmi_not_installed_means_no_amd_gpu(monkeypatch):
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    assert detect_amd(None, environ={}) is None


def test_failing_gpu_is_dropped_once_and_others_go_on(codecarbon_log):
    gpus = [FakeAmdGpu(uuid=amd_uuid(i), counter_resolution=1.0) for i in range(3)]
    source = detect_amd(None, environ={}, amdsmi=machine(*gpus)).source
    source.open()
    for gpu in gpus:
        gpu.advance(1.0)
    assert source.read_joules() == pytest.approx(3.0)
    gpus[0].fail_with = AMDSMI_STATUS_NOT_SUPPORTED
    for _ in range(2):
        for gpu in gpus:
            gpu.advance(1.0)
        source.read_joules()
    assert source.read_joules() == pytest.approx(1.0 + 3.0 + 3.0)  # GPU 0 keeps its 1 J
    assert len([r for r in codecarbon_log.records if "stopped answering" in r.getMessage()]) == 1


def test_selection_by_index_uuid_and_rocr_visible_devices():
    gpus = [FakeAmdGpu(uuid=amd_uuid(i), market_name=f"AMD Radeon {i}") for i in range(3)]
    amdsmi = machine(*gpus)
    assert detect_gpus([2], environ={}, nvml=no_nvml(), amdsmi=amdsmi).gpu_model == "1 x AMD Radeon 2"
    inv = detect_gpus(None, environ={"ROCR_VISIBLE_DEVICES": amd_uuid(1)[:8]}, nvml=no_nvml(), amdsmi=amdsmi)
    assert inv.gpu_ids == [1]
    inv = detect_gpus(None, environ={"HIP_VISIBLE_DEVICES": "0,2"}, nvml=no_nvml(), amdsmi=amdsmi)
    assert inv.gpu_ids == [0, 2]
    # ROCR wins over HIP and CUDA
    env = {"ROCR_VISIBLE_DEVICES": "1", "HIP_VISIBLE_DEVICES": "2", "CUDA_VISIBLE_DEVICES": "0"}
    assert detect_gpus(None, environ=env, nvml=no_nvml(), amdsmi=amdsmi).gpu_ids == [1]


def test_utilisation_is_mean_gfx_activity_ignoring_na():
    gpus = [FakeAmdGpu(uuid=amd_uuid(0), gfx_activity=40), FakeAmdGpu(uuid=amd_uuid(1), gfx_activity=80),
            FakeAmdGpu(uuid=amd_uuid(2), gfx_activity="N/A")]
    source = detect_amd(None, environ={}, amdsmi=machine(*gpus)).source
    assert source.utilization_percent() == pytest.approx(60.0)


def test_one_energy_call_per_gpu_per_tick():
    gpus = [FakeAmdGpu(uuid=amd_uuid(i)) for i in range(4)]
    amdsmi = machine(*gpus)
    source = detect_amd(None, environ={}, amdsmi=amdsmi).source
    source.open()
    amdsmi.calls.clear()
    source.read_joules()
    assert dict(amdsmi.calls) == {"amdsmi_get_energy_count": 4}


def test_reopen_after_close_finds_gpus_again_and_restarts_from_zero():
    gpu = FakeAmdGpu(uuid=amd_uuid(0), counter_resolution=1.0)
    amdsmi = machine(gpu)
    source = detect_amd(None, environ={}, amdsmi=amdsmi).source
    source.open()
    gpu.advance(4.0)
    assert source.read_joules() == pytest.approx(4.0)
    source.close()
    source.open()
    assert amdsmi.initialised is True
    gpu.advance(1.0)
    assert source.read_joules() == pytest.approx(1.0)


def test_nvidia_and_amd_together_share_the_inventory():
    nvml = FakeNVML([FakeGpu(uuid=fake_uuid(0), name="NVIDIA T4")])
    amdsmi = machine(FakeAmdGpu(uuid=amd_uuid(0), market_name="AMD Instinct MI300X"))
    inventory = detect_gpus(None, environ={}, nvml=nvml, amdsmi=amdsmi)
    assert [s.method for s in inventory.sources] == ["nvml-energy", "amdsmi"]
    assert inventory.gpu_count == 2
    assert inventory.gpu_model == "1 x NVIDIA T4, 1 x AMD Instinct MI300X"


def test_process_mode_keeps_whole_gpu_energy_for_amd():
    gpu = FakeAmdGpu(uuid=amd_uuid(0), counter_resolution=1.0)
    source = detect_amd(None, environ={}, amdsmi=machine(gpu), tracking_mode="process", pid=1).source
    assert source.method == "amdsmi"
    source.open()
    gpu.advance(2.0)
    assert source.read_joules() == pytest.approx(2.0)
