"""The seam every output plugs into, and the names users select outputs by."""

from __future__ import annotations

import time
from collections.abc import Iterable
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
    OTEL = "otel"

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
    ``exit()`` once when the tracker stops; ``drain(timeout_s)`` after ``out`` at flush() and stop().
    ``total`` covers the run so far, ``delta`` the time since the previous ``out``/``live_out``.
    """

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        """Called with the run so far at flush() and stop()."""

    def live_out(self, total: EmissionsData, delta: EmissionsData) -> None:
        """Called every ``api_call_interval`` measurements while the run goes on."""

    def task_out(self, data: list[TaskEmissionsData], experiment_name: str) -> None:
        """Called with the rows of the run's tasks at flush() and stop()."""

    def exit(self) -> None:
        """Called once when the tracker stops; release resources."""

    def drain(self, timeout_s: float) -> bool:
        """Block until what was handed over so far is delivered, at most ``timeout_s``; True when it all was.

        Outputs that deliver in the background (network outputs) save what is left for later when the bound
        expires. Outputs that write at once have nothing to wait for."""
        return True


def drain_outputs(outputs: Iterable[BaseOutput], timeout_s: float) -> bool:
    """``drain`` every output within ONE deadline shared by all of them; True when every output delivered all.

    Never raises: an output whose drain fails counts as not delivered."""
    from codecarbon.external.logger import log_once

    deadline = time.monotonic() + max(0.0, timeout_s)
    delivered = True
    for output in outputs:
        try:
            delivered = bool(output.drain(max(0.0, deadline - time.monotonic()))) and delivered
        except Exception as error:  # a user's output may fail in any way; the others still drain
            log_once(f"output-failed:{id(output)}:drain", 40, "%s.drain failed: %s", type(output).__name__, error)
            delivered = False
    return delivered
