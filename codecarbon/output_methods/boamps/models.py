"""The parts of a BoAmps report as typed objects (snake_case here, camelCase in the JSON).

Users may pass these or plain camelCase dicts to :class:`BoAmpsOutput`; both end up as the same JSON.
Field names follow the BoAmps report schema (https://github.com/Boavizta/BoAmps/tree/main/model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Optional


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def to_jsonable(value: Any) -> Any:
    """Models become camelCase dicts without None values; lists and dicts are converted item by item."""
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


class Model:
    """Shared behaviour: camelCase serialisation and construction from camelCase dicts."""

    nested: ClassVar[dict[str, type]] = {}      # field -> model type of the field (or of its list items)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is not None:
                out[camel(f.name)] = to_jsonable(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        if not isinstance(data, dict):
            raise ValueError(f"{cls.__name__} expects a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            name = snake(key)
            if name not in known:
                raise ValueError(f"unknown BoAmps field {key!r} in {cls.__name__}")
            model = cls.nested.get(name)
            if model is not None and isinstance(value, list):
                value = [model.from_dict(v) if isinstance(v, dict) else v for v in value]
            elif model is not None and isinstance(value, dict):
                value = model.from_dict(value)
            kwargs[name] = value
        return cls(**kwargs)


@dataclass
class Publisher(Model):
    name: Optional[str] = None
    division: Optional[str] = None
    project_name: Optional[str] = None
    confidentiality_level: Optional[str] = None
    public_key: Optional[str] = None


@dataclass
class Header(Model):
    nested: ClassVar[dict[str, type]] = {"publisher": Publisher}
    licensing: Optional[str] = None
    format_version: Optional[str] = None
    format_version_specification_uri: Optional[str] = None
    report_id: Optional[str] = None
    report_datetime: Optional[str] = None
    report_status: Optional[str] = None
    publisher: Optional[Publisher] = None


@dataclass
class Algorithm(Model):
    training_type: Optional[str] = None
    algorithm_type: Optional[str] = None
    algorithm_name: Optional[str] = None
    algorithm_uri: Optional[str] = None
    foundation_model_name: Optional[str] = None
    foundation_model_uri: Optional[str] = None
    parameters_number: Optional[float] = None
    framework: Optional[str] = None
    framework_version: Optional[str] = None
    class_path: Optional[str] = None
    layers_number: Optional[float] = None
    epochs_number: Optional[float] = None
    optimizer: Optional[str] = None
    quantization: Optional[str] = None


@dataclass
class Dataset(Model):
    data_usage: Optional[str] = None
    data_type: Optional[str] = None
    data_format: Optional[str] = None
    data_size: Optional[float] = None
    data_quantity: Optional[float] = None
    shape: Optional[list] = None
    source: Optional[str] = None
    source_uri: Optional[str] = None
    owner: Optional[str] = None


@dataclass
class Task(Model):
    nested: ClassVar[dict[str, type]] = {"algorithms": Algorithm, "dataset": Dataset}
    task_stage: Optional[str] = None
    task_family: Optional[str] = None
    nb_request: Optional[float] = None
    algorithms: Optional[list] = None
    dataset: Optional[list] = None
    measured_accuracy: Optional[float] = None
    estimated_accuracy: Optional[str] = None
    task_description: Optional[str] = None


@dataclass
class Measure(Model):
    measurement_method: Optional[str] = None
    manufacturer: Optional[str] = None
    version: Optional[str] = None
    cpu_tracking_mode: Optional[str] = None
    gpu_tracking_mode: Optional[str] = None
    average_utilization_cpu: Optional[float] = None
    average_utilization_gpu: Optional[float] = None
    power_calibration_measurement: Optional[float] = None
    duration_calibration_measurement: Optional[float] = None
    power_consumption: Optional[float] = None
    measurement_duration: Optional[float] = None
    measurement_date_time: Optional[str] = None


@dataclass
class System(Model):
    os: Optional[str] = None
    distribution: Optional[str] = None
    distribution_version: Optional[str] = None


@dataclass
class Software(Model):
    language: Optional[str] = None
    version: Optional[str] = None


@dataclass
class Hardware(Model):
    component_name: Optional[str] = None
    component_type: Optional[str] = None
    nb_component: Optional[int] = None
    memory_size: Optional[float] = None
    manufacturer: Optional[str] = None
    family: Optional[str] = None
    series: Optional[str] = None
    share: Optional[float] = None


@dataclass
class Infrastructure(Model):
    nested: ClassVar[dict[str, type]] = {"components": Hardware}
    infra_type: Optional[str] = None
    cloud_provider: Optional[str] = None
    cloud_instance: Optional[str] = None
    cloud_service: Optional[str] = None
    components: Optional[list] = None


@dataclass
class Environment(Model):
    country: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    location: Optional[str] = None
    power_supplier_type: Optional[str] = None
    power_source: Optional[str] = None
    power_source_carbon_intensity: Optional[float] = None


@dataclass
class BoAmpsReport(Model):
    nested: ClassVar[dict[str, type]] = {
        "header": Header, "task": Task, "measures": Measure, "system": System, "software": Software,
        "infrastructure": Infrastructure, "environment": Environment,
    }
    header: Optional[Header] = None
    task: Optional[Task] = None
    measures: list = field(default_factory=list)
    system: Optional[System] = None
    software: Optional[Software] = None
    infrastructure: Optional[Infrastructure] = None
    environment: Optional[Environment] = None
    quality: Optional[str] = None
