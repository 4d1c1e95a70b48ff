"""The one table of every parameter: name, type, default, parser, validation, deprecated aliases.

Everything else about a parameter follows from its row: the config layers (``core/config.py``) parse every layer
with the row's parser, ``.codecarbon.config.example`` and ``codecarbon config --list`` are generated from it, and
the trackers' and ``track_emissions``' signatures are tested against it. Parsers are pure: they return the value or
raise ``_Invalid`` saying what was expected; the caller adds the parameter's name and where the value came from.
This module imports no output code: output methods are validated against :data:`OUTPUT_METHODS`, plain strings.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from codecarbon.external.logger import parse_log_level

DEFAULT_EXPERIMENT_ID = "5b0fa12a-3dd7-45bb-9766-cc326314d9f1"
DEFAULT_API_ENDPOINT = "https://api.codecarbon.io"
#: The shortest sampling period: a smaller measure_power_secs (0 included, as 3.3.2's examples pass) is accepted
#: with a warning and this is used. Negative values are refused.
MIN_MEASURE_POWER_SECS = 0.01

#: The values of ``OutputMethod`` (output_methods/base_output.py), in its order; a test keeps the two equal.
OUTPUT_METHODS: tuple[str, ...] = ("csv", "api", "logger", "prometheus", "logfire", "boamps", "otel")

#: Keys the CLI writes that the tracker does not use: accepted silently.
CLI_KEYS = frozenset({"organization_id", "project_id", "auth_server_well_known", "auth_client_id"})
#: Keys older releases read and we no longer use, and what replaces each: accepted with a deprecation warning.
LEGACY_KEYS: dict[str, str] = {
    "misfire_grace_time": "measure_power_secs alone sets the sampling period (there is no scheduler to misfire)",
}
#: The deprecated output flags and the output method each stands for, in the documented order.
DEPRECATED_FLAGS: dict[str, str] = {
    "save_to_file": "csv",
    "save_to_logger": "logger",
    "save_to_api": "api",
    "save_to_prometheus": "prometheus",
    "save_to_logfire": "logfire",
}

class _Invalid(ValueError):
    """Raised by parsers with what was expected; load_settings adds the parameter and the layer."""


# --------------------------------------------------------------------------------------------------- parsers
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def _text(value: Any) -> str | None:
    """Strings and path-likes as text; anything else None (the caller then says what it expected)."""
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return None


def parse_bool(value: Any) -> bool:
    """true/false/yes/no/on/off/1/0 in any case (the reference read "1" as False; we do not)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = _text(value)
    if text is not None:
        word = text.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _Invalid(f"a boolean (true/false, yes/no, on/off, 1/0), got {value!r}")


def _as_number(value: Any) -> float:
    if isinstance(value, bool):
        raise _Invalid(f"a number, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _text(value)
        try:
            number = float(text.strip()) if text is not None else math.nan
        except ValueError:
            number = math.nan
        if text is None or math.isnan(number):
            raise _Invalid(f"a number, got {value!r}")
    if not math.isfinite(number):
        raise _Invalid(f"a finite number, got {value!r}")
    return number


def parse_float(value: Any) -> float:
    """A finite float from a number or its text."""
    return _as_number(value)


def parse_int(value: Any) -> int:
    """An int from an int or its text; "8.0" is accepted because it is integral."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _as_number(value)
    if not number.is_integer():
        raise _Invalid(f"an integer, got {value!r}")
    return int(number)


def parse_str(value: Any) -> str:
    """Text (paths are accepted as text)."""
    text = _text(value)
    if text is None:
        raise _Invalid(f"a string, got {type(value).__name__} {value!r}")
    return text


def parse_log_level_value(value: Any) -> int:
    """A level name (debug, info, warning, error, critical, any case) or its number."""
    try:
        return parse_log_level(value)
    except ValueError as error:
        raise _Invalid(f"a log level (debug, info, warning, error, critical or 0-50), got {value!r}") from error


@functools.cache
def _gpu_id() -> re.Pattern[str]:
    """Compiled at first use, not at import: most trackers never read a GPU id from text (issue 16)."""
    return re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")


def _gpu_items_from_text(text: str) -> list[str]:
    inner = text.strip().lstrip("[(").rstrip("])")
    return [item.strip().strip("'\"").strip() for item in inner.split(",") if item.strip().strip("'\"").strip()]


def _gpu_item(item: Any) -> int | str:
    if isinstance(item, bool):
        raise _Invalid(f"GPU indices or UUIDs, got {item!r}")
    if isinstance(item, int):
        if item < 0:
            raise _Invalid(f"GPU indices ≥ 0, got {item}")
        return item
    if isinstance(item, str):
        text = item.strip()
        if text.isdigit():
            return int(text)
        if _gpu_id().match(text) and not text.lstrip("-").isdigit():
            return text
    raise _Invalid(f"GPU indices or UUIDs such as 0,1 or GPU-4e81..., got {item!r}")


def parse_gpu_ids(value: Any) -> list[int | str] | None:
    """Indices and GPU/MIG UUID (prefixes): digit strings become ints, UUID strings are kept whole."""
    if value is None:
        return None
    text = _text(value)
    if text is not None:
        if not text.strip():
            return None
        items: list[Any] = _gpu_items_from_text(text)
    elif isinstance(value, (list, tuple)):
        items = []
        for item in value:
            items.extend(_gpu_items_from_text(item) if isinstance(item, str) else [item])
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    else:
        raise _Invalid(f"GPU indices or UUIDs as a list or a comma-separated string, got {value!r}")
    parsed: list[int | str] = []
    for item in items:
        gpu = _gpu_item(item)
        if gpu not in parsed:
            parsed.append(gpu)
    return parsed


def _method_name(item: Any) -> str:
    if isinstance(item, Enum):
        item = item.value
    if not isinstance(item, str):
        raise _Invalid(f"output method names, got {item!r}")
    word = item.strip().lower()
    if word not in OUTPUT_METHODS:
        raise _Invalid(f"one of {', '.join(OUTPUT_METHODS)}; unknown output method {item!r}")
    return word


def parse_output_methods(value: Any) -> list[str] | None:
    """A comma-separated string or a list of OutputMethod members / names (any case): the method values, in
    order, without repeats. Plain strings here; output selection turns them into ``OutputMethod`` members."""
    if value is None:
        return None
    if isinstance(value, str) and not isinstance(value, Enum):
        if not value.strip():
            return None
        items: list[Any] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, Enum):
        items = [value]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        raise _Invalid(f"a list of output methods or a comma-separated string, got {value!r}")
    methods: list[str] = []
    for item in items:
        method = _method_name(item)
        if method not in methods:
            methods.append(method)
    return methods


def parse_metadata(value: Any) -> dict | None:
    """A dict, or the path of a JSON file holding an object (read now so a bad file fails at construction)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    text = _text(value)
    if text is None:
        raise _Invalid(f"a dict or the path of a JSON file, got {type(value).__name__}")
    if not text.strip():
        return None
    path = Path(text.strip()).expanduser()
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise _Invalid(f"a readable JSON file, but {path} could not be read ({error.strerror or error})") from error
    except json.JSONDecodeError as error:
        raise _Invalid(f"a JSON file, but {path} is not valid JSON ({error})") from error
    except (ValueError, RecursionError) as error:  # a NUL byte in the path, non-UTF-8 bytes, deep nesting
        raise _Invalid(f"a readable JSON file, got {text[:80]!r} ({error})") from error
    if not isinstance(loaded, dict):
        raise _Invalid(f"a JSON object in {path}, got {type(loaded).__name__}")
    return loaded


def parse_output_handlers(value: Any) -> list:
    """A list of output objects (BaseOutput subclasses or alike); copied, the caller's list is never changed."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise _Invalid(f"a list of BaseOutput instances, got {type(value).__name__}")
    hooks = ("out", "live_out", "task_out", "exit")
    for item in value:
        if not any(callable(getattr(item, hook, None)) for hook in hooks):
            raise _Invalid(f"BaseOutput instances (with out/live_out/task_out/exit), got {item!r}")
    return list(value)


def parse_object(value: Any) -> Any:
    """Objects pass as given."""
    return value


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value)
        word = text.strip().lower() if text is not None else None
        if word not in choices:
            raise _Invalid(f"one of {', '.join(choices)}, got {value!r}")
        return word

    parse.__doc__ = f"One of {', '.join(choices)} (any case)."
    return parse


def alpha3_hint(code: str) -> str:
    """`` (did you mean 'FRA'?)`` for an alpha-2 code given where an alpha-3 one is expected, else ""."""
    text = code.strip()
    if len(text) != 2 or not text.isascii() or not text.isalpha():
        return ""
    from codecarbon.intensity.tables import alpha3_of  # the bundled table, read only on this error's path

    found = alpha3_of(text)
    return f" (did you mean {found!r}?)" if found else ""


def _letters(count: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value)
        code = text.strip() if text is not None else ""
        if len(code) != count or not code.isascii() or not code.isalpha():
            hint = alpha3_hint(code) if count == 3 else ""
            raise _Invalid(f"a {count}-letter ISO country code, got {value!r}{hint}")
        return code.upper()

    return parse


def did_you_mean(key: str, *, prefix: str = "") -> str:
    """``; did you mean 'measure_power_secs'?`` for a name close to a known setting's, else ""."""
    import difflib

    known = [name for name, p in PARAMETERS.items() if p.scope != "decorator"] + list(ALIASES) + sorted(CLI_KEYS)
    if prefix:
        known.append("state_dir")  # CODECARBON_STATE_DIR, read by the state directory itself
    close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.75)
    if not close:
        return ""
    found = ALIASES.get(close[0], close[0])  # a deprecated name's match suggests the current name
    name = (prefix + found).upper() if prefix else found
    return f"; did you mean {name!r}?"


def _lower_str(value: Any) -> str:
    return parse_str(value).strip().lower()


def _stripped_str(value: Any) -> str:
    return parse_str(value).strip()


_HOST = r"(?:[^\s/@]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"


@functools.cache
def _url_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(scheme, host[:port][/path] after a scheme, host:port[/path] without one: a port is needed, localhost:7777),
    compiled at the first URL parsed rather than at import (issue 16)."""
    return (re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://"), re.compile(_HOST + r"(?::\d{1,5})?(?:/\S*)?$"),
            re.compile(_HOST + r":\d{1,5}(?:/\S*)?$"))


def redact_userinfo(text: str) -> str:
    """A URL with any ``user:password@`` replaced by ``***@``, for messages."""
    return re.sub(r"^((?:[A-Za-z][A-Za-z0-9+.-]*://)?)[^\s/@]+@", r"\1***@", text)


def parse_url(value: Any) -> str:
    """An http(s) URL; a scheme-less ``host:port[/path]`` (as 3.x docs write them) means ``http://``."""
    text = parse_str(value).strip()
    scheme, host_port, bare_host_port = _url_patterns()
    match = scheme.match(text)
    if match is None and bare_host_port.match(text):
        text = "http://" + text
    elif match is None or match.group(1).lower() not in ("http", "https") or \
            not host_port.match(text[match.end():]):
        raise _Invalid(f"an http:// or https:// URL or host:port, got {redact_userinfo(text)!r}")
    return text.rstrip("/")


def parse_label(value: Any) -> str:
    """Text; any other object as its ``str()`` (3.3.2 writes a scheduler's task object passed as a name so)."""
    text = _text(value)
    if text is not None:
        return text
    try:
        return str(value)
    except Exception as error:  # a __str__ that raises is the caller's bug: say which object, not its trace
        raise _Invalid(f"a string or an object whose str() works, got {type(value).__name__} "
                       f"({type(error).__name__})") from None


def _non_empty(value: Any) -> str:
    text = parse_str(value).strip()
    if not text:
        raise _Invalid("a non-empty string")
    return text


_LEGACY_FILE_MODES = frozenset({"local", "local-overwrite", "local-append", "overwrite", "append", "update"})


def legacy_output_flag(value: Any) -> tuple[bool, str] | None:
    """Old docs wrote ``save_to_file = local-overwrite``: such values mean true; anything else is not legacy."""
    text = _text(value)
    if text is not None and text.strip().lower() in _LEGACY_FILE_MODES:
        return True, f"the value {text.strip()!r} is an old form and is read as true"
    return None


# ------------------------------------------------------------------------------------------------ validators
def _above(limit: float) -> Callable[[Any], str | None]:
    return lambda v: None if v is None or v > limit else f"a number > {limit:g}, got {v}"


def _at_least(limit: float) -> Callable[[Any], str | None]:
    return lambda v: None if v is None or v >= limit else f"a number ≥ {limit:g}, got {v}"


def _port(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "a TCP port number from 0 to 65535"


def _interval(value: int) -> str | None:
    return None if value == -1 or value >= 1 else f"an integer ≥ 1, or -1 (only on flush/stop), got {value}"


# ----------------------------------------------------------------------------------------------- the table
_KEEP_DEFAULT: Any = object()


@dataclass(frozen=True)
class Parameter:
    """One setting: how to read it, what it defaults to, where it applies, and a line for the docs."""

    name: str
    kind: str
    default: Any
    parse: Callable[[Any], Any]
    doc: str
    group: str
    validate: Callable[[Any], str | None] | None = None
    aliases: tuple[str, ...] = ()
    scope: str = "tracker"  # tracker | offline | decorator
    from_files: bool = True  # False: object-valued, constructor only
    deprecated: bool = False  # the parameter itself is deprecated (the save_to_* flags)
    secret: bool = False  # never shown in a message, a log line or a repr
    legacy: Callable[[Any], tuple[Any, str] | None] | None = None  # old value forms: (value, note) or None
    none_argument: Any = _KEEP_DEFAULT  # what an explicit None argument means; default: "not given"
    example: str | None = None  # a sample value for the example config when the default is None

    def convert(self, value: Any) -> Any:
        """Parse then validate; raises _Invalid with what was expected."""
        return self.convert_noted(value)[0]

    def convert_noted(self, value: Any) -> tuple[Any, str | None]:
        """(value, note): the note says how an old form of the value was read (None for current forms)."""
        if self.legacy is not None:
            old = self.legacy(value)
            if old is not None:
                return old
        try:
            parsed = self.parse(value)
            problem = self.validate(parsed) if self.validate is not None and parsed is not None else None
        except _Invalid:
            if self.secret:
                raise _Invalid(f"a {self.kind} (the value is not shown: it is a secret)") from None
            raise
        if problem:
            raise _Invalid(problem)
        return parsed, None

    @property
    def none_means_not_given(self) -> bool:
        return self.none_argument is _KEEP_DEFAULT


def _p(name: str, kind: str, default: Any, parse: Callable[[Any], Any], doc: str, group: str,
       **extra: Any) -> Parameter:
    return Parameter(name=name, kind=kind, default=default, parse=parse, doc=doc, group=group, **extra)


_G_RUN, _G_MEASURE, _G_OUT, _G_API, _G_PROM = "Run", "Measurement", "Outputs", "CodeCarbon API", "Prometheus"
_G_HW, _G_INTENSITY, _G_LOCATION, _G_LOG, _G_DEPRECATED = ("Hardware", "Carbon intensity",
                                                           "Location (offline tracker)", "Logging",
                                                           "Deprecated output flags (use output_methods)")
_G_JOB = "Jobs of many processes"  # jobs helper (issue 9)
_G_OTEL = "OpenTelemetry"

_TABLE: tuple[Parameter, ...] = (
    _p("project_name", "str", "codecarbon", parse_label,
       "Name of the project, written in every row (project_name=None in code: an empty cell, as in 3.x).", _G_RUN,
       none_argument=""),
    _p("experiment_id", "str", DEFAULT_EXPERIMENT_ID, _non_empty,
       "Experiment the runs belong to (CSV column, API runs); `codecarbon init` creates one.", _G_RUN),
    _p("experiment_name", "str", "base", parse_label,
       "Experiment name: names the task CSV, emissions_<experiment_name>_<run_id>.csv.", _G_RUN),
    _p("allow_multiple_runs", "bool", True, parse_bool,
       "Allow several trackers at once on this machine; false refuses a second one.", _G_RUN),
    _p("measure_power_secs", "float", 15.0, parse_float,
       f"Seconds between two measurements; below {MIN_MEASURE_POWER_SECS:g} (0 included) the tracker warns and "
       f"samples every {MIN_MEASURE_POWER_SECS:g} s.", _G_MEASURE, validate=_at_least(0)),
    _p("api_call_interval", "int", 8, parse_int,
       "Send live data every N measurements; -1: only at flush() and stop().", _G_MEASURE, validate=_interval),
    _p("tracking_mode", "str", "machine", _choice("machine", "process"),
       "machine: the whole machine; process: this process and its children.", _G_MEASURE),
    _p("pue", "float", 1.0, parse_float, "Power usage effectiveness of the data centre; multiplies energy.",
       _G_MEASURE, validate=_above(0)),
    _p("wue", "float", 0.0, parse_float, "Water usage effectiveness (L/kWh); water = energy x wue.",
       _G_MEASURE, validate=_at_least(0)),
    _p("output_methods", "output_methods", None, parse_output_methods,
       "Where rows go: comma-separated csv, api, logger, prometheus, logfire, boamps, otel (default: csv).", _G_OUT,
       example="csv,logger"),
    _p("output_dir", "str", ".", _non_empty, "Folder of the CSV file and reports (must exist).", _G_OUT),
    _p("output_file", "str", "emissions.csv", _non_empty, "CSV file name, inside output_dir.", _G_OUT),
    _p("on_csv_write", "str", "append", _choice("append", "update"),
       "append: one row per flush/stop; update: replace the run's row.", _G_OUT),
    _p("emissions_endpoint", "str", None, parse_url,
       "URL that receives each row as JSON (HTTP output); host:port means http://.", _G_OUT,
       example="https://example.org/emissions"),
    _p("delivery_timeout_secs", "float", 2.0, parse_float,
       "The longest flush()/stop() wait, all network outputs together, before saving the rest.", _G_OUT,
       validate=_at_least(0)),
    _p("metadata", "metadata", None, parse_metadata,
       "Extra facts for the BoAmps report: a dict, or the path of a JSON file.", _G_OUT,
       example="boamps_metadata.json"),
    _p("output_handlers", "object", [], parse_output_handlers,
       "Your own BaseOutput instances (constructor only).", _G_OUT, from_files=False),
    _p("logging_logger", "object", None, parse_object,
       "LoggerOutput used by the logger output (constructor only).", _G_LOG, from_files=False),
    _p("api_endpoint", "str", DEFAULT_API_ENDPOINT, parse_url, "Base URL of the CodeCarbon API.", _G_API),
    _p("api_key", "str", None, _stripped_str, "API token, sent as the x-api-token header.", _G_API,
       secret=True, example="your-api-key"),
    _p("prometheus_url", "str", "localhost:9091", parse_url,
       "Address of the Prometheus Pushgateway (host:port or URL).", _G_PROM),
    _p("prometheus_delete_on_exit", "bool", False, parse_bool,
       "Delete the job's metrics from the gateway at stop (false keeps the final values).", _G_PROM),
    _p("prometheus_port", "int", None, parse_int,
       "Serve this run's metrics on /metrics at this port for Prometheus to scrape (0: any free port).", _G_PROM,
       validate=_port, example="9108"),
    _p("prometheus_host", "str", "127.0.0.1", _non_empty,
       "Address the /metrics endpoint listens on (0.0.0.0: every interface).", _G_PROM),
    _p("otel_endpoint", "str", None, parse_url,
       "OTLP/HTTP collector for the otel output (default: OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4318).",
       _G_OTEL, example="http://localhost:4318"),
    _p("otel_headers", "str", None, _stripped_str,
       "Headers sent to the collector, key=value,key2=value2 (default: OTEL_EXPORTER_OTLP_HEADERS).", _G_OTEL,
       secret=True, example="authorization=Bearer your-token"),
    _p("gpu_ids", "gpu_ids", None, parse_gpu_ids,
       "GPUs to track: indices or UUIDs (default: CUDA_VISIBLE_DEVICES, else all).", _G_HW, example="0,1"),
    _p("force_cpu_power", "float", None, parse_float, "CPU power (W) to use instead of measuring.", _G_HW,
       validate=_above(0), example="65"),
    _p("force_ram_power", "float", None, parse_float, "RAM power (W) to use instead of estimating.", _G_HW,
       validate=_above(0), example="10"),
    _p("force_mode_cpu_load", "bool", False, parse_bool,
       "Estimate CPU power from its load and TDP even where energy counters exist.", _G_HW),
    _p("rapl_include_dram", "bool", False, parse_bool, "Count the RAPL DRAM domain as RAM energy.", _G_HW),
    _p("rapl_prefer_psys", "bool", False, parse_bool, "Use the RAPL psys (platform) domain for the CPU.",
       _G_HW),
    _p("electricitymaps_api_token", "str", None, _stripped_str,
       "Electricity Maps token for live carbon intensity.", _G_INTENSITY,
       aliases=("co2_signal_api_token",), secret=True, example="your-token"),
    _p("force_carbon_intensity_g_co2e_kwh", "float", None, parse_float,
       "A fixed carbon intensity (gCO2eq/kWh) that overrides every lookup.", _G_INTENSITY,
       validate=_at_least(0), example="56"),
    # --- carbon over time (issue 14): live providers, grid zone; keep this block together ---------------
    _p("carbon_intensity_provider", "str", "auto",
       _choice("auto", "static", "electricitymaps", "uk-grid", "energidataservice", "watttime"),
       "Where live grid intensity comes from: auto (Electricity Maps with a token, else uk-grid in Great Britain, "
       "energidataservice in Denmark, else static), static, electricitymaps, uk-grid, energidataservice, watttime.",
       _G_INTENSITY),
    _p("grid_zone", "str", None, _stripped_str,
       "Grid zone of the provider (DE, GB, GB-13, DK-DK1, US-CAL-CISO, CAISO_NORTH); skips geolocation.",
       _G_INTENSITY, example="DE"),
    _p("electricitymaps_api_url", "str", "https://api.electricitymaps.com/v3", parse_url,
       "Base URL of the Electricity Maps API v3 (a mirror or proxy).", _G_INTENSITY),
    _p("uk_grid_api_url", "str", "https://api.carbonintensity.org.uk", parse_url,
       "Base URL of Great Britain's Carbon Intensity API.", _G_INTENSITY),
    _p("energidataservice_api_url", "str", "https://api.energidataservice.dk", parse_url,
       "Base URL of Energi Data Service (Denmark).", _G_INTENSITY),
    _p("watttime_api_url", "str", "https://api.watttime.org", parse_url, "Base URL of the WattTime API.",
       _G_INTENSITY),
    _p("watttime_username", "str", None, _stripped_str, "WattTime account name (marginal MOER figures).",
       _G_INTENSITY, example="your-name"),
    _p("watttime_password", "str", None, _stripped_str, "WattTime password.", _G_INTENSITY, secret=True,
       example="your-password"),
    # --- end of the carbon-over-time block ------------------------------------------------------------
    _p("country_iso_code", "str", None, _letters(3), "ISO 3166-1 alpha-3 code of the country, e.g. FRA.",
       _G_LOCATION, scope="offline", example="FRA"),
    _p("region", "str", None, _lower_str, "Region within the country (US state, Canadian province...).",
       _G_LOCATION, scope="offline", example="quebec"),
    _p("cloud_provider", "str", None, _lower_str, "Cloud provider (gcp, aws, azure).", _G_LOCATION,
       scope="offline", example="gcp"),
    _p("cloud_region", "str", None, _stripped_str, "Cloud region, e.g. europe-west1.", _G_LOCATION,
       scope="offline", example="europe-west1"),
    _p("country_2letter_iso_code", "str", None, _letters(2),
       "ISO alpha-2 code, for Electricity Maps zones.", _G_LOCATION, scope="offline", example="FR"),
    _p("offline", "bool", False, parse_bool, "track_emissions only: use the offline tracker.", _G_LOCATION,
       scope="decorator"),
    _p("log_level", "log_level", 20, parse_log_level_value,
       "Verbosity of the codecarbon logger: debug, info, warning, error, critical.", _G_LOG),
    _p("logger_preamble", "str", "", parse_str, "Text put before every codecarbon log message.", _G_LOG),
    # --- jobs helper (issue 9): job identity and device ownership; keep this block together -------------
    _p("job_detection", "bool", True, parse_bool,
       "Read the launcher's variables (torchrun, SLURM, Open MPI, MPICH) to know this process's job.", _G_JOB),
    _p("device_ownership", "str", "host", _choice("host", "off"),
       "host: in a job, each device of a host is measured by one process only; off: every process measures "
       "all it sees.", _G_JOB),
    _p("job_gather_timeout_secs", "float", 2.0, parse_float,
       "Under torch.distributed, rank 0 waits this long at stop() for the other ranks' totals; 0: no gathering.",
       _G_JOB, validate=_at_least(0)),
    *(_p(name, "str", None, _stripped_str, f"Job {name.replace('_', ' ')}, overriding the launcher's.", _G_JOB,
         example=example) for name, example in (
        ("scheduler", "pbs"), ("job_id", "12345"), ("job_name", "train"), ("job_user", "alice"),
        ("job_account", "project42"), ("job_partition", "gpu"))),
    *(_p(name, "int", None, parse_int, f"This process's {name.replace('_', ' ')}, overriding the launcher's.",
         _G_JOB, validate=_at_least(minimum), example=example) for name, minimum, example in (
        ("rank", 0, "0"), ("local_rank", 0, "0"), ("world_size", 1, "4"), ("local_world_size", 1, "4"))),
    # --- end of the jobs helper's block ---------------------------------------------------------------
    _p("save_to_file", "bool", True, parse_bool, "Deprecated: output_methods = csv.", _G_DEPRECATED,
       deprecated=True, legacy=legacy_output_flag),
    _p("save_to_api", "bool", False, parse_bool, "Deprecated: output_methods = api.", _G_DEPRECATED,
       deprecated=True, legacy=legacy_output_flag),
    _p("save_to_logger", "bool", False, parse_bool, "Deprecated: output_methods = logger.", _G_DEPRECATED,
       deprecated=True, legacy=legacy_output_flag),
    _p("save_to_prometheus", "bool", False, parse_bool, "Deprecated: output_methods = prometheus.",
       _G_DEPRECATED, deprecated=True, legacy=legacy_output_flag),
    _p("save_to_logfire", "bool", False, parse_bool, "Deprecated: output_methods = logfire.", _G_DEPRECATED,
       deprecated=True, legacy=legacy_output_flag),
)

PARAMETERS: dict[str, Parameter] = {parameter.name: parameter for parameter in _TABLE}
ALIASES: dict[str, str] = {alias: p.name for p in _TABLE for alias in p.aliases}
TABLE: tuple[Parameter, ...] = _TABLE
