"""Writing each result as one structured message to a Python logger or a Google Cloud Logging logger.

The user's logger is the user's code: whatever it raises (a broken handler, a closed stream, a Cloud Logging
error) is caught and reported once through the ``codecarbon`` logger, never raised into the tracked program.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from codecarbon.external.logger import log_once
from codecarbon.external.logger import logger as codecarbon_logger
from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.delivery import json_safe
from codecarbon.output_methods.emissions_data import EmissionsData


def parse_severity(value: Any, name: str = "severity") -> int:
    """A logging level given as int or name ('info', 'WARNING'...); ValueError naming ``name`` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a logging level such as logging.INFO or 'info', got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        level = logging.getLevelName(value.strip().upper())
        if isinstance(level, int):
            return level
    raise ValueError(f"{name} must be a logging level such as logging.INFO or 'info', got {value!r}")


def record_payload(data: EmissionsData) -> dict[str, Any]:
    """The record as a JSON-ready dict, keys in column order."""
    return json_safe(data.values)


class LoggerOutput(BaseOutput):
    """Logs the run so far as one JSON object per ``out``/``live_out``, at ``severity`` on the given logger.

    ``level=`` is accepted as another name for ``severity``.
    """

    def __init__(self, logger: logging.Logger, severity: int | str = logging.INFO, *,
                 level: int | str | None = None):
        if not callable(getattr(logger, "log", None)):
            raise ValueError(f"logging_logger must be a logging.Logger (or have a log() method), got {logger!r}")
        self.logger = logger
        self.logging_severity = parse_severity(severity if level is None else level,
                                               "severity" if level is None else "level")

    def _emit(self, total: EmissionsData) -> None:
        message = json.dumps(record_payload(total), allow_nan=False)
        self.logger.log(self.logging_severity, message)

    def _safely_emit(self, total: EmissionsData) -> None:
        try:
            self._emit(total)
        except Exception as error:  # the user's logger or handler may raise anything; the run goes on
            level = logging.DEBUG if getattr(self, "_failure_reported", False) else logging.ERROR
            self._failure_reported = True  # said once per output; later failures at DEBUG
            codecarbon_logger.log(level, "%s: the logger raised %s: %s; the record was not logged (the run goes "
                                  "on)", type(self).__name__, type(error).__name__, error)

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self._safely_emit(total)

    def live_out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self._safely_emit(total)


class GoogleCloudLoggerOutput(LoggerOutput):
    """Sends the same payload through a Cloud Logging logger's ``log_struct`` (a structured jsonPayload).

    ``cloud_logger`` is a ``google.cloud.logging.Logger`` (``client.logger(name)``); the severity is sent by
    name (``INFO``, ``WARNING``...).
    """

    def __init__(self, cloud_logger: Any, severity: int | str = logging.INFO, *,
                 level: int | str | None = None):
        if not callable(getattr(cloud_logger, "log_struct", None)):
            raise ValueError("logging_logger must be a google.cloud.logging Logger with log_struct() "
                             "(pip install 'codecarbon[google-cloud-logging]'), got "
                             f"{type(cloud_logger).__name__}")
        self.logger = cloud_logger
        self.logging_severity = parse_severity(severity if level is None else level,
                                               "severity" if level is None else "level")

    def _emit(self, total: EmissionsData) -> None:
        name = logging.getLevelName(self.logging_severity)
        if not isinstance(name, str) or name.startswith("Level "):
            log_once("gcl-severity", logging.WARNING, "severity %s has no name; sent as DEFAULT",
                     self.logging_severity)
            name = "DEFAULT"
        cloud_logger: Any = self.logger  # a google.cloud.logging Logger, not a logging.Logger
        cloud_logger.log_struct(record_payload(total), severity=name)
