"""The seam every output plugs into, and the names users select outputs by."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codecarbon.output_methods.emissions_data import EmissionsData, TaskEmissionsData


class OutputMethod(str, Enum):
    """Built-in outputs selectable through ``output_methods`` (values are what config files use)."""

    CSV = "csv"
    API = "api"
    LOGGER = "logger"
    PROMETHEUS = "prometheus"
    LOGFIRE = "logfire"
    BOAMPS = "boamps"

    @classmethod
    def parse(cls, value: OutputMethod | str) -> OutputMethod:
        """Accept a member or its name/value in any case; raise ValueError listing the valid ones."""
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if text in (member.value, member.name.lower()):
                return member
        valid = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown output method {value!r}; expected one of: {valid}")


class BaseOutput:
    """Receives finished windows from a tracker. Subclass and override what you need; every hook is optional.

    ``out(total, delta)`` runs at ``flush()`` and ``stop()``; ``live_out(total, delta)`` every
    ``api_call_interval`` measurements; ``task_out(rows, experiment_name)`` with task rows at flush/stop;
    ``exit()`` once when the tracker stops. ``total`` covers the run so far, ``delta`` the time since the
    previous ``out``/``live_out``.
    """

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        """Called with the run so far at flush() and stop()."""

    def live_out(self, total: EmissionsData, delta: EmissionsData) -> None:
        """Called every ``api_call_interval`` measurements while the run goes on."""

    def task_out(self, data: list[TaskEmissionsData], experiment_name: str) -> None:
        """Called with the rows of the run's tasks at flush() and stop()."""

    def exit(self) -> None:
        """Called once when the tracker stops; release resources, drain queues."""
