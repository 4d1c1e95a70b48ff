"""The 3.3.2 compatibility surface (docs/compat.md): private attributes real integrations read, with 3.3.2's
meaning, over the tracker's real readings; Hugging Face's CodeCarbonCallback driven as Trainer drives it."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from codecarbon import OfflineEmissionsTracker
from codecarbon.core.units import JOULES_PER_KWH, Energy, Power
from codecarbon.hardware import SystemSeams
from codecarbon.output_methods.emissions_data import EmissionsData
from tests.fakes.fake_pynvml import FakeGpu, FakeNVML, fake_uuid
from tests.fakes.sysfs import FakeSysfs

REPO = Path(__file__).resolve().parents[1]


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def machine(tmp_path: Path):
    """A fake machine: one RAPL package and one NVIDIA GPU whose counters the test advances."""
    fake = FakeSysfs(tmp_path / "root")
    package = fake.add_zone("intel-rapl:0", "package-0", energy_uj=0)
    gpu = FakeGpu(uuid=fake_uuid(0), energy_mj=0)
    seams = SystemSeams(sysfs_root=fake.sys, nvml=FakeNVML([gpu]), environ={})

    class FakeMachineTracker(OfflineEmissionsTracker):
        _system_seams = seams

    def make(**arguments) -> OfflineEmissionsTracker:
        return FakeMachineTracker(country_iso_code="FRA", measure_power_secs=999, force_ram_power=10.0,
                                  **arguments)

    return SimpleNamespace(make=make, package=package, gpu=gpu)


def test_totals_are_the_sampler_readings_with_pue(machine) -> None:
    tracker = machine.make(pue=1.5)
    assert tracker._total_energy == Energy(0.0) and tracker._cpu_power == Power(0.0)  # before start: zeros
    tracker.start()
    machine.package.advance(3_600_000_000)  # 3600 J on the CPU counter
    machine.gpu.advance(7200.0)  # 7200 J on the GPU counter
    cpu, gpu, ram = tracker._total_cpu_energy, tracker._total_gpu_energy, tracker._total_ram_energy
    assert cpu.kWh == pytest.approx(3600 * 1.5 / JOULES_PER_KWH, rel=1e-9)
    assert gpu.kWh == pytest.approx(7200 * 1.5 / JOULES_PER_KWH, rel=1e-9)
    assert ram.kWh > 0
    assert tracker._total_energy.kWh == pytest.approx(cpu.kWh + gpu.kWh + ram.kWh, rel=1e-12)
    machine.package.advance(360_000_000)
    kg = tracker.stop()
    final = tracker.final_emissions_data
    assert kg > 0 and tracker._total_energy.kWh == final.energy_consumed  # after stop: the run's row
    assert tracker._total_cpu_energy.kWh == pytest.approx(3960 * 1.5 / JOULES_PER_KWH, rel=1e-9)
    assert tracker._total_gpu_energy.kWh == final.gpu_energy and tracker._ram_power.W == final.ram_power
    assert tracker._total_water.litres == 0.0


def test_powers_cover_the_time_since_the_previous_measurement(machine) -> None:
    tracker = machine.make(pue=2.0)
    tracker.start()
    tracker._measure_power_and_energy()
    began = time.monotonic()
    time.sleep(0.2)
    machine.package.advance(50_000_000)  # 50 J in this interval
    tracker._measure_power_and_energy()
    elapsed = time.monotonic() - began
    cpu = tracker._cpu_power
    assert isinstance(cpu, Power) and cpu.kW == pytest.approx(cpu.W / 1000)
    assert 50 * 2.0 / (elapsed + 0.05) < cpu.W <= 50 * 2.0 / elapsed * 1.05
    assert tracker._ram_power.W == pytest.approx(10.0 * 2.0, rel=1e-3)  # constant 10 W RAM, PUE applied
    assert tracker._gpu_power.W == 0.0
    tracker.stop()


def test_start_time_and_prepare_emissions_data_as_model_cards_use_them(machine) -> None:
    tracker = machine.make(project_name="card")
    assert tracker._start_time is None and tracker._prepare_emissions_data() is None
    tracker.start()
    assert tracker._start_time == pytest.approx(time.perf_counter(), abs=0.5)
    machine.package.advance(1_000_000_000)
    if tracker._start_time is not None:  # what sentence-transformers' model card does
        data = tracker._prepare_emissions_data()
    assert isinstance(data, EmissionsData)
    assert data.project_name == "card" and data.duration > 0 and data.emissions > 0
    assert data.cpu_energy == pytest.approx(1000 / JOULES_PER_KWH, rel=1e-9)
    tracker.stop()
    assert tracker._start_time is None
    assert tracker._prepare_emissions_data() is tracker.final_emissions_data


def test_project_name_none_writes_an_empty_cell_as_comet_gets_in_3x(tmp_path: Path) -> None:
    tracker = OfflineEmissionsTracker(project_name=None, country_iso_code="FRA", output_dir=str(tmp_path),
                                      measure_power_secs=999, force_cpu_power=10.0, force_ram_power=1.0)
    tracker.start()
    tracker.stop()
    (row,) = rows(tmp_path / "emissions.csv")
    assert row["project_name"] == ""


def test_reads_never_raise_and_deprecated_token_name_reads_back(machine) -> None:
    tracker = machine.make(electricitymaps_api_token="tok")
    tracker._measure_power_and_energy()  # not started: logged, nothing raised
    assert tracker._co2_signal_api_token == "tok"


# ------------------------------------------------------------------------------------ Hugging Face transformers
HF_SCRIPT = r"""
import sys, types
from pathlib import Path
out = Path(sys.argv[1])
import codecarbon
from codecarbon import EmissionsTracker

class NoNetworkTracker(EmissionsTracker):  # the location seam: no geolocation request leaves the machine
    def _get_geo_metadata(self):
        from codecarbon.intensity import resolve_offline_location
        return resolve_offline_location("FRA")

codecarbon.EmissionsTracker = NoNetworkTracker
from transformers.integrations import integration_utils
from transformers.integrations import CodeCarbonCallback
if not hasattr(integration_utils, "torch"):  # the callback checks torch.version.hip; torch is not installed
    integration_utils.torch = types.SimpleNamespace(version=types.SimpleNamespace(hip=None))
from transformers import TrainerControl, TrainerState

callback = CodeCarbonCallback()
args = types.SimpleNamespace(output_dir=str(out))
state = TrainerState(is_local_process_zero=True, is_world_process_zero=True)
control = TrainerControl()
callback.on_init_end(args, state, control)
callback.on_train_begin(args, state, control, model=None)
x = 0
for i in range(200000):
    x += i * i
callback.on_train_end(args, state, control)
print("kg", callback.tracker.final_emissions)
"""


def test_transformers_codecarbon_callback_as_trainer_drives_it(tmp_path: Path) -> None:
    pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    out = tmp_path / "trainer-output"
    out.mkdir()
    done = subprocess.run([sys.executable, "-c", HF_SCRIPT, str(out)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path,
                          env={"PYTHONPATH": str(REPO), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
                               "CODECARBON_MEASURE_POWER_SECS": "0.1", "CODECARBON_FORCE_CPU_POWER": "20",
                               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = rows(out / "emissions.csv")
    assert float(row["duration"]) > 0 and float(row["energy_consumed"]) > 0
    assert row["country_iso_code"] == "FRA"
    assert "kg " in done.stdout
