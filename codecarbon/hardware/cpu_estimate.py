"""CPU energy estimated from a power scale (a TDP) and the CPU load, integrated inside the source.

Model: ``power = scale × (0.1 + 0.9 × load³)``, load being the busy fraction of the CPUs available to us over
the time since the previous reading (non-blocking CPU-time deltas, see ``hardware.attribution.CpuClock``).

Why this curve: a package never draws nothing — 10 % of TDP is a typical idle floor for desktop and server
parts — and the cube keeps CodeCarbon 3.x's published figures (1000 W at 50 % load → 212.5 W), so estimates
stay comparable with numbers users already have. Its shape understates mid-range loads on modern parts with
aggressive boost; measured counters (RAPL) are always preferred over it.

Scale: the table TDP × sockets; unknown model → ``CONSTANT_W_PER_THREAD`` × logical CPUs (a modern core draws
roughly 3–6 W per hardware thread at full load, so 4 W/thread lands mid-range without pretending to know the
part; reported as "constant"); ``force_cpu_power`` is taken as the scale itself. Inside a container whose CPU
quota is below the host's CPU count, the scale is the quota's slice of the machine (quota / host CPUs).
"""

from __future__ import annotations

from typing import Optional

from codecarbon.hardware.attribution import CpuClock, CpuTimes, load_fraction
from codecarbon.hardware.base import EnergySource

IDLE_FLOOR = 0.1
CONSTANT_W_PER_THREAD = 4.0


def power_at_load(scale_w: float, load: float) -> float:
    """Watts drawn at ``load`` (0..1) by a CPU whose power scale (TDP) is ``scale_w``."""
    load = min(1.0, max(0.0, load))
    return scale_w * (IDLE_FLOOR + (1.0 - IDLE_FLOOR) * load ** 3)


class CpuLoadModelSource(EnergySource):
    """Cumulative joules of the load model; each reading integrates the power of the load since the last one."""

    component = "cpu"

    def __init__(self, scale_w: float, clock: CpuClock, *, method: str = "tdp-model") -> None:
        if not scale_w > 0:
            raise ValueError(f"scale_w: expected a positive number of watts, got {scale_w!r}")
        self.scale_w = float(scale_w)
        self.method = method
        self._clock = clock
        self._last: Optional[CpuTimes] = None
        self._joules = 0.0

    def open(self) -> None:
        self._joules = 0.0
        self._last = self._clock.read()

    def read_joules(self) -> float:
        try:
            now = self._clock.read()
        except Exception:  # a clock that cannot be read leaves the energy where it was
            return self._joules
        if self._last is not None:
            elapsed = now.wall_s - self._last.wall_s
            if elapsed > 0:
                self._joules += power_at_load(self.scale_w, load_fraction(self._last, now)) * elapsed
        self._last = now
        return self._joules
