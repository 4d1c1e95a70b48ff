"""Metrics outputs (Prometheus push and scrape, Logfire, OpenTelemetry) and the one naming table they share.

Every metric any of them emits is a row below: the record field it comes from, its unit, its description, and
the name it has in each system. The outputs only read this table, so a name, a unit or a label can never differ
between them. Nothing here imports a metrics library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from codecarbon.core.units import JOULES_PER_KWH

labelnames: tuple[str, ...] = (
    "project_name", "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
    "codecarbon_version", "cpu_model", "cpu_count", "gpu_model", "gpu_count", "tracking_mode", "ram_total_size",
)
#: who pushed, in a job of many processes (empty outside one), so a dashboard can sum by job and by node
job_labelnames: tuple[str, ...] = ("scheduler", "job_id", "node_name", "rank", "local_rank", "world_size")
#: where it runs in Kubernetes (downward API, empty elsewhere) and the container's CPU limit in CPUs (empty when
#: none): with a limit, the CPU load model charges only the container's share of the machine
kubernetes_labelnames: tuple[str, ...] = ("k8s_namespace", "k8s_pod", "k8s_node", "container_cpu_limit")
#: every label the Prometheus and Logfire outputs attach
all_labelnames: tuple[str, ...] = labelnames + job_labelnames + kubernetes_labelnames

KWH_TO_JOULES = JOULES_PER_KWH


@dataclass(frozen=True)
class Metric:
    """One quantity and its name in every system that exports it (None: that system does not export it)."""

    field: str  # the EmissionsData field (kWh, kg, s, W, kg/s) or a derived one (see ``metric_value``)
    unit: str  # the field's unit, as written in help texts
    description: str
    #: 3.x Pushgateway gauge: the latest window's value (kept for 3.x dashboards)
    prometheus_gauge: Optional[str] = None
    #: Prometheus counter (base name; exposed with ``_total``): the run's total on a push, the process's on a scrape
    prometheus_counter: Optional[str] = None
    #: Logfire instrument and its kind ("counter" adds each window, "gauge" holds the latest)
    logfire: Optional[str] = None
    logfire_kind: str = "gauge"
    #: OpenTelemetry instrument (semantic conventions where one exists), its kind, UCUM unit and the factor from
    #: the field's unit, and the data point attributes that set it apart (hw.type, hw.id)
    otel: Optional[str] = None
    otel_kind: str = "gauge"
    otel_unit: str = ""
    otel_scale: float = 1.0
    otel_attributes: tuple[tuple[str, str], ...] = ()
    otel_description: str = ""  # for an instrument several rows share (hw.energy, hw.power)


def _hw(component: str) -> tuple[tuple[str, str], ...]:
    kind = "memory" if component == "ram" else component
    return (("hw.type", kind), ("hw.id", kind))


METRICS: tuple[Metric, ...] = (
    Metric("duration", "s", "Duration measured", prometheus_gauge="codecarbon_duration",
           prometheus_counter="codecarbon_duration_seconds", logfire="codecarbon_duration", logfire_kind="counter",
           otel="codecarbon.duration", otel_kind="counter", otel_unit="s"),
    Metric("emissions", "kg CO2eq", "Emissions", prometheus_gauge="codecarbon_emissions",
           prometheus_counter="codecarbon_emissions_kg", logfire="codecarbon_emissions", logfire_kind="counter",
           otel="codecarbon.emissions", otel_kind="counter", otel_unit="kg{CO2eq}"),
    Metric("emissions_rate", "kg CO2eq/s", "Emissions rate over the latest window",
           prometheus_gauge="codecarbon_emissions_rate", logfire="codecarbon_emissions_rate"),
    Metric("carbon_intensity", "g CO2eq/kWh", "Carbon intensity of the electricity used",
           otel="codecarbon.carbon_intensity", otel_unit="g{CO2eq}/kW.h"),
    *(Metric(f"{c}_power", "W", f"Mean {c.upper()} power over the latest window",
             prometheus_gauge=f"codecarbon_{c}_power", logfire=f"codecarbon_{c}_power",
             otel="hw.power", otel_unit="W", otel_attributes=_hw(c),
             otel_description="Mean power of the component over the latest window") for c in ("cpu", "gpu", "ram")),
    *(Metric(f"{c}_energy", "kWh", f"{c.upper()} energy", prometheus_gauge=f"codecarbon_{c}_energy",
             prometheus_counter=f"codecarbon_{c}_energy_kwh", logfire=f"codecarbon_{c}_energy",
             otel="hw.energy", otel_kind="counter", otel_unit="J", otel_scale=KWH_TO_JOULES,
             otel_attributes=_hw(c), otel_description="Energy consumed by the component")
      for c in ("cpu", "gpu", "ram")),
    Metric("host_power", "W", "Mean power of CPU, GPU and RAM together over the latest window",
           otel="hw.host.power", otel_unit="W"),
    Metric("host_energy", "kWh", "Energy of CPU, GPU and RAM together (PUE not included)",
           otel="hw.host.energy", otel_kind="counter", otel_unit="J", otel_scale=KWH_TO_JOULES),
    Metric("energy_consumed", "kWh", "Energy consumed (PUE included)", prometheus_gauge="codecarbon_energy_consumed",
           prometheus_counter="codecarbon_energy", logfire="codecarbon_energy_consumed", logfire_kind="counter"),
)


def prometheus_gauges() -> dict[str, Metric]:
    return {m.prometheus_gauge: m for m in METRICS if m.prometheus_gauge}


def prometheus_counters() -> dict[str, Metric]:
    return {m.prometheus_counter: m for m in METRICS if m.prometheus_counter}


def prometheus_help(metric: Metric, counter: bool = False) -> str:
    if counter:
        return f"{metric.description} so far ({metric.unit})"
    return f"{metric.description} of the latest window ({metric.unit})" if metric.unit != "W" else \
        f"{metric.description} ({metric.unit})"


def logfire_metrics(kind: str) -> dict[str, Metric]:
    return {m.logfire: m for m in METRICS if m.logfire and m.logfire_kind == kind}


def otel_metrics() -> list[Metric]:
    return [m for m in METRICS if m.otel]


def metric_value(data: Any, field: str) -> float:
    """The field's value as a float (NaN when missing); ``host_*`` add the three components."""
    if field in ("host_power", "host_energy"):
        suffix = field.split("_", 1)[1]
        return sum(_number(getattr(data, f"{c}_{suffix}", 0.0)) for c in ("cpu", "gpu", "ram"))
    return _number(getattr(data, field, None))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def label_value(value: Any) -> str:
    """Label text: empty for missing values and NaN, the value's text otherwise."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def labels_of(data: Any, environment: Optional[dict[str, str]] = None) -> dict[str, str]:
    """Every label of ``all_labelnames``: the record's fields, then the deployment's (Kubernetes, cgroup)."""
    from codecarbon.core.kubernetes import deployment_labels

    found = {name: label_value(getattr(data, name, None)) for name in labelnames + job_labelnames}
    found.update(deployment_labels() if environment is None else environment)
    return found


class RunCounts:
    """What a process's counters have counted of each run, so that they follow the run's total.

    Counters add each window's figure; a run settled at ``stop()`` from the provider's history (issue 14) can end
    with a total above the sum of its provisionally priced windows. The increment is therefore the larger of the
    window's figure and what the run's total has over what was counted, never below zero: counters never go
    backwards (a total settled lower stays counted at the higher figure). A run not seen before (or forgotten,
    past ``keep`` runs) counts its window only, so nothing is counted twice."""

    def __init__(self, keep: int = 1024) -> None:
        from collections import OrderedDict

        self._counted: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._keep = keep

    def increments(self, total: Any, delta: Any, fields: list[str]) -> dict[str, float]:
        """Per field, what to add now (>= 0; NaN figures add nothing). Call with the lock of the counters held."""
        run = str(getattr(total, "run_id", "") or "")
        counted = self._counted.pop(run, None)
        added: dict[str, float] = {}
        kept: dict[str, float] = {}
        for field in fields:
            window = metric_value(delta, field)
            window = window if window > 0 else 0.0  # NaN and negatives add nothing
            so_far = metric_value(total, field)
            so_far = so_far if so_far > 0 else 0.0
            if counted is None:
                added[field], kept[field] = window, max(so_far, window)
            else:
                step = max(window, so_far - counted.get(field, 0.0), 0.0)
                added[field], kept[field] = step, counted.get(field, 0.0) + step
        self._counted[run] = kept
        while len(self._counted) > self._keep:
            self._counted.popitem(last=False)
        return added
