"""Process mode: a machine-wide source apportioned to the tracked process tree, tick by tick.

Each reading takes the machine source's energy since the previous reading and multiplies it by the tree's share
over the same interval (CPU-time share for the CPU, resident-memory share for RAM; see hardware.attribution). The
same wrapper serves measured counters (RAPL) and estimates, so both are apportioned identically, and the label
says so: "rapl+process-share", "tdp-model+process-share", ...
"""

from __future__ import annotations

from typing import Protocol

from codecarbon.hardware.base import EnergySource


class Share(Protocol):
    def start(self) -> None: ...

    def step(self) -> float: ...


class ProcessShareSource(EnergySource):
    """``Σ Δmachine_energy × share`` over the readings since ``open()``."""

    def __init__(self, machine: EnergySource, share: Share) -> None:
        self.machine = machine
        self.share = share
        self.component = machine.component
        self.method = f"{machine.method}+process-share"
        self._last_machine = 0.0
        self._joules = 0.0

    def open(self) -> None:
        self.machine.open()
        self.share.start()
        self._last_machine = self.machine.read_joules()
        self._joules = 0.0

    def read_joules(self) -> float:
        machine = self.machine.read_joules()
        step = machine - self._last_machine
        self._last_machine = machine
        try:
            share = self.share.step()
        except Exception:  # the tree vanished or psutil failed: nothing more is attributed
            share = 0.0
        if step > 0:
            self._joules += step * min(1.0, max(0.0, share))
        return self._joules

    def close(self) -> None:
        self.machine.close()
