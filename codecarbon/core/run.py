"""A live run's state and its tasks: made at ``start()``, plain classes with slots: no dataclass to build."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from codecarbon.core.sampler import Reading
from codecarbon.core.state import CHECKPOINT_MIN_EVERY_S

if TYPE_CHECKING:
    from codecarbon.output_methods.emissions_data import EmissionsData


class Task:
    """One task of a run (a plain class with slots: a dataclass costs its build at import)."""

    __slots__ = ("name", "start", "end", "emissions_data")

    def __init__(self, name: str, start: Reading, end: Optional[Reading] = None,
                 emissions_data: Optional[EmissionsData] = None) -> None:
        self.name = name
        self.start = start
        self.end = end
        self.emissions_data = emissions_data

    @property
    def is_active(self) -> bool:
        return self.end is None


class Run:
    """A live run's state (a plain class with slots: a dataclass costs ~0.6 ms to build at import)."""

    __slots__ = ("run_id", "start", "last_report", "ticks_since_live", "last_checkpoint", "checkpoint_ticks",
                 "checkpoint_generation", "checkpoint_every", "live_every", "tasks", "final", "stop_started",
                 "written")

    def __init__(self, run_id: str, start: Reading, last_report: Reading, ticks_since_live: int = 0,
                 last_checkpoint: float = 0.0, checkpoint_every: float = CHECKPOINT_MIN_EVERY_S,
                 live_every: int = -1, tasks: Optional[dict[str, Task]] = None) -> None:
        self.run_id = run_id
        self.start = start
        self.last_report = last_report
        self.ticks_since_live = ticks_since_live
        self.last_checkpoint = last_checkpoint
        self.checkpoint_ticks = -1  # the reading's tick count at the last checkpoint (unchanged: nothing to write)
        self.checkpoint_generation = -1  # the static columns the checkpoint's row was written with
        self.checkpoint_every = checkpoint_every  # settings read once: a tick looks up nothing
        self.live_every = live_every  # api_call_interval when a live output wants rows, else -1 (no live rows)
        self.tasks: dict[str, Task] = tasks if tasks is not None else {}
        # stop() in stages, so a stop interrupted (KeyboardInterrupt) and retried at exit neither loses nor repeats
        self.final: Optional[tuple[EmissionsData, EmissionsData]] = None
        self.stop_started: Optional[float] = None  # monotonic: settling and delivery share one bound from here
        self.written = False
