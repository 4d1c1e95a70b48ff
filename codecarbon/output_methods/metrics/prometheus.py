"""Pushing each window's figures to a Prometheus Pushgateway.

Every output pushes its own registry, under the grouping key ``job / instance=<hostname> / project=<project>``:
trackers on different machines, or for different projects, never overwrite each other, and a machine's latest
run replaces its previous one (no series pile up per run). The last values stay on the gateway after ``stop()``
so they can be looked at afterwards; ``delete_on_exit=True`` removes the group instead. Pushes go through the
background sender (:mod:`codecarbon.output_methods.delivery`), so an unreachable gateway never slows the run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.delivery import (
    DEFAULT_DELIVERY_TIMEOUT_SECS,
    Channel,
    DeliveryFailed,
    StopWindow,
    channel_key,
    redact_url,
)
from codecarbon.output_methods.emissions_data import EmissionsData
from codecarbon.output_methods.metrics import all_labelnames, label_value, labelnames  # noqa: F401 - old code reads labelnames here

try:  # module-level names kept for code that patches them; None when the extra is not installed
    from prometheus_client.exposition import basic_auth_handler, delete_from_gateway, push_to_gateway
except ImportError:  # pragma: no cover - depends on the environment
    basic_auth_handler = delete_from_gateway = push_to_gateway = None  # type: ignore[assignment]

INSTALL_HINT = "pip install 'codecarbon[prometheus]'"

# gauge name -> (record field, help text)
GAUGES: dict[str, tuple[str, str]] = {
    "codecarbon_duration": ("duration", "Duration of the latest window (s)"),
    "codecarbon_emissions": ("emissions", "Emissions of the latest window (kg CO2eq)"),
    "codecarbon_emissions_rate": ("emissions_rate", "Emissions rate over the latest window (kg CO2eq/s)"),
    "codecarbon_cpu_power": ("cpu_power", "Mean CPU power over the latest window (W)"),
    "codecarbon_gpu_power": ("gpu_power", "Mean GPU power over the latest window (W)"),
    "codecarbon_ram_power": ("ram_power", "Mean RAM power over the latest window (W)"),
    "codecarbon_cpu_energy": ("cpu_energy", "CPU energy of the latest window (kWh)"),
    "codecarbon_gpu_energy": ("gpu_energy", "GPU energy of the latest window (kWh)"),
    "codecarbon_ram_energy": ("ram_energy", "RAM energy of the latest window (kWh)"),
    "codecarbon_energy_consumed": ("energy_consumed", "Energy of the latest window, PUE included (kWh)"),
}
ENERGY_COUNTER = "codecarbon_energy"  # exposed as codecarbon_energy_total
ENERGY_COUNTER_HELP = "Energy consumed by the run so far, PUE included (kWh)"


def __getattr__(name: str) -> Any:
    """``registry``: a shared CollectorRegistry kept for old code; outputs each push their own."""
    if name == "registry":
        from prometheus_client import CollectorRegistry

        globals()["registry"] = CollectorRegistry()
        return globals()["registry"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def gateway_url(url: Any) -> str:
    """Accept ``host:port`` or an http(s) URL; ValueError naming prometheus_url otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"prometheus_url must be 'host:port' or an http(s) URL, got {url!r}")
    url = url.strip()
    if "://" not in url:
        url = f"http://{url}"
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"prometheus_url must be 'host:port' or an http(s) URL, got {url!r}")
    return url.rstrip("/")


class PrometheusOutput(BaseOutput):
    """Pushes gauges of each window and a running energy counter, labelled with the run's machine and place."""

    def __init__(self, prometheus_url: str = "localhost:9091", job_name: str = "codecarbon", *,
                 project_name: str | None = None, hostname: str | None = None, delete_on_exit: bool = False,
                 output_dir: str = ".", delivery_timeout_secs: float = DEFAULT_DELIVERY_TIMEOUT_SECS,
                 stop_window: StopWindow | None = None):
        if push_to_gateway is None:
            raise ValueError(f"the Prometheus output needs prometheus_client: {INSTALL_HINT}")
        self.prometheus_url = gateway_url(prometheus_url)
        if not isinstance(job_name, str) or not job_name:
            raise ValueError(f"job_name must be a non-empty string, got {job_name!r}")
        self.job_name = job_name
        self.hostname = hostname or socket.gethostname()
        self.project_name = project_name
        self.delete_on_exit = bool(delete_on_exit)
        self.__username = os.environ.get("PROMETHEUS_USERNAME")
        self.__password = os.environ.get("PROMETHEUS_PASSWORD")
        self._energy_total = 0.0
        self._last_grouping: dict[str, str] | None = None
        self._channel = Channel(
            channel_key("prometheus", self.prometheus_url, job_name, self.hostname, project_name or ""),
            self._send, output_dir=output_dir, timeout=delivery_timeout_secs, coalesce=True,
            description=f"Prometheus Pushgateway at {redact_url(self.prometheus_url)}", stop_window=stop_window)

    def __repr__(self) -> str:
        return f"PrometheusOutput(prometheus_url={redact_url(self.prometheus_url)!r}, job_name={self.job_name!r})"

    def grouping_key(self, data: EmissionsData) -> dict[str, str]:
        """Which gateway group this output owns: one per machine and project (and per job rank, so the ranks
        of a job on one machine do not replace each other's metrics)."""
        key = {"instance": self.hostname, "project": self.project_name or label_value(data.project_name)}
        for name in ("job_id", "rank"):
            if label_value(getattr(data, name, "")):
                key[name] = label_value(getattr(data, name))
        return key

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self._energy_total += max(0.0, float(delta.energy_consumed or 0.0))
        grouping = self.grouping_key(total)
        self._last_grouping = grouping
        payload = {
            "op": "push",
            "grouping_key": grouping,
            "labels": {name: label_value(getattr(total, name)) for name in all_labelnames},
            "gauges": {name: _float(getattr(delta, field)) for name, (field, _) in GAUGES.items()},
            "energy_total": self._energy_total,
        }
        self._channel.submit(payload, total.run_id)

    def live_out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self.out(total, delta)

    def exit(self) -> None:
        if self.delete_on_exit and self._last_grouping is not None:
            self._channel.submit({"op": "delete", "grouping_key": self._last_grouping}, "delete",
                                 closing=True)
        self._channel.close()

    # ---- on the delivery thread -------------------------------------------------------------------------

    def _handler(self) -> Callable[..., Callable[[], None]]:
        username, password = self.__username, self.__password

        def handler(url: str, method: str, timeout: float | None, headers: list, data: bytes):
            if username or password:
                return basic_auth_handler(url, method, timeout, headers, data, username or "", password or "")
            from prometheus_client.exposition import default_handler

            return default_handler(url, method, timeout, headers, data)

        return handler

    def _send(self, payload: dict[str, Any], timeout: float) -> None:
        try:
            if payload["op"] == "delete":
                delete_from_gateway(self.prometheus_url, job=self.job_name, grouping_key=payload["grouping_key"],
                                    timeout=timeout, handler=self._handler())
                return
            push_to_gateway(self.prometheus_url, job=self.job_name, registry=build_registry(payload),
                            grouping_key=payload["grouping_key"], timeout=timeout, handler=self._handler())
        except Exception as error:  # urllib errors, IOError on non-2xx: all worth a retry
            text = str(error).replace(self.__password or "\x00", "***") if self.__password else str(error)
            raise DeliveryFailed(text) from None


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def build_registry(payload: dict[str, Any]) -> Any:
    """A fresh registry holding one push's values (so every output's push is independent)."""
    from prometheus_client import CollectorRegistry, Counter, Gauge

    registry = CollectorRegistry()
    labels = payload["labels"]
    names = list(labels)
    for name, value in payload["gauges"].items():
        Gauge(name, GAUGES[name][1], names, registry=registry).labels(**labels).set(value)
    counter = Counter(ENERGY_COUNTER, ENERGY_COUNTER_HELP, names, registry=registry)
    counter.labels(**labels).inc(max(0.0, float(payload["energy_total"])))
    return registry
