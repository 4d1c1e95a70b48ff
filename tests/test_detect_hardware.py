"""detect_hardware: validation at construction, caching, fresh sources per call, facts, light imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from codecarbon.hardware import HardwareOptions, SystemSeams, clear_cache, detect_hardware
from tests.fakes.sysfs import FakeSysfs


@pytest.fixture
def seams(tmp_path: Path) -> SystemSeams:
    fs = FakeSysfs(tmp_path)
    fs.write_cpuinfo("AMD EPYC 7763 64-Core Processor", sockets=1, cores_per_socket=64)
    fs.write_meminfo(256 * 1024 * 1024, 200 * 1024 * 1024)
    fs.write_stat(100, 100, 100)
    return SystemSeams(fs.sys, fs.proc, environ={})


@pytest.mark.parametrize("kwargs, name", [
    ({"tracking_mode": "container"}, "tracking_mode"),
    ({"force_cpu_power": -5}, "force_cpu_power"),
    ({"force_cpu_power": "toto"}, "force_cpu_power"),
    ({"force_ram_power": float("nan")}, "force_ram_power"),
    ({"rapl_include_dram": "yes"}, "rapl_include_dram"),
    ({"gpu_ids": "0,1"}, "gpu_ids"),
])
def test_bad_options_fail_at_construction_naming_the_parameter(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        HardwareOptions(**kwargs)


def test_bad_pid_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="pid"):
        SystemSeams(pid=0)


def test_static_facts(seams: SystemSeams) -> None:
    hardware = detect_hardware(HardwareOptions(), seams)
    assert hardware.cpu_model == "AMD EPYC 7763 64-Core Processor"
    assert (hardware.cpu_count, hardware.cpu_physical_count, hardware.ram_total_size) == (128, 64, 256.0)
    assert hardware.measure_label("cpu") == "tdp-model" and hardware.measure_label("ram") == "ram-model"
    assert any("7763" in note for note in hardware.notes)


def test_second_call_reuses_facts_but_gives_fresh_sources(seams: SystemSeams) -> None:
    first = detect_hardware(HardwareOptions(), seams)
    (seams.proc_root / "cpuinfo").write_text("processor\t: 0\nmodel name\t: Changed\n")
    second = detect_hardware(HardwareOptions(), seams)
    assert second.cpu_model == first.cpu_model  # cached: nothing re-read
    assert not set(map(id, first.sources)) & set(map(id, second.sources))
    clear_cache()
    assert detect_hardware(HardwareOptions(), seams).cpu_model == "Changed"


def test_sources_measure_from_open(seams: SystemSeams) -> None:
    hardware = detect_hardware(HardwareOptions(force_cpu_power=100.0, force_ram_power=10.0), seams)
    for source in hardware.sources:
        source.open()
    assert all(source.read_joules() >= 0.0 for source in hardware.sources)
    assert {s.method for s in hardware.sources} == {"tdp-model", "constant"}


def test_importing_the_package_stays_light() -> None:
    code = ("import sys, codecarbon.hardware; heavy = {'pandas', 'requests', 'pynvml', 'amdsmi', 'psutil', "
            "'prometheus_client'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"


def test_vendor_bindings_are_not_loaded_where_no_driver_is_visible(tmp_path) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from codecarbon.hardware.base import AMD_DRIVER_PATHS, NVIDIA_DRIVER_PATHS

    if any(os.path.exists(p) for p in NVIDIA_DRIVER_PATHS + AMD_DRIVER_PATHS) or not sys.platform.startswith("linux"):
        import pytest

        pytest.skip("a GPU driver is visible here")
    code = ("import sys\nfrom codecarbon.hardware.gpus import detect_gpus\n"
            "inventory = detect_gpus(None, environ={})\n"
            "print(inventory.gpu_count, 'pynvml' in sys.modules, 'amdsmi' in sys.modules,\n"
            "      'codecarbon.hardware.nvidia' in sys.modules, 'codecarbon.hardware.amd' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["0", "False", "False", "False", "False"], out.stderr
