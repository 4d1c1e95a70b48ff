"""Pushing each window's figures to a Prometheus Pushgateway.

The job is 3.3.2's, ``<project_name>_<experiment_name>`` with every character outside ``[A-Za-z0-9_-]`` as ``_``
(the tracker passes it; built directly the output's job is ``codecarbon``), and the grouping key adds
``instance=<hostname>``: trackers on different machines never overwrite each other, and a machine's next run of
the same project and experiment replaces its previous values (no series pile up per run). The last values stay
on the gateway after ``stop()``; ``delete_on_exit=True`` removes the group instead. Pushes go through the
delivery queue (:mod:`codecarbon.output_methods.delivery`) and the package's HTTP client, so an unreachable or
slow gateway never slows the run, and ``http://user:password@host:9091`` or ``PROMETHEUS_USERNAME`` /
``PROMETHEUS_PASSWORD`` send HTTP Basic auth. A push is a PUT that replaces the group: sending one twice is
harmless.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from typing import Any, Optional

from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.delivery import (
    DEFAULT_DELIVERY_TIMEOUT_SECS,
    MAX_ANSWER_BYTES,
    DeliveryFailed,
    DeliveryQueue,
    channel_key,
    redact_url,
    retryable_status,
)
from codecarbon.output_methods.emissions_data import EmissionsData
from codecarbon.output_methods.http import check_timeout
from codecarbon.output_methods.metrics import (  # noqa: F401 - old code reads labelnames
    all_labelnames,
    label_value,
    labelnames,
    labels_of,
    metric_value,
    prometheus_counters,
    prometheus_gauges,
    prometheus_help,
)
from codecarbon.support import http
from codecarbon.support.errors import ConfigError, MissingDependencyError

try:  # module-level names kept for code that patches them; None when prometheus_client is missing
    from prometheus_client.exposition import basic_auth_handler, delete_from_gateway, push_to_gateway
except ImportError:  # pragma: no cover - depends on the environment
    basic_auth_handler = delete_from_gateway = push_to_gateway = None  # type: ignore[assignment]

INSTALL_HINT = "pip install prometheus_client"
_JOB_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

# gauge name -> (record field, help text), counter base name -> (record field, help text): from the naming table
GAUGES: dict[str, tuple[str, str]] = {name: (m.field, prometheus_help(m)) for name, m in prometheus_gauges().items()}
COUNTERS: dict[str, tuple[str, str]] = {name: (m.field, prometheus_help(m, counter=True))
                                        for name, m in prometheus_counters().items()}
ENERGY_COUNTER = "codecarbon_energy"  # exposed as codecarbon_energy_total
ENERGY_COUNTER_HELP = COUNTERS[ENERGY_COUNTER][1]


def __getattr__(name: str) -> Any:
    """``registry``: a shared CollectorRegistry kept for old code; outputs each push their own."""
    if name == "registry":
        from prometheus_client import CollectorRegistry

        globals()["registry"] = CollectorRegistry()
        return globals()["registry"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def prometheus_job_name(project_name: Optional[str], experiment_name: Optional[str]) -> str:
    """3.3.2's job: ``<project_name>_<experiment_name>``, characters outside [A-Za-z0-9_-] as ``_``."""
    project = "" if project_name is None else str(project_name)
    experiment = "" if experiment_name is None else str(experiment_name)
    return _JOB_UNSAFE.sub("_", f"{project}_{experiment}")


def gateway_url(url: Any) -> str:
    """Accept ``host:port`` or an http(s) URL; ConfigError (a ValueError) naming prometheus_url otherwise."""
    return http.check_url("prometheus_url", url).rstrip("/")


class PrometheusOutput(BaseOutput):
    """Pushes gauges of each window and a running energy counter, labelled with the run's machine and place."""

    def __init__(self, prometheus_url: str = "localhost:9091", job_name: str = "codecarbon", *,
                 project_name: str | None = None, hostname: str | None = None, delete_on_exit: bool = False,
                 delivery_timeout_secs: float = DEFAULT_DELIVERY_TIMEOUT_SECS):
        if push_to_gateway is None:
            raise MissingDependencyError(f"the Prometheus output needs prometheus_client: {INSTALL_HINT}")
        self.prometheus_url = gateway_url(prometheus_url)
        if not isinstance(job_name, str) or not job_name:
            raise ConfigError(f"job_name must be a non-empty string, got {job_name!r}")
        self.job_name = job_name
        self.hostname = hostname or socket.gethostname()
        self.project_name = project_name
        self.delete_on_exit = bool(delete_on_exit)
        self.delivery_timeout_secs = check_timeout(delivery_timeout_secs)
        self.__username = os.environ.get("PROMETHEUS_USERNAME")
        self.__password = os.environ.get("PROMETHEUS_PASSWORD")
        self._run_totals: dict[str, float] = dict.fromkeys(COUNTERS, 0.0)
        self._energy_run: Optional[str] = None
        self._last_grouping: dict[str, str] | None = None
        self._queue = DeliveryQueue(
            channel_key("prometheus", redact_url(self.prometheus_url), job_name, self.hostname), self._send,
            coalesce=True, description=f"Prometheus Pushgateway at {redact_url(self.prometheus_url)}")

    def __repr__(self) -> str:
        return f"PrometheusOutput(prometheus_url={redact_url(self.prometheus_url)!r}, job_name={self.job_name!r})"

    def grouping_key(self, data: Optional[EmissionsData] = None) -> dict[str, str]:
        """Which gateway group this output owns besides the job: one per machine (and per job rank, so the ranks
        of a job on one machine do not replace each other's metrics)."""
        key = {"instance": self.hostname}
        for name in ("job_id", "rank"):
            if data is not None and label_value(getattr(data, name, "")):
                key[name] = label_value(getattr(data, name))
        return key

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        if total.run_id != self._energy_run:  # a new run counts from zero: nothing of the last run leaks in
            self._energy_run = total.run_id
            self._run_totals = dict.fromkeys(COUNTERS, 0.0)
        add_window(self._run_totals, delta)
        grouping = self.grouping_key(total)
        self._last_grouping = grouping
        payload = {
            "op": "push",
            "grouping_key": grouping,
            "labels": labels_of(total),
            "gauges": {name: metric_value(delta, field) for name, (field, _) in GAUGES.items()},
            "counters": dict(self._run_totals),
        }
        self._queue.submit(payload, total.run_id)

    def live_out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self.out(total, delta)

    def drain(self, timeout_s: float) -> bool:
        return self._queue.drain(timeout_s)

    def exit(self) -> None:
        if self.delete_on_exit and self._last_grouping is not None:
            self._queue.submit({"op": "delete", "grouping_key": self._last_grouping}, self._energy_run or "")
        self._queue.close(self.delivery_timeout_secs)

    # ---- on the delivery thread -------------------------------------------------------------------------

    def _handler(self) -> Callable[..., Callable[[], None]]:
        """prometheus_client builds the URL and body; our HTTP client sends them (deadline, size cap, auth)."""
        username, password = self.__username, self.__password

        def handler(url: str, method: str, timeout: Optional[float], headers: list, data: bytes,
                    ) -> Callable[[], None]:
            def send() -> None:
                sent = {str(name): str(value) for name, value in headers}
                if username or password:
                    sent["Authorization"] = http.basic_auth(username or "", password or "")
                answer = http.request(method, url, data=data or None, headers=sent,
                                      timeout_s=timeout or DEFAULT_DELIVERY_TIMEOUT_SECS,
                                      max_body_bytes=MAX_ANSWER_BYTES)
                if not answer.ok:
                    raise DeliveryFailed(f"HTTP {answer.status} from {redact_url(url)}",
                                         retryable=retryable_status(answer.status))

            return send

        return handler

    def _send(self, payload: dict[str, Any], timeout_s: float, idempotency_key: str) -> None:
        try:
            if payload["op"] == "delete":
                delete_from_gateway(self.prometheus_url, job=self.job_name, grouping_key=payload["grouping_key"],
                                    timeout=timeout_s, handler=self._handler())
                return
            push_to_gateway(self.prometheus_url, job=self.job_name, registry=build_registry(payload),
                            grouping_key=payload["grouping_key"], timeout=timeout_s, handler=self._handler())
        except DeliveryFailed:
            raise
        except http.HttpError as error:
            raise DeliveryFailed(str(error)) from None
        except Exception as error:  # a bug or an odd value: worth a retry, never a crash
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from None


def add_window(totals: dict[str, float], delta: Any) -> None:
    """Add one window to running counter values (a missing, negative or NaN figure adds nothing)."""
    for name, (field, _) in COUNTERS.items():
        value = metric_value(delta, field)
        if value > 0:
            totals[name] = totals.get(name, 0.0) + value


def build_registry(payload: dict[str, Any]) -> Any:
    """A fresh registry holding one push's values (so every output's push is independent)."""
    from prometheus_client import CollectorRegistry, Counter, Gauge

    registry = CollectorRegistry()
    labels = payload["labels"]
    names = list(labels)
    for name, value in payload["gauges"].items():
        Gauge(name, GAUGES[name][1], names, registry=registry).labels(**labels).set(value)
    counters = payload.get("counters")
    if counters is None:  # a payload saved by an earlier release
        counters = {ENERGY_COUNTER: payload.get("energy_total", 0.0)}
    for name, value in counters.items():
        if name in COUNTERS:
            Counter(name, COUNTERS[name][1], names, registry=registry).labels(**labels).inc(max(0.0, float(value)))
    return registry
