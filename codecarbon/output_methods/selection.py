"""Which outputs a tracker writes to, built from its settings, in the documented order."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from codecarbon.external.logger import log_once, logger
from codecarbon.output_methods.base_output import BaseOutput, OutputMethod
from codecarbon.support.errors import MissingDependencyError

# The deprecated flags and the method each one stands for, in the documented order.
DEPRECATED_FLAGS: dict[str, OutputMethod] = {
    "save_to_file": OutputMethod.CSV,
    "save_to_logger": OutputMethod.LOGGER,
    "save_to_api": OutputMethod.API,
    "save_to_prometheus": OutputMethod.PROMETHEUS,
    "save_to_logfire": OutputMethod.LOGFIRE,
}
METHOD_ORDER = (OutputMethod.CSV, OutputMethod.LOGGER, OutputMethod.API, OutputMethod.PROMETHEUS,
                OutputMethod.LOGFIRE, OutputMethod.BOAMPS, OutputMethod.OTEL)


def _setting(settings: Any, name: str, default: Any = None) -> Any:
    return getattr(settings, name, default)


def _is_set(settings: Any, name: str) -> bool:
    check = getattr(settings, "is_set", None)
    return bool(check(name)) if callable(check) else False


def selected_methods(settings: Any) -> list[OutputMethod]:
    """The methods in effect: ``output_methods`` when given, else the deprecated flags, else CSV alone.

    Settings hold method names as plain strings (core imports no output code); they become members here. The
    deprecation warnings about the flags come from config loading, not from here."""
    methods = _setting(settings, "output_methods")
    if methods is not None:
        chosen = {OutputMethod.parse(m) for m in methods}
    elif any(_is_set(settings, flag) for flag in DEPRECATED_FLAGS):
        chosen = {m for flag, m in DEPRECATED_FLAGS.items() if _setting(settings, flag, flag == "save_to_file")}
    else:
        chosen = {OutputMethod.CSV}
    return [m for m in METHOD_ORDER if m in chosen]


#: Where the logger output logs when no logging_logger is given (a child of the package's logger, so its
#: handler and level apply).
DEFAULT_ROWS_LOGGER = "codecarbon.emissions"


def logger_output(logging_logger: Any) -> BaseOutput:
    """The LOGGER output from ``logging_logger``: a LoggerOutput as given, or a logger wrapped in one."""
    from codecarbon.output_methods.logger import GoogleCloudLoggerOutput, LoggerOutput

    if logging_logger is None:  # a config file cannot pass an object: the rows go to our own emissions logger
        from codecarbon.external.logger import log_once

        log_once("logger-output-default", logging.INFO, "output_methods includes logger without logging_logger: "
                 "rows are logged on the %r logger", DEFAULT_ROWS_LOGGER)
        return LoggerOutput(logging.getLogger(DEFAULT_ROWS_LOGGER))
    if isinstance(logging_logger, BaseOutput):
        return logging_logger
    if isinstance(logging_logger, logging.Logger):
        return LoggerOutput(logging_logger)
    if callable(getattr(logging_logger, "log_struct", None)):
        return GoogleCloudLoggerOutput(logging_logger)
    raise ValueError(f"logging_logger must be a LoggerOutput, a logging.Logger or a Cloud Logging logger, "
                     f"got {type(logging_logger).__name__}")


def boamps_metadata(metadata: Any) -> dict[str, Any] | None:
    """The BoAmps context in ``metadata`` (a dict or a JSON file path): its ``boamps`` key, else all of it."""
    if metadata is None:
        return None
    if isinstance(metadata, str):
        import json

        try:
            with open(metadata, encoding="utf-8") as handle:
                metadata = json.load(handle)
        except (OSError, ValueError) as error:
            raise ValueError(f"metadata: {metadata!r} is not a readable JSON file ({error})") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict or the path of a JSON file, got {type(metadata).__name__}")
    inner = metadata.get("boamps", metadata)
    if not isinstance(inner, dict):
        raise ValueError("metadata['boamps'] must be a JSON object")
    return inner


def _optional(method: OutputMethod, build: Callable[[], BaseOutput]) -> list[BaseOutput]:
    """The output ``build`` makes, or none when its library is missing: one WARNING naming what to install.

    An observability add-on never stops the user's job (3.3.2 logs and carries on); the other outputs still run.
    Built directly by the user, the same output class raises MissingDependencyError (an ImportError) instead.
    """
    try:
        return [build()]
    except MissingDependencyError as error:
        logger.warning("output %r is not used: %s; the run goes on with the other outputs", method.value, error)
        return []


def build_outputs(settings: Any, user_handlers: list[BaseOutput]) -> list[BaseOutput]:
    """The tracker's outputs: the user's handlers first, then CSV, logger, HTTP, API, Prometheus (push, then the
    scrape endpoint when ``prometheus_port`` is set), Logfire, OpenTelemetry, BoAmps.

    Raises ValueError naming the parameter for a bad or missing setting. A selected output whose library is
    missing is left out with one WARNING naming the extra to install. The caller's list is never changed.
    """
    outputs: list[BaseOutput] = list(user_handlers or [])
    methods = selected_methods(settings)
    output_dir = str(_setting(settings, "output_dir", "."))
    timeout = float(_setting(settings, "delivery_timeout_secs", 2.0))
    endpoint = _setting(settings, "emissions_endpoint")

    if OutputMethod.CSV in methods:
        from codecarbon.output_methods.file import FileOutput

        outputs.append(FileOutput(output_file_name=_setting(settings, "output_file", "emissions.csv"),
                                  output_dir=output_dir,
                                  on_csv_write=_setting(settings, "on_csv_write", "append")))
    if OutputMethod.LOGGER in methods:
        outputs.append(logger_output(_setting(settings, "logging_logger")))
    if endpoint:
        from codecarbon.output_methods.http import HTTPOutput

        outputs.append(HTTPOutput(endpoint, delivery_timeout_secs=timeout))
    if OutputMethod.API in methods:
        from codecarbon.output_methods.api import CodeCarbonAPIOutput

        api_key = _setting(settings, "api_key")
        if not api_key:
            log_once("api-no-key", logging.WARNING, "the API output has no api_key; the API will likely refuse "
                     "the data (set api_key or CODECARBON_API_KEY)")
        outputs.append(CodeCarbonAPIOutput(
            _setting(settings, "api_endpoint", "https://api.codecarbon.io"), _setting(settings, "experiment_id"),
            api_key, delivery_timeout_secs=timeout))
    if OutputMethod.PROMETHEUS in methods:
        from codecarbon.output_methods.metrics.prometheus import PrometheusOutput, prometheus_job_name

        outputs += _optional(OutputMethod.PROMETHEUS, lambda: PrometheusOutput(
            _setting(settings, "prometheus_url", "localhost:9091"),
            job_name=prometheus_job_name(_setting(settings, "project_name", "codecarbon"),
                                         _setting(settings, "experiment_name", "base")),
            project_name=_setting(settings, "project_name"),
            delete_on_exit=bool(_setting(settings, "prometheus_delete_on_exit", False)),
            delivery_timeout_secs=timeout))
    if OutputMethod.LOGFIRE in methods:
        from codecarbon.output_methods.metrics.logfire import LogfireOutput

        outputs += _optional(OutputMethod.LOGFIRE, LogfireOutput)
    if _setting(settings, "prometheus_port") is not None:
        from codecarbon.output_methods.metrics.scrape import PrometheusScrapeOutput

        outputs.append(PrometheusScrapeOutput(int(_setting(settings, "prometheus_port")),
                                              _setting(settings, "prometheus_host", "127.0.0.1")))
    if OutputMethod.OTEL in methods:
        from codecarbon.output_methods.metrics.otel import OtelOutput

        outputs += _optional(OutputMethod.OTEL, lambda: OtelOutput(
            _setting(settings, "otel_endpoint"), _setting(settings, "otel_headers"),
            project_name=_setting(settings, "project_name"), delivery_timeout_secs=timeout))
    if OutputMethod.BOAMPS in methods:
        from codecarbon.output_methods.boamps import BoAmpsOutput

        if any(isinstance(handler, BoAmpsOutput) for handler in user_handlers or []):
            log_once("boamps-user-handler", logging.DEBUG, "BoAmps: using the BoAmpsOutput from output_handlers")
        else:
            context = boamps_metadata(_setting(settings, "metadata"))
            outputs.append(BoAmpsOutput.from_dict(context, output_dir=output_dir) if context is not None
                           else BoAmpsOutput(output_dir=output_dir))
    return outputs
