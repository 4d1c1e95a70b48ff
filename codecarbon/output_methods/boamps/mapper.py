"""Turning a finished run into a BoAmps report (a camelCase dict valid against the BoAmps report schema).

What the tracker cannot know (the task: its stage, family, algorithms and datasets) comes from the user. When the
user gives none, or leaves out fields the schema requires, documented placeholders (:data:`DEFAULT_TASK`) fill
the gaps so the report still validates; ``taskDescription`` then says the task was not described.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from codecarbon.output_methods.boamps.models import BoAmpsReport, to_jsonable
from codecarbon.output_methods.emissions_data import EmissionsData

FORMAT_VERSION = "0.1"
FORMAT_SPECIFICATION_URI = "https://github.com/Boavizta/BoAmps/tree/main/model"
DEFAULT_TASK: dict[str, Any] = {
    "taskStage": "other",
    "taskFamily": "unspecified",
    "algorithms": [{"algorithmType": "unspecified"}],
    "dataset": [{"dataUsage": "input", "dataType": "other"}],
}
UNDESCRIBED_TASK_NOTE = "task not described: pass task=... to BoAmpsOutput to describe it"
QUALITY_LEVELS = ("high", "medium", "low")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    text = str(value).strip()
    return text or None


def _report_time(timestamp: str, minus_seconds: float = 0.0) -> str:
    """``YYYY-MM-DD HH:MM:SS`` as BoAmps writes dates."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        moment = datetime.now()
    return (moment - timedelta(seconds=max(0.0, minus_seconds))).strftime("%Y-%m-%d %H:%M:%S")


def complete_task(task: Mapping[str, Any] | None) -> dict[str, Any]:
    """The user's task with every field the schema requires present (placeholders where missing)."""
    result = dict(to_jsonable(task) or {})
    missing = [key for key in DEFAULT_TASK if not result.get(key)]
    for key in missing:
        result[key] = to_jsonable(DEFAULT_TASK[key])
    if missing and "taskDescription" not in result:
        result["taskDescription"] = UNDESCRIBED_TASK_NOTE
    return result


def _components(data: EmissionsData) -> list[dict[str, Any]]:
    cpu_count = data.cpu_count if isinstance(data.cpu_count, int) and data.cpu_count > 0 else 2
    cpu: dict[str, Any] = {"componentType": "cpu", "nbComponent": max(1, cpu_count // 2)}
    if _text(data.cpu_model):
        cpu["componentName"] = _text(data.cpu_model)
    components = [cpu]
    if isinstance(data.gpu_count, int) and data.gpu_count > 0:
        gpu: dict[str, Any] = {"componentType": "gpu", "nbComponent": data.gpu_count}
        if _text(data.gpu_model):
            gpu["componentName"] = _text(data.gpu_model)
        components.append(gpu)
    ram: dict[str, Any] = {"componentType": "ram", "nbComponent": 1}
    if _number(data.ram_total_size) is not None:
        ram["memorySize"] = _number(data.ram_total_size)
    components.append(ram)
    return components


def merge_components(ours: list[dict[str, Any]], theirs: list[Any] | None) -> list[dict[str, Any]]:
    """User components win field by field for the same componentType; others are appended."""
    merged = [dict(c) for c in ours]
    for component in to_jsonable(theirs or []):
        target = next((m for m in merged if m.get("componentType") == component.get("componentType")), None)
        if target is None:
            merged.append(dict(component))
        else:
            target.update(component)
    return merged


def map_emissions_to_boamps(data: EmissionsData, task: Any = None, header: Any = None, quality: str | None = None,
                            infra_overrides: Any = None, environment_overrides: Any = None) -> BoAmpsReport:
    """The BoAmps report of one run as a :class:`BoAmpsReport` (``to_dict()``: camelCase, None left out)."""
    report_header = {
        "formatVersion": FORMAT_VERSION,
        "formatVersionSpecificationUri": FORMAT_SPECIFICATION_URI,
        "reportId": data.run_id,
        "reportDatetime": _report_time(data.timestamp),
    }
    report_header.update(to_jsonable(header) or {})

    measure: dict[str, Any] = {
        "measurementMethod": "codecarbon",
        "version": data.codecarbon_version,
        "powerConsumption": _number(data.energy_consumed) or 0.0,
        "measurementDuration": _number(data.duration) or 0.0,
        "measurementDateTime": _report_time(data.timestamp, _number(data.duration) or 0.0),
    }
    if _text(data.cpu_measure):
        measure["cpuTrackingMode"] = data.cpu_measure
    has_gpu = isinstance(data.gpu_count, int) and data.gpu_count > 0
    if has_gpu and _text(data.gpu_measure):
        measure["gpuTrackingMode"] = data.gpu_measure
    cpu_util = _number(data.cpu_utilization_percent)
    if cpu_util:
        measure["averageUtilizationCpu"] = round(min(max(cpu_util / 100.0, 0.0), 1.0), 4)
    gpu_util = _number(data.gpu_utilization_percent)
    if has_gpu and gpu_util:
        measure["averageUtilizationGpu"] = round(min(max(gpu_util / 100.0, 0.0), 1.0), 4)

    on_cloud = data.on_cloud == "Y" or bool(_text(data.cloud_provider))
    infrastructure: dict[str, Any] = {"infraType": "publicCloud" if on_cloud else "onPremise"}
    if _text(data.cloud_provider):
        infrastructure["cloudProvider"] = _text(data.cloud_provider)
    overrides = dict(to_jsonable(infra_overrides) or {})
    infrastructure["components"] = merge_components(_components(data), overrides.pop("components", None))
    infrastructure.update(overrides)

    report: dict[str, Any] = {
        "header": report_header,
        "task": complete_task(task),
        "measures": [measure],
        "system": {"os": _text(data.os) or "unknown"},
        "software": {"language": "python", "version": data.python_version},
        "infrastructure": infrastructure,
    }
    environment: dict[str, Any] = {}
    for key, value in (("country", _text(data.country_name)), ("latitude", _number(data.latitude)),
                       ("longitude", _number(data.longitude)),
                       ("powerSourceCarbonIntensity", _number(data.carbon_intensity))):
        if value is not None:
            environment[key] = value
    environment.update(to_jsonable(environment_overrides) or {})
    if environment:
        environment.setdefault("country", "unknown")
        report["environment"] = environment
    if quality is not None:
        report["quality"] = quality
    return BoAmpsReport.from_dict(to_jsonable(report))
