"""The parts of a BoAmps report as typed objects (snake_case here, camelCase in the JSON).

Users may pass these or plain camelCase dicts to :class:`BoAmpsOutput`; both end up as the same JSON. The class
names are CodeCarbon 3.3.2's (``BoAmpsReport``, ``BoAmpsTask``, ...), importable from this module and from
``codecarbon.output_methods.boamps``; the short names (``Task``, ``Header``, ...) are aliases.
Field names follow the BoAmps report schema (https://github.com/Boavizta/BoAmps/tree/main/model).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Optional, TypeVar


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


_M = TypeVar("_M", bound="Model")


class Model:
    """Shared behaviour: camelCase serialisation and construction from camelCase dicts."""

    nested: ClassVar[dict[str, type[Model]]] = {}      # field -> model type of the field (or of its list items)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is not None:
                out[camel(f.name)] = to_jsonable(value)
        return out

    @classmethod
    def from_dict(cls: type[_M], data: dict[str, Any]) -> _M:
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
class BoAmpsPublisher(Model):
    name: Optional[str] = None
    division: Optional[str] = None
    project_name: Optional[str] = None
    confidentiality_level: Optional[str] = None
    public_key: Optional[str] = None


@dataclass
class BoAmpsHeader(Model):
    nested: ClassVar[dict[str, type[Model]]] = {"publisher": BoAmpsPublisher}
    licensing: Optional[str] = None
    format_version: Optional[str] = None
    format_version_specification_uri: Optional[str] = None
    report_id: Optional[str] = None
    report_datetime: Optional[str] = None
    report_status: Optional[str] = None
    publisher: Optional[BoAmpsPublisher] = None


@dataclass
class BoAmpsAlgorithm(Model):
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
class BoAmpsDataset(Model):
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
class BoAmpsTask(Model):
    nested: ClassVar[dict[str, type[Model]]] = {"algorithms": BoAmpsAlgorithm, "dataset": BoAmpsDataset}
    task_stage: Optional[str] = None
    task_family: Optional[str] = None
    nb_request: Optional[float] = None
    algorithms: Optional[list] = None
    dataset: Optional[list] = None
    measured_accuracy: Optional[float] = None
    estimated_accuracy: Optional[str] = None
    task_description: Optional[str] = None


@dataclass
class BoAmpsMeasure(Model):
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
class BoAmpsSystem(Model):
    os: Optional[str] = None
    distribution: Optional[str] = None
    distribution_version: Optional[str] = None


@dataclass
class BoAmpsSoftware(Model):
    language: Optional[str] = None
    version: Optional[str] = None


@dataclass
class BoAmpsHardware(Model):
    component_name: Optional[str] = None
    component_type: Optional[str] = None
    nb_component: Optional[int] = None
    memory_size: Optional[float] = None
    manufacturer: Optional[str] = None
    family: Optional[str] = None
    series: Optional[str] = None
    share: Optional[float] = None


@dataclass
class BoAmpsInfrastructure(Model):
    nested: ClassVar[dict[str, type[Model]]] = {"components": BoAmpsHardware}
    infra_type: Optional[str] = None
    cloud_provider: Optional[str] = None
    cloud_instance: Optional[str] = None
    cloud_service: Optional[str] = None
    components: Optional[list] = None


@dataclass
class BoAmpsEnvironment(Model):
    country: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    location: Optional[str] = None
    power_supplier_type: Optional[str] = None
    power_source: Optional[str] = None
    power_source_carbon_intensity: Optional[float] = None


@dataclass
class BoAmpsReport(Model):
    nested: ClassVar[dict[str, type[Model]]] = {
        "header": BoAmpsHeader, "task": BoAmpsTask, "measures": BoAmpsMeasure, "system": BoAmpsSystem,
        "software": BoAmpsSoftware, "infrastructure": BoAmpsInfrastructure, "environment": BoAmpsEnvironment,
    }
    header: Optional[BoAmpsHeader] = None
    task: Optional[BoAmpsTask] = None
    measures: list = field(default_factory=list)
    system: Optional[BoAmpsSystem] = None
    software: Optional[BoAmpsSoftware] = None
    infrastructure: Optional[BoAmpsInfrastructure] = None
    environment: Optional[BoAmpsEnvironment] = None
    quality: Optional[str] = None

    def to_json(self, indent: int | None = 2) -> str:
        """The report as BoAmps JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    # read like the dict earlier versions returned: report["header"]["reportId"]
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def keys(self):
        return self.to_dict().keys()

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)


Publisher, Header, Algorithm, Dataset, Task = BoAmpsPublisher, BoAmpsHeader, BoAmpsAlgorithm, BoAmpsDataset, BoAmpsTask
Measure, System, Software, Hardware = BoAmpsMeasure, BoAmpsSystem, BoAmpsSoftware, BoAmpsHardware
Infrastructure, Environment = BoAmpsInfrastructure, BoAmpsEnvironment
