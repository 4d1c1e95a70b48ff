"""A fake host that several processes measure at once: RAPL zones on disk, GPU counters in files.

The RAPL tree is a ``FakeSysfs`` (files, so every process reads the same counters). The GPUs are a ``FakeNVML``
whose energy counters live in one file per GPU, so the test advances them and every process's NVML calls see
the new value. ``SharedHost.describe()`` gives the JSON a worker process (``tests.job_worker``) rebuilds it from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from tests.fakes.fake_pynvml import NVML_ERROR_NOT_SUPPORTED, FakeGpu, FakeNVML, NVMLError, fake_uuid
from tests.fakes.sysfs import FakeSysfs


class FileCounterNVML(FakeNVML):
    """FakeNVML whose energy counters (mJ) are read from ``<directory>/gpu-<index>.mj`` at every call."""

    def __init__(self, directory: Path, devices: list[FakeGpu]) -> None:
        super().__init__(devices)
        self.directory = Path(directory)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:  # noqa: N802 - NVML's name
        self._count("nvmlDeviceGetTotalEnergyConsumption")
        gpu = self._device(handle)
        if not gpu.has_energy_counter:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return int((self.directory / f"gpu-{handle}.mj").read_text())


class SharedHost:
    """One simulated machine: CPU package and DRAM zones, and ``gpus`` GPUs, under ``root``."""

    def __init__(self, root: Path, gpus: int = 4) -> None:
        self.root = Path(root)
        self.sysfs = FakeSysfs(self.root / "machine")
        self.package = self.sysfs.add_zone("intel-rapl:0", "package-0", energy_uj=1_000)
        self.dram = self.sysfs.add_zone("intel-rapl:0:0", "dram", energy_uj=0)
        self.gpu_dir = self.root / "gpus"
        self.gpu_dir.mkdir(parents=True, exist_ok=True)
        self.gpus = gpus
        for index in range(gpus):
            (self.gpu_dir / f"gpu-{index}.mj").write_text("5000\n")
        self.joules = {"cpu": 0.0, "gpu": 0.0, "ram": 0.0}

    def advance(self, cpu_j: float, ram_j: float, gpu_j: list[float]) -> None:
        """The host consumed this much more energy (every process sees it)."""
        self.package.advance(int(cpu_j * 1e6))
        self.dram.advance(int(ram_j * 1e6))
        for index, joules in enumerate(gpu_j):
            path = self.gpu_dir / f"gpu-{index}.mj"
            path.write_text(f"{int(path.read_text()) + int(round(joules * 1000))}\n")
        self.joules["cpu"] += cpu_j
        self.joules["ram"] += ram_j
        self.joules["gpu"] += sum(gpu_j)

    def describe(self) -> dict[str, Any]:
        return {"sysfs": str(self.sysfs.sys), "gpu_dir": str(self.gpu_dir), "gpus": self.gpus}


def nvml_from(description: dict[str, Any]) -> Optional[FileCounterNVML]:
    """The fake NVML a worker builds from ``SharedHost.describe()`` (None without GPUs)."""
    count = int(description.get("gpus", 0))
    if not count:
        return None
    devices = [FakeGpu(uuid=fake_uuid(i), name="NVIDIA H100 80GB HBM3") for i in range(count)]
    return FileCounterNVML(Path(description["gpu_dir"]), devices)


def write_description(path: Path, host: SharedHost, **extra: Any) -> None:
    path.write_text(json.dumps({**host.describe(), **extra}))
