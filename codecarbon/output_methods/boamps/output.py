"""Writing a BoAmps report (``boamps_report_<run_id>.json``) for each run, at every flush and at stop."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codecarbon.external.logger import log_once, logger
from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.boamps.mapper import QUALITY_LEVELS, map_emissions_to_boamps
from codecarbon.output_methods.boamps.models import (
    Environment,
    Header,
    Infrastructure,
    Model,
    Task,
    to_jsonable,
)
from codecarbon.output_methods.emissions_data import EmissionsData
from codecarbon.support import files

_INFRA_KEYS = ("cloudInstance", "cloudService", "cloudProvider", "infraType", "components")
_ENVIRONMENT_KEYS = ("location", "powerSupplierType", "powerSource", "powerSourceCarbonIntensity", "country",
                     "latitude", "longitude")


def _as_dict(name: str, value: Any, model: type[Model]) -> dict[str, Any] | None:
    """Accept a model object or a camelCase dict (checked against the model's fields)."""
    if value is None:
        return None
    if isinstance(value, model):
        return value.to_dict()
    if isinstance(value, Mapping):
        try:
            return model.from_dict(dict(value)).to_dict()
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name}: {error}") from None
    raise ValueError(f"{name} must be a {model.__name__} or a dict of BoAmps fields, got {type(value).__name__}")


class BoAmpsOutput(BaseOutput):
    """Writes the run as a BoAmps report in ``output_dir``, overwritten at each flush and at stop.

    ``task``, ``header`` (e.g. its ``publisher``), ``quality``, ``infra_overrides`` and
    ``environment_overrides`` add what the tracker cannot measure; their fields win over measured ones.
    """

    def __init__(self, output_dir: str = ".", task: Any = None, header: Any = None, quality: str | None = None,
                 infra_overrides: Any = None, environment_overrides: Any = None):
        if quality is not None and quality not in QUALITY_LEVELS:
            raise ValueError(f"quality must be one of {', '.join(QUALITY_LEVELS)}, got {quality!r}")
        self.output_dir = Path(output_dir)
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValueError(f"output_dir {str(output_dir)!r} cannot be created: {error}") from None
        self.task = _as_dict("task", task, Task)
        self.header = _as_dict("header", header, Header)
        self.quality = quality
        self.infra_overrides = _as_dict("infra_overrides", infra_overrides, Infrastructure)
        self.environment_overrides = _as_dict("environment_overrides", environment_overrides, Environment)
        self.last_report_path: Path | None = None

    @classmethod
    def from_dict(cls, context: Mapping[str, Any], output_dir: str = ".") -> BoAmpsOutput:
        """Build from a camelCase BoAmps context: task, header, quality, infrastructure, environment."""
        if not isinstance(context, Mapping):
            raise ValueError(f"BoAmps metadata must be a JSON object, got {type(context).__name__}")
        known = {"task", "header", "quality", "infrastructure", "environment"}
        unknown = sorted(set(context) - known)
        if unknown:
            raise ValueError(f"unknown BoAmps metadata keys {unknown}; expected some of {sorted(known)}")
        infrastructure = context.get("infrastructure") or {}
        environment = context.get("environment") or {}
        return cls(
            output_dir=output_dir,
            task=context.get("task"),
            header=context.get("header"),
            quality=context.get("quality"),
            infra_overrides={k: v for k, v in infrastructure.items() if k in _INFRA_KEYS} or None,
            environment_overrides={k: v for k, v in environment.items() if k in _ENVIRONMENT_KEYS} or None,
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], output_dir: str = ".") -> BoAmpsOutput:
        """Build from a JSON file holding a BoAmps context (FileNotFoundError / JSONDecodeError as raised)."""
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle), output_dir=output_dir)

    def report(self, data: EmissionsData) -> dict[str, Any]:
        """The report this output writes for ``data``."""
        if self.task is None:
            log_once("boamps-default-task", 20, "BoAmps report: no task described; placeholders keep it valid "
                     "(pass task=... to BoAmpsOutput or metadata={'boamps': {...}} to describe it)")
        return map_emissions_to_boamps(data, task=self.task, header=self.header, quality=self.quality,
                                       infra_overrides=self.infra_overrides,
                                       environment_overrides=self.environment_overrides).to_dict()

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        path = self.output_dir / f"boamps_report_{total.run_id}.json"
        text = json.dumps(to_jsonable(self.report(total)), indent=2, allow_nan=False)
        try:  # a report in the user's folder: its mode follows their umask, like the CSV
            files.atomic_write(path, text + "\n", mode=files.USER_FILE_MODE)
        except OSError as error:
            logger.error("could not write the BoAmps report %s: %s", path, error)
            return
        self.last_report_path = path
