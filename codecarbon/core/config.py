"""Every setting of the tracker in one table, and the layers that fill it.

Layers, later wins per key: defaults < ``~/.codecarbon.config`` < ``./.codecarbon.config`` < ``CODECARBON_<NAME>``
environment variables < explicit arguments. Every layer goes through the same parsing and validation, so a bad
value fails at construction with a message naming the parameter, where the value came from and what was expected.
Nothing else in the package reads config files or the environment for settings.
"""

from __future__ import annotations

import configparser
import json
import math
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecarbon.external.logger import log_once, logger, parse_log_level
from codecarbon.output_methods.base_output import OutputMethod
from codecarbon.support.errors import ConfigError

CONFIG_FILE_NAME = ".codecarbon.config"
SECTION = "codecarbon"
ENV_PREFIX = "CODECARBON_"
DEFAULT_EXPERIMENT_ID = "5b0fa12a-3dd7-45bb-9766-cc326314d9f1"
DEFAULT_API_ENDPOINT = "https://api.codecarbon.io"

#: Keys the CLI writes that the tracker does not use: accepted silently.
CLI_KEYS = frozenset({"organization_id", "project_id", "auth_server_well_known", "auth_client_id"})
#: Keys older releases read and we no longer use: accepted with a one-time "ignored" warning.
LEGACY_KEYS = frozenset({"misfire_grace_time"})

_ARGUMENT = "argument"
_DEFAULT = "default"


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


_GPU_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")


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
        if _GPU_ID.match(text) and not text.lstrip("-").isdigit():
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


def parse_output_methods(value: Any) -> list[OutputMethod] | None:
    """A comma-separated string or a list of OutputMethod members / their names, in order, without repeats."""
    if value is None:
        return None
    if isinstance(value, (str, OutputMethod)):
        if isinstance(value, OutputMethod):
            items: list[Any] = [value]
        elif not value.strip():
            return None
        else:
            items = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        raise _Invalid(f"a list of output methods or a comma-separated string, got {value!r}")
    methods: list[OutputMethod] = []
    for item in items:
        if not isinstance(item, (str, OutputMethod)):
            raise _Invalid(f"output method names, got {item!r}")
        try:
            method = OutputMethod.parse(item)
        except ValueError as error:
            raise _Invalid(str(error)) from error
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


def _letters(count: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value)
        code = text.strip() if text is not None else ""
        if len(code) != count or not code.isascii() or not code.isalpha():
            raise _Invalid(f"a {count}-letter ISO country code, got {value!r}")
        return code.upper()

    return parse


def _lower_str(value: Any) -> str:
    return parse_str(value).strip().lower()


def _stripped_str(value: Any) -> str:
    return parse_str(value).strip()


def _url(value: Any) -> str:
    text = parse_str(value).strip()
    if not re.match(r"^https?://[^\s/]+", text):
        raise _Invalid(f"an http:// or https:// URL, got {value!r}")
    return text.rstrip("/")


def _non_empty(value: Any) -> str:
    text = parse_str(value).strip()
    if not text:
        raise _Invalid("a non-empty string")
    return text


# ------------------------------------------------------------------------------------------------ validators
def _above(limit: float) -> Callable[[Any], str | None]:
    return lambda v: None if v is None or v > limit else f"a number > {limit:g}, got {v}"


def _at_least(limit: float) -> Callable[[Any], str | None]:
    return lambda v: None if v is None or v >= limit else f"a number ≥ {limit:g}, got {v}"


def _interval(value: int) -> str | None:
    return None if value == -1 or value >= 1 else f"an integer ≥ 1, or -1 (only on flush/stop), got {value}"


# ----------------------------------------------------------------------------------------------- the table
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
    deprecated: bool = False
    example: str | None = None  # a sample value for the example config when the default is None

    def convert(self, value: Any) -> Any:
        """Parse then validate; raises _Invalid with what was expected."""
        parsed = self.parse(value)
        if self.validate is not None and parsed is not None:
            problem = self.validate(parsed)
            if problem:
                raise _Invalid(problem)
        return parsed


def _p(name: str, kind: str, default: Any, parse: Callable[[Any], Any], doc: str, group: str,
       **extra: Any) -> Parameter:
    return Parameter(name=name, kind=kind, default=default, parse=parse, doc=doc, group=group, **extra)


_G_RUN, _G_MEASURE, _G_OUT, _G_API, _G_PROM = "Run", "Measurement", "Outputs", "CodeCarbon API", "Prometheus"
_G_HW, _G_INTENSITY, _G_LOCATION, _G_LOG, _G_DEPRECATED = ("Hardware", "Carbon intensity",
                                                           "Location (offline tracker)", "Logging",
                                                           "Deprecated output flags (use output_methods)")
_G_JOB = "Jobs of many processes"  # jobs helper (issue 9)

_TABLE: tuple[Parameter, ...] = (
    _p("project_name", "str", "codecarbon", parse_str, "Name of the project, written in every row.", _G_RUN),
    _p("experiment_id", "str", DEFAULT_EXPERIMENT_ID, _non_empty,
       "Experiment the runs belong to (CSV column, API runs); `codecarbon init` creates one.", _G_RUN),
    _p("experiment_name", "str", "base", parse_str,
       "Experiment name: names the task CSV, emissions_<experiment_name>_<run_id>.csv.", _G_RUN),
    _p("allow_multiple_runs", "bool", True, parse_bool,
       "Allow several trackers at once on this machine; false refuses a second one.", _G_RUN),
    _p("measure_power_secs", "float", 15.0, parse_float, "Seconds between two measurements (any value > 0).",
       _G_MEASURE, validate=_above(0)),
    _p("api_call_interval", "int", 8, parse_int,
       "Send live data every N measurements; -1: only at flush() and stop().", _G_MEASURE, validate=_interval),
    _p("tracking_mode", "str", "machine", _choice("machine", "process"),
       "machine: the whole machine; process: this process and its children.", _G_MEASURE),
    _p("pue", "float", 1.0, parse_float, "Power usage effectiveness of the data centre; multiplies energy.",
       _G_MEASURE, validate=_above(0)),
    _p("wue", "float", 0.0, parse_float, "Water usage effectiveness (L/kWh); water = energy x wue.",
       _G_MEASURE, validate=_at_least(0)),
    _p("output_methods", "output_methods", None, parse_output_methods,
       "Where rows go: comma-separated csv, api, logger, prometheus, logfire, boamps (default: csv).", _G_OUT,
       example="csv,logger"),
    _p("output_dir", "str", ".", _non_empty, "Folder of the CSV file and reports (must exist).", _G_OUT),
    _p("output_file", "str", "emissions.csv", _non_empty, "CSV file name, inside output_dir.", _G_OUT),
    _p("on_csv_write", "str", "append", _choice("append", "update"),
       "append: one row per flush/stop; update: replace the run's row.", _G_OUT),
    _p("emissions_endpoint", "str", None, _url, "URL that receives each row as JSON (HTTP output).", _G_OUT,
       example="https://example.org/emissions"),
    _p("delivery_timeout_secs", "float", 2.0, parse_float,
       "The longest stop() waits for network outputs to deliver.", _G_OUT, validate=_at_least(0)),
    _p("metadata", "metadata", None, parse_metadata,
       "Extra facts for the BoAmps report: a dict, or the path of a JSON file.", _G_OUT,
       example="boamps_metadata.json"),
    _p("output_handlers", "object", [], parse_output_handlers,
       "Your own BaseOutput instances (constructor only).", _G_OUT, from_files=False),
    _p("logging_logger", "object", None, parse_object,
       "LoggerOutput used by the logger output (constructor only).", _G_LOG, from_files=False),
    _p("api_endpoint", "str", DEFAULT_API_ENDPOINT, _url, "Base URL of the CodeCarbon API.", _G_API),
    _p("api_key", "str", None, _stripped_str, "API token, sent as the x-api-token header.", _G_API,
       example="your-api-key"),
    _p("prometheus_url", "str", "localhost:9091", _non_empty, "Address of the Prometheus Pushgateway.",
       _G_PROM),
    _p("prometheus_delete_on_exit", "bool", False, parse_bool,
       "Delete the job's metrics from the gateway at stop (false keeps the final values).", _G_PROM),
    _p("gpu_ids", "gpu_ids", None, parse_gpu_ids,
       "GPUs to track: indices or UUIDs (default: CUDA_VISIBLE_DEVICES, else all).", _G_HW, example="0,1"),
    _p("force_cpu_power", "float", None, parse_float, "CPU power (W) to use instead of measuring.", _G_HW,
       validate=_above(0), example="65"),
    _p("force_ram_power", "float", None, parse_float, "RAM power (W) to use instead of estimating.", _G_HW,
       validate=_at_least(0), example="10"),
    _p("force_mode_cpu_load", "bool", False, parse_bool,
       "Estimate CPU power from its load and TDP even where energy counters exist.", _G_HW),
    _p("rapl_include_dram", "bool", False, parse_bool, "Count the RAPL DRAM domain as RAM energy.", _G_HW),
    _p("rapl_prefer_psys", "bool", False, parse_bool, "Use the RAPL psys (platform) domain for the CPU.",
       _G_HW),
    _p("electricitymaps_api_token", "str", None, _stripped_str,
       "Electricity Maps token for live carbon intensity.", _G_INTENSITY,
       aliases=("co2_signal_api_token",), example="your-token"),
    _p("force_carbon_intensity_g_co2e_kwh", "float", None, parse_float,
       "A fixed carbon intensity (gCO2eq/kWh) that overrides every lookup.", _G_INTENSITY,
       validate=_at_least(0), example="56"),
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
       deprecated=True),
    _p("save_to_api", "bool", False, parse_bool, "Deprecated: output_methods = api.", _G_DEPRECATED,
       deprecated=True),
    _p("save_to_logger", "bool", False, parse_bool, "Deprecated: output_methods = logger.", _G_DEPRECATED,
       deprecated=True),
    _p("save_to_prometheus", "bool", False, parse_bool, "Deprecated: output_methods = prometheus.",
       _G_DEPRECATED, deprecated=True),
    _p("save_to_logfire", "bool", False, parse_bool, "Deprecated: output_methods = logfire.", _G_DEPRECATED,
       deprecated=True),
)

PARAMETERS: dict[str, Parameter] = {parameter.name: parameter for parameter in _TABLE}
ALIASES: dict[str, str] = {alias: p.name for p in _TABLE for alias in p.aliases}


# -------------------------------------------------------------------------------------------------- settings
class Settings:
    """Resolved, parsed settings: read-only, by attribute or item, with where each value came from."""

    __slots__ = ("_values", "_sources")

    def __init__(self, values: dict[str, Any], sources: dict[str, str]) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_sources", sources)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in Settings.__slots__:
            raise AttributeError(name)  # keeps copy/pickle probing from recursing
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no setting named {name!r}") from None

    def __getitem__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"no setting named {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Settings are read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Settings are read-only")

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __reduce__(self) -> tuple:
        return (Settings, (self._values, self._sources))

    def __copy__(self) -> Settings:
        return self  # read-only: a copy would be indistinguishable

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def source(self, name: str) -> str:
        """"default", the config file's path, the variable's name (CODECARBON_PUE) or "argument"."""
        if name not in self._values:
            raise KeyError(f"no setting named {name!r}")
        return self._sources.get(name, _DEFAULT)

    def is_set(self, name: str) -> bool:
        """True when some layer above the defaults gave a value."""
        return self.source(name) != _DEFAULT

    def as_dict(self) -> dict[str, Any]:
        """A shallow copy of every value."""
        return dict(self._values)

    def __repr__(self) -> str:
        shown = {name: self._values[name] for name in self._values if name in self._sources}
        if shown.get("api_key"):
            shown["api_key"] = mask_secret(shown["api_key"])
        if shown.get("electricitymaps_api_token"):
            shown["electricitymaps_api_token"] = mask_secret(shown["electricitymaps_api_token"])
        return f"Settings({shown!r})"


def mask_secret(value: Any) -> str:
    """Enough of a secret to recognise it, not to use it."""
    text = str(value)
    return "****" if len(text) <= 8 else f"{text[:2]}****{text[-2:]}"


# ---------------------------------------------------------------------------------------------------- layers
def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def read_config_file(path: Path) -> dict[str, str] | None:
    """The ``[codecarbon]`` section of an INI file as lower-case keys; None when the file does not exist.

    Raw semantics: ``%`` is literal. A file without that section gives {}; a malformed one raises ConfigError.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} could not be read: {error}") from error
    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=("#", ";"))
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as error:
        raise ConfigError(f"config file {path} is malformed: it must start with a [{SECTION}] section header "
                          f"(line {error.lineno}: {error.line.strip()!r})") from error
    except configparser.Error as error:
        raise ConfigError(f"config file {path} is malformed: {error}") from error
    values: dict[str, str] = {}
    for section in parser.sections():
        if section.strip().lower() == SECTION:
            for key, value in parser.items(section):
                values[key.strip().lower()] = _unquote(value or "")
    return values


def _environment_layer(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """key → (raw value, variable name) for every CODECARBON_* variable."""
    found: dict[str, tuple[str, str]] = {}
    for variable, value in environ.items():
        if len(variable) > len(ENV_PREFIX) and variable[:len(ENV_PREFIX)].upper() == ENV_PREFIX:
            found[variable[len(ENV_PREFIX):].lower()] = (value, variable)
    return found


def _describe(layer: str) -> str:
    if layer == _ARGUMENT:
        return "the argument"
    if layer.startswith(ENV_PREFIX):
        return f"environment variable {layer}"
    return f"config file {layer}"


def _error(name: str, layer: str, expected: str) -> ConfigError:
    return ConfigError(f"{name} (from {_describe(layer)}): expected {expected}")


def _apply(values: dict[str, Any], sources: dict[str, str], key: str, raw: Any, layer: str,
           offline: bool, layer_keys: set[str]) -> None:
    """Parse one external (file/env) entry into values, or warn about it once."""
    name = ALIASES.get(key, key)
    parameter = PARAMETERS.get(name)
    if parameter is None:
        if key in CLI_KEYS:
            return
        if key in LEGACY_KEYS:
            log_once(f"config-legacy:{key}", 30, "%s in %s is no longer used and is ignored", key,
                     _describe(layer))
            return
        log_once(f"config-unknown:{key}:{layer}", 30, "unknown setting %r in %s is ignored", key, _describe(layer))
        return
    if name != key:
        if name in layer_keys:
            return  # the current name in the same layer wins over its deprecated alias
        warnings.warn(f"{key} (in {_describe(layer)}) is deprecated; use {name}", DeprecationWarning,
                      stacklevel=4)
    if not parameter.from_files:
        raise _error(name, layer, "an object passed to the constructor; it cannot be set in a file or variable")
    if parameter.scope == "offline" and not offline:
        return  # kept for the offline tracker; the online one locates itself
    text = raw.strip() if isinstance(raw, str) else raw
    if text == "" and parameter.default is None:
        values[name], sources[name] = None, layer
        return
    try:
        values[name] = parameter.convert(text)
    except _Invalid as problem:
        raise _error(name, layer, str(problem)) from None
    sources[name] = layer


def load_settings(arguments: Mapping[str, Any], *, offline: bool = False, home: Path | None = None,
                  cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every parameter from defaults, the two config files, CODECARBON_* variables and ``arguments``.

    ``arguments`` holds only what the caller passed; an explicit None for a parameter whose default is not None
    means "not given". With ``offline`` False the offline-only keys (country, region, cloud) are not read from
    files or variables. Raises ConfigError for a bad value, a malformed file or an unknown argument.
    """
    values = {p.name: (list(p.default) if isinstance(p.default, list) else p.default) for p in _TABLE}
    sources: dict[str, str] = {}

    home_dir = Path(home) if home is not None else Path(os.path.expanduser("~"))
    work_dir = Path(cwd) if cwd is not None else Path(os.getcwd())
    files = [home_dir / CONFIG_FILE_NAME]
    local = work_dir / CONFIG_FILE_NAME
    if local != files[0]:
        files.append(local)
    for path in files:
        entries = read_config_file(path)
        if entries:
            keys = set(entries)
            for key, raw in entries.items():
                _apply(values, sources, key, raw, str(path), offline, keys)

    env_entries = _environment_layer(os.environ if environ is None else environ)
    env_keys = set(env_entries)
    for key, (raw, variable) in env_entries.items():
        _apply(values, sources, key, raw, variable, offline, env_keys)

    for key, value in arguments.items():
        name = ALIASES.get(key, key)
        parameter = PARAMETERS.get(name)
        if parameter is None:
            raise ConfigError(f"{key} (from the argument): unknown parameter")
        if name != key:
            if name in arguments and arguments[name] is not None:
                continue
            if value is None:
                continue
            warnings.warn(f"{key} is deprecated; use {name}", DeprecationWarning, stacklevel=3)
        if value is None and parameter.default is not None:
            continue
        try:
            values[name] = parameter.convert(value) if value is not None else None
        except _Invalid as problem:
            raise _error(name, _ARGUMENT, str(problem)) from None
        sources[name] = _ARGUMENT

    if sources and logger.isEnabledFor(10):
        for name, layer in sources.items():
            shown = mask_secret(values[name]) if name in ("api_key", "electricitymaps_api_token") else values[name]
            if PARAMETERS[name].from_files:
                logger.debug("setting %s = %r from %s", name, shown, _describe(layer))
    return Settings(values, sources)


# ----------------------------------------------------------------------------------------- example config
def _example_value(parameter: Parameter) -> str:
    if parameter.default is None:
        return parameter.example or ""
    if isinstance(parameter.default, bool):
        return "true" if parameter.default else "false"
    if parameter.name == "log_level":
        return "info"
    if isinstance(parameter.default, float) and parameter.default.is_integer():
        return str(int(parameter.default))
    return str(parameter.default)


def example_config_text() -> str:
    """The text of ``.codecarbon.config.example``: every key a file may set, grouped, commented out."""
    lines = [
        "# CodeCarbon configuration. Copy to ~/.codecarbon.config (every project) or ./.codecarbon.config",
        "# (this folder), uncomment what you need. Later wins: defaults < ~/.codecarbon.config <",
        "# ./.codecarbon.config < CODECARBON_<NAME> environment variables < arguments in your code.",
        "# Keys are case-insensitive; booleans accept true/false, yes/no, on/off, 1/0; % is literal.",
        "# Lines show the default, or an example value where the default is empty.",
        "",
        f"[{SECTION}]",
    ]
    groups: dict[str, list[Parameter]] = {}
    for parameter in _TABLE:
        groups.setdefault(parameter.group, []).append(parameter)
    for group, members in groups.items():
        lines += ["", f"# --- {group} ---"]
        for parameter in members:
            note = parameter.doc
            if parameter.default is None:
                note += " Default: none."
            if parameter.aliases:
                note += f" Old name: {', '.join(parameter.aliases)} (deprecated)."
            if not parameter.from_files:
                lines.append(f"# {parameter.name}: {note} Cannot be set here.")
                continue
            lines.append(f"# {note}")
            lines.append(f"# {parameter.name} = {_example_value(parameter)}")
    lines += ["", "# --- Written by `codecarbon config` / `codecarbon init`, not read by the tracker ---"]
    lines += [f"# {key} =" for key in sorted(CLI_KEYS)]
    return "\n".join(lines) + "\n"
