"""A ``/metrics`` endpoint that Prometheus scrapes: for always-on nodes (``codecarbon monitor --prometheus-port``)
and for a tracker that should expose its run (``prometheus_port``).

It exposes what the Pushgateway output pushes, under the same names and labels (the naming table in
:mod:`codecarbon.output_methods.metrics`): the latest window's gauges, and counters (``codecarbon_energy_total``,
``codecarbon_emissions_kg_total``, ...). On the endpoint the counters hold everything this process handed it for
a label set, across runs: they never go backwards while the process lives, so ``rate()`` and ``increase()``
work across a tracker's restarts, and they follow a run's total settled upward at ``stop()`` (``RunCounts``).
Values move when the tracker hands a window over (every ``api_call_interval`` measurements, at ``flush()`` and at
``stop()``); a scrape only reads them, so its cost does not depend on the hardware.

The endpoint binds 127.0.0.1 unless told otherwise, serves from a daemon thread of prometheus_client, and stays
up after ``stop()`` until the process ends, so that the final values of a run can still be scraped. A port that
cannot be bound is an error at construction, naming ``prometheus_port``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

from codecarbon.external.logger import logger
from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.emissions_data import EmissionsData
from codecarbon.output_methods.metrics import (
    RunCounts,
    all_labelnames,
    labels_of,
    metric_value,
    prometheus_counters,
    prometheus_gauges,
    prometheus_help,
)
from codecarbon.support.errors import ConfigError, MissingDependencyError

DEFAULT_HOST = "127.0.0.1"
INSTALL_HINT = "pip install prometheus_client"

LabelKey = tuple[str, ...]


class _Values:
    """What this process exposes: per label set, the latest window's gauges and the counters so far."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gauges: dict[LabelKey, dict[str, float]] = {}
        self.counters: dict[LabelKey, dict[str, float]] = {}
        self.runs = RunCounts()

    def record(self, labels: dict[str, str], total: Any, delta: Any) -> None:
        key = tuple(labels.get(name, "") for name in all_labelnames)
        gauges = {name: metric_value(delta, m.field) for name, m in prometheus_gauges().items()}
        fields = [m.field for m in prometheus_counters().values()]
        with self.lock:
            self.gauges[key] = gauges
            counters = self.counters.setdefault(key, dict.fromkeys(prometheus_counters(), 0.0))
            # never negative or NaN: a counter never goes backwards; follows a total settled upward at stop()
            added = self.runs.increments(total, delta, fields)
            for name, metric in prometheus_counters().items():
                counters[name] += added[metric.field]

    def snapshot(self) -> tuple[dict[LabelKey, dict[str, float]], dict[LabelKey, dict[str, float]]]:
        with self.lock:
            return ({k: dict(v) for k, v in self.gauges.items()}, {k: dict(v) for k, v in self.counters.items()})


class _Collector:
    """prometheus_client calls ``collect`` at each scrape: build the families from the recorded values."""

    def __init__(self, values: _Values) -> None:
        self.values = values

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        gauges, counters = self.values.snapshot()
        names = list(all_labelnames)
        for name, metric in prometheus_gauges().items():
            family = GaugeMetricFamily(name, prometheus_help(metric), labels=names)
            for key, values in gauges.items():
                family.add_metric(list(key), values[name])
            yield family
        for name, metric in prometheus_counters().items():
            counter = CounterMetricFamily(name, prometheus_help(metric, counter=True), labels=names)
            for key, values in counters.items():
                counter.add_metric(list(key), values[name])
            yield counter

    def describe(self) -> list:
        return []  # the families depend on what was recorded; no name checks at registration


@dataclass
class Endpoint:
    """One listening ``/metrics`` server and the values it exposes (shared by the outputs bound to it)."""

    host: str
    port: int
    server: Any
    thread: threading.Thread
    values: _Values

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"


_endpoints: dict[tuple[str, int], Endpoint] = {}
_endpoints_lock = threading.Lock()


def check_port(port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"prometheus_port must be a TCP port number from 0 to 65535, got {port!r}")
    return port


def serve(port: int, host: str = DEFAULT_HOST) -> Endpoint:
    """The endpoint on ``host:port``, started on first use (port 0: any free port). ConfigError when unbindable."""
    check_port(port)
    if not isinstance(host, str) or not host.strip():
        raise ConfigError(f"prometheus_host must be an address to listen on, got {host!r}")
    host = host.strip()
    try:
        from prometheus_client import CollectorRegistry, start_http_server
    except ImportError:  # pragma: no cover - prometheus_client is a dependency
        raise MissingDependencyError(f"the Prometheus endpoint needs prometheus_client: {INSTALL_HINT}") from None
    with _endpoints_lock:
        if port and (host, port) in _endpoints:
            return _endpoints[(host, port)]
        values = _Values()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(values))  # type: ignore[arg-type]
        try:
            server, thread = start_http_server(port, addr=host, registry=registry)
        except (OSError, ValueError) as error:
            raise ConfigError(f"prometheus_port: cannot listen on {host}:{port} ({error})") from None
        endpoint = Endpoint(host, int(server.server_address[1]), server, thread, values)
        _endpoints[(host, endpoint.port)] = endpoint
    logger.info("serving Prometheus metrics at %s", endpoint.url)
    return endpoint


def stop_serving(endpoint: Endpoint) -> None:
    """Close an endpoint (tests, and a monitor that ends)."""
    with _endpoints_lock:
        _endpoints.pop((endpoint.host, endpoint.port), None)
    endpoint.server.shutdown()
    endpoint.server.server_close()


class PrometheusScrapeOutput(BaseOutput):
    """Exposes each window on a ``/metrics`` endpoint (same names and labels as the Pushgateway output)."""

    def __init__(self, port: int, host: Optional[str] = None) -> None:
        self.endpoint = serve(port, host or DEFAULT_HOST)

    @property
    def url(self) -> str:
        return self.endpoint.url

    def __repr__(self) -> str:
        return f"PrometheusScrapeOutput({self.url!r})"

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self.endpoint.values.record(labels_of(total), total, delta)

    def live_out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self.out(total, delta)
