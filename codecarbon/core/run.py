"""A live run's state and its tasks: made at ``start()``, so ``import codecarbon`` builds no dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from codecarbon.core.sampler import Reading
from codecarbon.core.state import CHECKPOINT_MIN_EVERY_S
from codecarbon.output_methods.emissions_data import EmissionsData


@dataclass
class Task:
    name: str
    start: Reading
    end: Optional[Reading] = None
    emissions_data: Optional[EmissionsData] = None

    @property
    def is_active(self) -> bool:
        return self.end is None


@dataclass
class Run:
    run_id: str
    start: Reading
    last_report: Reading
    ticks_since_live: int = 0
    last_checkpoint: float = 0.0
    checkpoint_ticks: int = -1  # the reading's tick count at the last checkpoint (unchanged: nothing to write)
    checkpoint_generation: int = -1  # the static columns the checkpoint's row was written with
    checkpoint_every: float = CHECKPOINT_MIN_EVERY_S  # settings read once: a tick looks up nothing
    live_every: int = -1  # api_call_interval when a live output wants rows, else -1 (no live rows)
    tasks: dict[str, Task] = field(default_factory=dict)
    # stop() in stages, so a stop interrupted (KeyboardInterrupt) and retried at exit neither loses nor repeats
    final: Optional[tuple[EmissionsData, EmissionsData]] = None
    stop_started: Optional[float] = None  # monotonic: settling and delivery share one bound from here
    written: bool = False
