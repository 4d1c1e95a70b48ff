"""The documented home of the output classes (re-exports).

Light classes are imported at once; the network and metrics outputs only when first named, so importing this
module never pulls in prometheus_client, logfire or Google Cloud libraries.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from codecarbon.output_methods.base_output import BaseOutput, OutputMethod
from codecarbon.output_methods.emissions_data import EmissionsData, TaskEmissionsData
from codecarbon.output_methods.logger import GoogleCloudLoggerOutput, LoggerOutput

_LAZY = {
    "FileOutput": "codecarbon.output_methods.file",
    "HTTPOutput": "codecarbon.output_methods.http",
    "CodeCarbonAPIOutput": "codecarbon.output_methods.api",
    "PrometheusOutput": "codecarbon.output_methods.metrics.prometheus",
    "LogfireOutput": "codecarbon.output_methods.metrics.logfire",
    "BoAmpsOutput": "codecarbon.output_methods.boamps",
}

__all__ = [  # noqa: PLE0604 - the lazy names are strings
    "BaseOutput", "OutputMethod", "EmissionsData", "TaskEmissionsData", "LoggerOutput",
           "GoogleCloudLoggerOutput", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
