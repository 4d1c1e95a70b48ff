"""NVIDIA GPU detection and energy, driven over the fake NVML module (tests/fakes/fake_pynvml.py)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from codecarbon.hardware.gpus import describe_models, detect_gpus, parse_visible_devices, validate_gpu_ids
from codecarbon.hardware.nvidia import detect_nvidia
from tests.fakes.fake_pynvml import (
    NVML_ERROR_GPU_IS_LOST,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    NVML_ERROR_NO_PERMISSION,
    FakeGpu,
    FakeNVML,
    fake_uuid,
    make_fake_nvml,
)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def gpus(nvml, gpu_ids=None, environ=None, **kwargs):
    return detect_gpus(gpu_ids, environ=environ or {}, nvml=nvml, amdsmi=_NoAmd(), **kwargs)


class _NoAmd:
    """An amdsmi whose init fails: keeps these tests independent of whatever is installed."""

    def amdsmi_init(self):
        raise RuntimeError("no driver")


# --------------------------------------------------------------------------------------------------- energy

def test_energy_counter_reads_exactly_what_the_gpus_consumed():
    nvml = make_fake_nvml(2, name="NVIDIA A100-SXM4-40GB")
    for i, gpu in enumerate(nvml.devices):
        gpu.energy_mj = 5_000_000 * (i + 1)  # energy before the run must not count
    inventory = gpus(nvml)
    (source,) = inventory.sources
    assert source.method == "nvml-energy"
    assert source.component == "gpu"
    source.open()
    nvml.devices[0].advance(120.5)
    nvml.devices[1].advance(30.25)
    assert source.read_joules() == pytest.approx(150.75, abs=1e-9)
    nvml.devices[1].advance(9.75)
    assert source.read_joules() == pytest.approx(160.5, abs=1e-9)
    source.close()
    assert nvml.initialised == 0


def test_without_counter_power_is_integrated_with_the_trapezoid_rule():
    clock = Clock()
    gpu = FakeGpu(uuid=fake_uuid(0), name="Tesla K80", has_energy_counter=False, power_mw=100_000)
    nvml = FakeNVML([gpu])
    found = detect_nvidia(None, environ={}, nvml=nvml, clock=clock)
    source = found.source
    assert source.method == "nvml-power"
    source.open()
    clock.now += 10
    gpu.power_mw = 200_000  # ramps from 100 W to 200 W over 10 s: 1500 J by the trapezoid rule
    assert source.read_joules() == pytest.approx(1500.0)
    clock.now += 5
    assert source.read_joules() == pytest.approx(1500.0 + 1000.0)


def test_power_sampling_stays_within_the_integration_error_of_the_true_energy():
    clock = Clock()
    gpu = FakeGpu(uuid=fake_uuid(0), has_energy_counter=False)
    nvml = FakeNVML([gpu])
    source = detect_nvidia(None, environ={}, nvml=nvml, clock=clock).source

    def power_at(t: float) -> float:  # a slow linear ramp, 50 W → 250 W over 100 s
        return 50.0 + 2.0 * t

    gpu.power_mw = int(power_at(0) * 1000)
    source.open()
    for step in range(1, 21):
        clock.now += 5
        gpu.power_mw = int(power_at(step * 5) * 1000)
        source.read_joules()
    true_energy = 50.0 * 100 + 100.0 ** 2  # ∫ 50 + 2t dt from 0 to 100
    assert source.read_joules() == pytest.approx(true_energy, rel=1e-3)


def test_mixed_gpus_are_labelled_with_both_methods():
    nvml = FakeNVML([FakeGpu(uuid=fake_uuid(0)), FakeGpu(uuid=fake_uuid(1), has_energy_counter=False)])
    (source,) = gpus(nvml).sources
    assert source.method == "nvml-energy+nvml-power"


def test_one_failing_gpu_is_dropped_once_and_the_others_go_on(codecarbon_log, monkeypatch):
    import codecarbon.external.logger as logger_module

    monkeypatch.setattr(logger_module, "_said_once", set())  # an earlier test may have dropped the same fake GPU
    nvml = make_fake_nvml(3)
    (source,) = gpus(nvml).sources
    source.open()
    for gpu in nvml.devices:
        gpu.advance(10)
    assert source.read_joules() == pytest.approx(30)
    nvml.devices[1].fail_with = NVML_ERROR_GPU_IS_LOST
    for gpu in nvml.devices:
        gpu.advance(10)
    assert source.read_joules() == pytest.approx(50)  # GPU 1 keeps its 10 J, the others add 10 each
    for gpu in nvml.devices:
        gpu.advance(10)
    assert source.read_joules() == pytest.approx(70)
    drops = [r for r in codecarbon_log.records if "stopped answering" in r.getMessage()]
    assert len(drops) == 1 and "GPU 1" in drops[0].getMessage()
    assert source.utilization_percent() is not None


def test_read_never_raises_even_when_every_gpu_fails():
    nvml = make_fake_nvml(2)
    (source,) = gpus(nvml).sources
    source.open()
    nvml.devices[0].advance(4)
    source.read_joules()
    for gpu in nvml.devices:
        gpu.fail_with = NVML_ERROR_NO_PERMISSION
    assert source.read_joules() == pytest.approx(4)
    assert source.utilization_percent() is None


def test_a_gpu_that_reports_nothing_is_not_tracked():
    nvml = FakeNVML([FakeGpu(uuid=fake_uuid(0), name="A"),
                     FakeGpu(uuid=fake_uuid(1), name="B", has_energy_counter=False, has_power_reading=False)])
    inventory = gpus(nvml)
    assert inventory.gpu_count == 1 and inventory.gpu_model == "1 x A"


def test_each_tick_costs_one_energy_call_per_gpu_and_no_static_reads():
    nvml = make_fake_nvml(8)
    (source,) = gpus(nvml).sources
    source.open()
    nvml.calls.clear()
    source.read_joules()
    assert dict(nvml.calls) == {"nvmlDeviceGetTotalEnergyConsumption": 8}
    nvml.calls.clear()
    source.utilization_percent()
    assert dict(nvml.calls) == {"nvmlDeviceGetUtilizationRates": 8}


def test_reopen_starts_from_zero_and_close_reinitialises():
    nvml = make_fake_nvml(1)
    (source,) = gpus(nvml).sources
    source.open()
    nvml.devices[0].advance(7)
    assert source.read_joules() == pytest.approx(7)
    source.close()
    assert nvml.initialised == 0
    assert source.read_joules() == pytest.approx(7)  # reading after close keeps the figure, drops nothing
    source.open()  # a new run after stop()
    assert nvml.initialised == 1
    nvml.devices[0].advance(3)
    assert source.read_joules() == pytest.approx(3)


def test_counter_going_backwards_is_not_negative_energy():
    nvml = make_fake_nvml(1)
    (source,) = gpus(nvml).sources
    source.open()
    nvml.devices[0].advance(5)
    source.read_joules()
    nvml.devices[0].energy_mj = 0  # driver reloaded
    assert source.read_joules() == pytest.approx(5)
    nvml.devices[0].advance(2)
    assert source.read_joules() == pytest.approx(7)


def test_utilization_is_the_mean_of_tracked_gpus():
    nvml = make_fake_nvml(3)
    for gpu, value in zip(nvml.devices, (10, 50, 90), strict=True):
        gpu.utilization = value
    (source,) = gpus(nvml, gpu_ids=[0, 1]).sources
    assert source.utilization_percent() == pytest.approx(30)


# ------------------------------------------------------------------------------------------------ selection

def test_model_counts_only_tracked_gpus_per_distinct_name():
    nvml = FakeNVML([FakeGpu(uuid=fake_uuid(0), name="NVIDIA A100-SXM4-40GB"),
                     FakeGpu(uuid=fake_uuid(1), name="NVIDIA A100-SXM4-40GB"),
                     FakeGpu(uuid=fake_uuid(2), name="NVIDIA T4"),
                     FakeGpu(uuid=fake_uuid(3), name="NVIDIA T4")])
    inventory = gpus(nvml, gpu_ids=[0, 1, 3])
    assert inventory.gpu_count == 3
    assert inventory.gpu_model == "2 x NVIDIA A100-SXM4-40GB, 1 x NVIDIA T4"
    assert inventory.gpu_ids == [0, 1, 3]
    assert gpus(make_fake_nvml(2)).gpu_ids is None


def test_gpu_ids_by_index_digit_string_and_uuid_prefix():
    nvml = make_fake_nvml(4)
    for gpu in nvml.devices:
        gpu.energy_mj = 0
    inventory = gpus(nvml, gpu_ids="1, 3")
    assert inventory.gpu_ids == [1, 3]
    # a real NVML UUID, with and without the "GPU-" prefix, matched by prefix
    uuid2 = fake_uuid(2)
    assert gpus(nvml, gpu_ids=[uuid2[:14]]).gpu_ids == [2]
    assert gpus(nvml, gpu_ids=[uuid2[4:14].upper()]).gpu_ids == [2]
    assert gpus(nvml, gpu_ids=[0, uuid2]).gpu_ids == [0, 2]


def test_selected_gpus_alone_are_measured():
    nvml = make_fake_nvml(3)
    (source,) = gpus(nvml, gpu_ids=[2]).sources
    source.open()
    for gpu in nvml.devices:
        gpu.advance(100)
    nvml.devices[2].advance(1)
    assert source.read_joules() == pytest.approx(101)


def test_unmatched_ids_warn_and_an_empty_selection_tracks_nothing(codecarbon_log):
    nvml = make_fake_nvml(2)
    inventory = gpus(nvml, gpu_ids=[7, "GPU-ffffffff"])
    assert inventory.sources == [] and inventory.gpu_count == 0 and inventory.gpu_model == ""
    text = codecarbon_log.text
    assert "'7'" in text and "GPU-ffffffff" in text
    assert nvml.initialised == 0  # nothing tracked: NVML released


def test_cuda_visible_devices_with_indices_is_honoured_when_gpu_ids_unset():
    nvml = make_fake_nvml(4)
    assert gpus(nvml, environ={"CUDA_VISIBLE_DEVICES": "2,0"}).gpu_ids == [0, 2]
    # explicit gpu_ids win over the environment
    assert gpus(nvml, gpu_ids=[3], environ={"CUDA_VISIBLE_DEVICES": "2,0"}).gpu_ids == [3]


def test_cuda_visible_devices_follows_cuda_rules_for_empty_and_negative():
    nvml = make_fake_nvml(4)
    assert gpus(nvml, environ={"CUDA_VISIBLE_DEVICES": ""}).gpu_count == 0
    assert gpus(nvml, environ={"CUDA_VISIBLE_DEVICES": "1,-1,2"}).gpu_ids == [1]
    assert parse_visible_devices(" 0 , 1 ,") == ["0", "1"]


def test_cuda_visible_devices_with_gpu_uuids():
    nvml = make_fake_nvml(3)
    env = {"CUDA_VISIBLE_DEVICES": f"{fake_uuid(2)},{fake_uuid(1)[:12]}"}
    inventory = gpus(nvml, environ=env)
    assert inventory.gpu_ids == [1, 2]
    assert inventory.sources[0].method == "nvml-energy"


def test_mig_uuid_maps_to_its_parent_gpu_flagged_shared(codecarbon_log):
    nvml = make_fake_nvml(2)
    nvml.devices[1].mig_uuids = ["MIG-5c3d7f2a-aaaa-5bbb-9ccc-000000000001",
                                 "MIG-5c3d7f2a-aaaa-5bbb-9ccc-000000000002"]
    env = {"CUDA_VISIBLE_DEVICES": "MIG-5c3d7f2a-aaaa-5bbb-9ccc-000000000002"}
    inventory = gpus(nvml, environ=env)
    assert inventory.gpu_ids == [1]
    (source,) = inventory.sources
    assert source.method == "nvml-energy+shared"
    assert "whole GPU" in codecarbon_log.text
    source.open()
    nvml.devices[1].advance(12)
    nvml.devices[0].advance(99)
    assert source.read_joules() == pytest.approx(12)


def test_two_mig_slices_of_one_gpu_count_it_once():
    nvml = make_fake_nvml(1)
    nvml.devices[0].mig_uuids = ["MIG-aaaa1111-0000-0000-0000-000000000001", "MIG-aaaa1111-0000-0000-0000-00000000002"]
    inventory = gpus(nvml, environ={"CUDA_VISIBLE_DEVICES": ",".join(nvml.devices[0].mig_uuids)})
    assert inventory.gpu_count == 1


def test_legacy_mig_form_names_the_parent_gpu():
    nvml = make_fake_nvml(2)
    legacy = f"MIG-{fake_uuid(1)}/1/0"
    inventory = gpus(nvml, environ={"CUDA_VISIBLE_DEVICES": legacy})
    assert inventory.gpu_ids == [1]
    assert inventory.sources[0].method == "nvml-energy+shared"


@pytest.mark.parametrize("bad", [3.5, {"a": 1}, [True], [-1], [0, 1.5]])
def test_bad_gpu_ids_raise_a_value_error_naming_the_parameter(bad):
    with pytest.raises(ValueError, match="gpu_ids"):
        detect_gpus(bad, environ={}, nvml=make_fake_nvml(1), amdsmi=_NoAmd())


def test_bad_tracking_mode_raises():
    with pytest.raises(ValueError, match="tracking_mode"):
        detect_gpus(None, environ={}, nvml=make_fake_nvml(1), amdsmi=_NoAmd(), tracking_mode="gpu")


def test_validate_gpu_ids_shapes():
    assert validate_gpu_ids("0, 1") == ["0", "1"]
    assert validate_gpu_ids([0, "GPU-ab,1"]) == ["0", "GPU-ab", "1"]
    assert validate_gpu_ids(None) is None
    assert validate_gpu_ids("[0, 1, 2") == ["0", "1", "2"]
    assert validate_gpu_ids("MIG-f1e$%^") == ["MIG-f1e"]
    assert validate_gpu_ids(["MIG-GPU-ab12/1/0"]) == ["MIG-GPU-ab12/1/0"]
    assert describe_models(["a", "b", "a"]) == "2 x a, 1 x b"


# --------------------------------------------------------------------------------------------- no NVML at all

def test_library_that_does_not_initialise_means_no_nvidia_gpu(codecarbon_log):
    nvml = FakeNVML([FakeGpu(uuid=fake_uuid(0))], init_error=NVML_ERROR_LIBRARY_NOT_FOUND)
    inventory = gpus(nvml)
    assert inventory.sources == [] and inventory.gpu_count == 0 and inventory.gpu_model == ""
    assert not [r for r in codecarbon_log.records if r.levelno >= logging.WARNING]


def test_pynvml_not_installed_means_no_nvidia_gpu(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml now raises ImportError
    assert detect_nvidia(None, environ={}) is None


def test_real_pynvml_on_a_machine_without_driver_is_quiet():
    pytest.importorskip("pynvml")
    found = detect_nvidia(None, environ={})  # this machine has no NVIDIA driver (or, if it has, real GPUs)
    assert found is None or found.source is None or found.source.read_joules() >= 0.0
    if found is not None and found.source is not None:
        found.source.close()


def test_importing_codecarbon_hardware_does_not_import_vendor_libraries():
    code = ("import sys, codecarbon.hardware.gpus, codecarbon.hardware.nvidia, codecarbon.hardware.amd;"
            "print('pynvml' in sys.modules, 'amdsmi' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------------------------------------- process mode

def test_process_mode_apportions_energy_by_the_trees_sm_utilisation():
    me = os.getpid()
    other = _some_other_live_pid()
    gpu = FakeGpu(uuid=fake_uuid(0), process_samples=[(other, 10, 50)])  # before the run: ignored
    nvml = FakeNVML([gpu])
    (source,) = gpus(nvml, tracking_mode="process", pid=me).sources
    assert source.method == "nvml-energy+process-share"
    source.open()
    gpu.process_samples += [(me, 20, 60), (other, 21, 20), (me, 30, 15), (other, 31, 5)]
    gpu.advance(100)
    assert source.read_joules() == pytest.approx(100 * 75 / 100)
    gpu.advance(40)  # no process sampled in this window: nothing is ours
    assert source.read_joules() == pytest.approx(75)
    gpu.process_samples += [(other, 40, 30)]
    gpu.advance(10)
    assert source.read_joules() == pytest.approx(75)


def test_process_mode_counts_descendants():
    me = os.getpid()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        other = _some_other_live_pid(exclude={child.pid})
        gpu = FakeGpu(uuid=fake_uuid(0), process_samples=[])
        nvml = FakeNVML([gpu])
        (source,) = gpus(nvml, tracking_mode="process", pid=me).sources
        source.open()
        gpu.process_samples += [(child.pid, 5, 30), (other, 6, 10)]
        gpu.advance(80)
        assert source.read_joules() == pytest.approx(60)
    finally:
        child.kill()
        child.wait()


def test_process_mode_without_per_process_figures_keeps_whole_gpu_energy(codecarbon_log):
    gpu = FakeGpu(uuid=fake_uuid(0), process_samples=None)
    nvml = FakeNVML([gpu])
    (source,) = gpus(nvml, tracking_mode="process", pid=os.getpid()).sources
    assert source.method == "nvml-energy"
    source.open()
    gpu.advance(20)
    assert source.read_joules() == pytest.approx(20)
    assert "whole energy" in codecarbon_log.text


def test_machine_mode_never_asks_for_process_utilisation():
    gpu = FakeGpu(uuid=fake_uuid(0), process_samples=[(1, 1, 1)])
    nvml = FakeNVML([gpu])
    (source,) = gpus(nvml).sources
    source.open()
    gpu.advance(1)
    source.read_joules()
    assert nvml.calls["nvmlDeviceGetProcessUtilization"] == 0


def _some_other_live_pid(exclude: set = frozenset()) -> int:
    import psutil

    me = os.getpid()
    mine = {me} | {c.pid for c in psutil.Process(me).children(recursive=True)} | set(exclude)
    return next(p for p in (os.getppid(), 1) if p not in mine)


def test_process_mode_without_pid_follows_this_process():
    gpu = FakeGpu(uuid=fake_uuid(0), process_samples=[])
    nvml = FakeNVML([gpu])
    (source,) = gpus(nvml, tracking_mode="process").sources
    source.open()
    gpu.process_samples += [(os.getpid(), 3, 40), (_some_other_live_pid(), 4, 40)]
    gpu.advance(10)
    assert source.read_joules() == pytest.approx(5)
