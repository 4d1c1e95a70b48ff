"""Recording each window as OpenTelemetry metrics through the Logfire SDK.

Metric calls only record in memory; the SDK's own reader exports them on its own thread, so nothing here waits on
the network. If the application has not configured Logfire yet, this output configures it with
``send_to_logfire="if-token-present"`` and no console output: with a ``LOGFIRE_TOKEN`` the metrics are sent,
without one nothing leaves the machine and nothing is prompted. An application that configured Logfire itself
keeps its configuration untouched.
"""

from __future__ import annotations

import threading
from typing import Any

from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.emissions_data import EmissionsData
from codecarbon.output_methods.metrics import labels_of, logfire_metrics, metric_value
from codecarbon.support.errors import MissingDependencyError

INSTALL_HINT = "pip install 'codecarbon[logfire]'"

# name -> (record field, unit, description), from the naming table; counters add each window, gauges hold the
# latest window
COUNTERS: dict[str, tuple[str, str, str]] = {name: (m.field, m.unit.replace(" CO2eq", ""), m.description)
                                             for name, m in logfire_metrics("counter").items()}
GAUGES: dict[str, tuple[str, str, str]] = {name: (m.field, m.unit.replace(" CO2eq", ""), m.description)
                                           for name, m in logfire_metrics("gauge").items()}

_instruments: dict[str, Any] = {}
_lock = threading.Lock()


def logfire_is_configured(logfire_module: Any) -> bool:
    """Whether the application already called ``logfire.configure()``."""
    instance = getattr(logfire_module, "DEFAULT_LOGFIRE_INSTANCE", None)
    config = getattr(instance, "config", None)
    return bool(getattr(config, "_initialized", False))


def _instruments_for(logfire_module: Any) -> dict[str, Any]:
    """Create the instruments once per process (the SDK warns about duplicates)."""
    with _lock:
        if not _instruments:
            for name, (_, unit, description) in COUNTERS.items():
                _instruments[name] = logfire_module.metric_counter(name, unit=unit, description=description)
            for name, (_, unit, description) in GAUGES.items():
                _instruments[name] = logfire_module.metric_gauge(name, unit=unit, description=description)
        return dict(_instruments)


class LogfireOutput(BaseOutput):
    """Adds each window to counters and sets gauges, with the Prometheus output's labels as attributes."""

    def __init__(self) -> None:
        try:
            import logfire
        except ImportError:
            raise MissingDependencyError(f"the Logfire output needs the logfire SDK: {INSTALL_HINT}") from None
        if not logfire_is_configured(logfire):
            logfire.configure(send_to_logfire="if-token-present", console=False)
        self._instruments = _instruments_for(logfire)

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        attributes = labels_of(total)
        for name, (field, _, _) in COUNTERS.items():
            value = metric_value(delta, field)
            if value > 0:
                self._instruments[name].add(value, attributes)
        for name, (field, _, _) in GAUGES.items():
            value = metric_value(delta, field)
            self._instruments[name].set(0.0 if value != value else value, attributes)

    def live_out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self.out(total, delta)
