"""OpenTelemetry metrics over OTLP/HTTP (``output_methods=otel``; ``pip install 'codecarbon[otel]'``).

Names and units follow the semantic conventions for hardware metrics (the naming table in
:mod:`codecarbon.output_methods.metrics`): ``hw.energy`` (counter, J) and ``hw.power`` (gauge, W) per component
with ``hw.type`` and ``hw.id`` (``cpu``, ``gpu``, ``memory``); ``hw.host.energy`` / ``hw.host.power`` for the
three together, so a backend never has to add components (and never adds them twice); ``codecarbon.emissions``
(counter, ``kg{CO2eq}``), ``codecarbon.carbon_intensity`` (gauge, ``g{CO2eq}/kW.h``) and ``codecarbon.duration``
(counter, s). Counters are cumulative within the process. The resource says who measured: ``service.name`` (the
project), ``host.name``, the job (``codecarbon.job.scheduler``, ``.id``, ``.rank``, ``.node``) and, where the pod
spec passes them, ``k8s.pod.name``, ``k8s.namespace.name``, ``k8s.node.name``. ``OTEL_RESOURCE_ATTRIBUTES`` and
``OTEL_SERVICE_NAME`` are read by the SDK and win over ours.

The official SDK aggregates (a private ``MeterProvider`` with an in-memory reader: the application's own
OpenTelemetry setup is never touched) and the OTLP exporter's encoder writes the protobuf; the request itself
goes through the delivery queue like every network output, so a hanging, refusing or failing collector never
delays ``stop()`` past ``delivery_timeout_secs``, and what could not be sent is saved and sent later. Each request
is a cumulative snapshot: a newer one replaces one still waiting.

Where: ``otel_endpoint`` (a base URL gets ``/v1/metrics``), else ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` (as
is), else ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/metrics``, else ``http://localhost:4318/v1/metrics``. Headers:
``otel_headers``, else ``OTEL_EXPORTER_OTLP_METRICS_HEADERS`` / ``OTEL_EXPORTER_OTLP_HEADERS``. Protocol: only
``http/protobuf`` (the default); another ``OTEL_EXPORTER_OTLP_PROTOCOL`` is an error naming it.
"""

from __future__ import annotations

import base64
import os
import socket
import threading
from collections.abc import Mapping
from typing import Any, Optional
from urllib.parse import urlsplit

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
from codecarbon.output_methods.metrics import Metric, RunCounts, label_value, metric_value, otel_metrics
from codecarbon.support import http
from codecarbon.support.errors import ConfigError, MissingDependencyError

INSTALL_HINT = "pip install 'codecarbon[otel]'"
DEFAULT_ENDPOINT = "http://localhost:4318"
METRICS_PATH = "/v1/metrics"
PROTOCOL = "http/protobuf"
SCOPE = "codecarbon"


def otlp_url(endpoint: Optional[str], environ: Mapping[str, str]) -> str:
    """The metrics URL from the setting or the standard variables (see the module's docstring)."""
    if endpoint:
        return _with_metrics_path(http.check_url("otel_endpoint", endpoint))
    specific = (environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") or "").strip()
    if specific:
        return http.check_url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", specific)
    generic = (environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip()
    if generic:
        return http.check_url("OTEL_EXPORTER_OTLP_ENDPOINT", generic).rstrip("/") + METRICS_PATH
    return DEFAULT_ENDPOINT + METRICS_PATH


def _with_metrics_path(url: str) -> str:
    return url if urlsplit(url).path.strip("/") else url.rstrip("/") + METRICS_PATH


def otlp_headers(headers: Optional[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``key=value`` pairs, comma separated, values URL-encoded (the OTLP exporter's format)."""
    from opentelemetry.util.re import parse_env_headers

    text = headers if headers else (environ.get("OTEL_EXPORTER_OTLP_METRICS_HEADERS")
                                    or environ.get("OTEL_EXPORTER_OTLP_HEADERS") or "")
    return dict(parse_env_headers(text, liberal=True))


def otlp_protocol(environ: Mapping[str, str]) -> str:
    for name in ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = (environ.get(name) or "").strip()
        if value:
            if value != PROTOCOL:
                raise ConfigError(f"{name}={value!r}: the otel output speaks {PROTOCOL} (OTLP over HTTP, "
                                  "port 4318); point it at the collector's HTTP receiver")
            return value
    return PROTOCOL


def resource_attributes(total: EmissionsData, project_name: Optional[str], hostname: str) -> dict[str, str]:
    """Who measured, as OpenTelemetry resource attributes (empty values left out)."""
    from codecarbon.core.kubernetes import kubernetes_place

    project = project_name if project_name is not None else label_value(total.project_name)
    attributes = {"service.name": project or "codecarbon", "host.name": hostname,
                  "codecarbon.job.scheduler": label_value(total.scheduler),
                  "codecarbon.job.id": label_value(total.job_id),
                  "codecarbon.job.rank": label_value(total.rank),
                  "codecarbon.job.node": label_value(total.node_name)}
    attributes.update(kubernetes_place().resource_attributes())
    return {name: value for name, value in attributes.items() if value}


class _Pipeline:
    """One resource's SDK objects: a private MeterProvider, its in-memory reader and the instruments."""

    def __init__(self, attributes: dict[str, str]) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.resources import OTELResourceDetector, Resource

        from codecarbon import __version__

        resource = Resource.create(attributes).merge(OTELResourceDetector().detect())  # the user's env wins
        self.runs = RunCounts()
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(resource=resource, metric_readers=[self.reader])
        meter = self.provider.get_meter(SCOPE, __version__)
        self.instruments: dict[str, Any] = {}
        for metric in otel_metrics():
            name = str(metric.otel)
            if name in self.instruments:
                continue
            make = meter.create_counter if metric.otel_kind == "counter" else meter.create_gauge
            self.instruments[name] = make(name, unit=metric.otel_unit,
                                          description=metric.otel_description or metric.description)

    def record(self, total: EmissionsData, delta: EmissionsData) -> None:
        counted = [m.field for m in otel_metrics() if m.otel_kind == "counter"]
        added = self.runs.increments(total, delta, counted)  # follows a total settled upward at stop()
        for metric in otel_metrics():
            if metric.otel_kind == "counter":
                step = added[metric.field] * metric.otel_scale
                value: Optional[float] = step if step > 0 else None
            else:
                value = _value(metric, total, delta)
            if value is None:
                continue
            attributes = dict(metric.otel_attributes)
            if metric.otel_attributes:
                measure = getattr(total, f"{metric.field.split('_')[0]}_measure", "")
                if measure:
                    attributes["codecarbon.measure"] = str(measure)
            instrument = self.instruments[str(metric.otel)]
            if metric.otel_kind == "counter":
                if value > 0:
                    instrument.add(value, attributes)
            else:
                instrument.set(value, attributes)


def _value(metric: Metric, total: EmissionsData, delta: EmissionsData) -> Optional[float]:
    """The window's figure in the metric's OTel unit; None when there is none to report."""
    if metric.field == "carbon_intensity":
        value = metric_value(delta, "carbon_intensity")
        if value != value:  # no intensity in the record: the window's own ratio, when it used energy
            energy = metric_value(delta, "energy_consumed")
            emissions = metric_value(delta, "emissions")
            value = emissions / energy * 1000.0 if energy > 0 and emissions == emissions else float("nan")
    else:
        value = metric_value(delta, metric.field) * metric.otel_scale
    return None if value != value else value


class OtelOutput(BaseOutput):
    """Records each window as OpenTelemetry metrics and sends the cumulative snapshot over OTLP/HTTP."""

    def __init__(self, endpoint: Optional[str] = None, headers: Optional[str] = None, *,
                 project_name: Optional[str] = None, hostname: Optional[str] = None,
                 delivery_timeout_secs: float = DEFAULT_DELIVERY_TIMEOUT_SECS,
                 environ: Optional[Mapping[str, str]] = None) -> None:
        try:
            import opentelemetry.exporter.otlp.proto.common.metrics_encoder  # noqa: F401
            import opentelemetry.sdk.metrics  # noqa: F401
        except ImportError:
            raise MissingDependencyError(f"the otel output needs the OpenTelemetry SDK and OTLP exporter: "
                                         f"{INSTALL_HINT}") from None
        env = os.environ if environ is None else environ
        otlp_protocol(env)
        self.url = otlp_url(endpoint, env)
        self.__headers = otlp_headers(headers, env)
        self.project_name = project_name
        self.hostname = hostname or socket.gethostname()
        self.delivery_timeout_secs = check_timeout(delivery_timeout_secs)
        self._pipelines: dict[tuple[tuple[str, str], ...], _Pipeline] = {}
        self._lock = threading.Lock()
        self._queue = DeliveryQueue(channel_key("otel", redact_url(self.url), self.hostname), self._send,
                                    coalesce=True, description=f"OpenTelemetry collector at {redact_url(self.url)}")

    def __repr__(self) -> str:
        return f"OtelOutput(endpoint={redact_url(self.url)!r})"

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        attributes = resource_attributes(total, self.project_name, self.hostname)
        key = tuple(sorted(attributes.items()))
        with self._lock:
            pipeline = self._pipelines.get(key)
            if pipeline is None:
                pipeline = self._pipelines[key] = _Pipeline(attributes)
            pipeline.record(total, delta)
            body = self._snapshot()
        self._queue.submit({"body": base64.b64encode(body).decode("ascii")}, total.run_id)

    def live_out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self.out(total, delta)

    def drain(self, timeout_s: float) -> bool:
        return self._queue.drain(timeout_s)

    def exit(self) -> None:
        self._queue.close(self.delivery_timeout_secs)

    def _snapshot(self) -> bytes:
        """Every resource's cumulative metrics as one ExportMetricsServiceRequest (lock held)."""
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

        request: Any = None
        for pipeline in self._pipelines.values():
            data = pipeline.reader.get_metrics_data()
            if data is None:
                continue
            encoded = encode_metrics(data)
            if request is None:
                request = encoded
            else:
                request.resource_metrics.extend(encoded.resource_metrics)
        return b"" if request is None else request.SerializeToString()

    # ---- on the delivery thread -------------------------------------------------------------------------

    def _send(self, payload: dict[str, Any], timeout_s: float, idempotency_key: str) -> None:
        body = base64.b64decode(payload["body"])
        headers = {**self.__headers, "Content-Type": "application/x-protobuf"}
        try:
            answer = http.request("POST", self.url, data=body, headers=headers, timeout_s=timeout_s,
                                  max_body_bytes=MAX_ANSWER_BYTES)
        except http.HttpError as error:
            if error.status is not None and 200 <= error.status < 300:
                return  # accepted; only its answer was too large to read
            raise DeliveryFailed(str(error)) from None
        if not answer.ok:
            raise DeliveryFailed(f"HTTP {answer.status} from {redact_url(self.url)}",
                                 retryable=retryable_status(answer.status))
