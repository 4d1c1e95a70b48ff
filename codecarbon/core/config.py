"""The layers that fill the parameter table (``core/parameters.py``), and the checks a tracker needs at construction.

Layers, later wins per key: defaults < ``~/.codecarbon.config`` < ``./.codecarbon.config`` < ``CODECARBON_<NAME>``
environment variables < explicit arguments. Every layer goes through the same parsing and validation. The value
that wins must be valid (else ConfigError at construction, naming the parameter, where the value came from and
what was expected); a bad value that a higher layer overrides is only warned about, since it is not used.
Deprecated names and values are reported here, once each: a WARNING on the ``codecarbon`` logger naming the
replacement, plus a DeprecationWarning for tooling. Nothing else in the package reads config files or the
environment for settings.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from codecarbon.core.parameters import (
    ALIASES,
    CLI_KEYS,
    DEFAULT_API_ENDPOINT,
    DEFAULT_EXPERIMENT_ID,
    DEPRECATED_FLAGS,
    LEGACY_KEYS,
    MIN_MEASURE_POWER_SECS,
    OUTPUT_METHODS,
    PARAMETERS,
    TABLE,
    Parameter,
    _Invalid,
    did_you_mean,
    parse_bool,
    redact_userinfo,
)
from codecarbon.external.logger import log_once, logger, set_logger_format, set_logger_level
from codecarbon.support.errors import ConfigError, OutputPathError
from codecarbon.support.statedir import ENV_VARIABLE as STATE_DIR_VARIABLE

__all__ = [
    "ALIASES", "CLI_KEYS", "CONFIG_FILE_NAME", "DEFAULT_API_ENDPOINT", "DEFAULT_EXPERIMENT_ID", "ENV_PREFIX",
    "LEGACY_KEYS", "OUTPUT_METHODS", "PARAMETERS", "SECTION", "ConfigError", "OutputPathError", "Parameter",
    "Settings", "check_output_location", "example_config_text", "load_settings", "mask_secret", "parse_bool",
    "read_config_file", "sampling_period", "tracker_settings",
]

CONFIG_FILE_NAME = ".codecarbon.config"
SECTION = "codecarbon"
ENV_PREFIX = "CODECARBON_"

_ARGUMENT = "argument"
_DEFAULT = "default"
_URL_PARAMETERS = frozenset({"api_endpoint", "emissions_endpoint", "prometheus_url", "otel_endpoint"})


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

    def replaced(self, **values: Any) -> Settings:
        """A copy with some values replaced (their sources kept): how construction-time checks refine values."""
        unknown = set(values) - set(self._values)
        if unknown:
            raise KeyError(f"no setting named {sorted(unknown)[0]!r}")
        return Settings({**self._values, **values}, dict(self._sources))

    def __repr__(self) -> str:
        shown = {name: shown_value(name, self._values[name]) for name in self._values if name in self._sources}
        return f"Settings({shown!r})"


def mask_secret(value: Any) -> str:
    """Enough of a secret to recognise it, not to use it."""
    text = str(value)
    return "****" if len(text) <= 8 else f"{text[:2]}****{text[-2:]}"


def shown_value(name: str, value: Any) -> Any:
    """A value as it may appear in a message: secrets masked, passwords in URLs removed."""
    parameter = PARAMETERS.get(name)
    if value is None:
        return None
    if parameter is not None and parameter.secret:
        return mask_secret(value)
    if name in _URL_PARAMETERS and isinstance(value, str):
        from codecarbon.support.http import redact_secrets  # query tokens (?token=...) too

        return redact_secrets(redact_userinfo(value))
    return value


# ---------------------------------------------------------------------------------------------------- layers
def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def read_config_file(path: Path, sections: list[str] | None = None) -> dict[str, str] | None:
    """The ``[codecarbon]`` section of an INI file as lower-case keys; None when the file does not exist.

    Raw semantics: ``%`` is literal. A file without that section gives {}; a malformed one raises ConfigError.
    ``sections``, when given, receives the names of every section found (a misspelt header is then told).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} could not be read: {error}") from error
    import configparser  # only when a config file exists (most runs have none)

    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=("#", ";"))
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as error:
        raise ConfigError(f"config file {path} is malformed: it must start with a [{SECTION}] section header "
                          f"(line {error.lineno}: {error.line.strip()[:80]!r})") from error
    except configparser.Error as error:
        raise ConfigError(f"config file {path} is malformed: {str(error)[:300]}") from error
    values: dict[str, str] = {}
    if sections is not None:
        sections.extend(parser.sections())
    for section in parser.sections():
        if section.strip().lower() == SECTION:
            for key, value in parser.items(section):
                values[key.strip().lower()] = _unquote(value or "")
    return values


def _environment_layer(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """key → (raw value, variable name) for every CODECARBON_* variable that is a setting.

    ``CODECARBON_STATE_DIR`` is read by the state directory itself (it must be known before any settings are)."""
    found: dict[str, tuple[str, str]] = {}
    for variable, value in environ.items():
        if variable.upper() == STATE_DIR_VARIABLE:
            continue
        if len(variable) > len(ENV_PREFIX) and variable[:len(ENV_PREFIX)].upper() == ENV_PREFIX:
            found[variable[len(ENV_PREFIX):].lower()] = (value, variable)
    return found


def describe_source(layer: str) -> str:
    """Where a setting came from, for a message: "the argument", "config file PATH", "environment variable X"."""
    if layer == _ARGUMENT:
        return "the argument"
    if layer.startswith(ENV_PREFIX):
        return f"environment variable {layer}"
    return f"config file {layer}"


def _error(name: str, layer: str, expected: str) -> ConfigError:
    return ConfigError(f"{name} (from {describe_source(layer)}): expected {expected}")


class _Entry:
    """One value for one parameter from one layer, before parsing (a slotted class: no dataclass to build)."""

    __slots__ = ("key", "raw", "layer")

    def __init__(self, key: str, raw: Any, layer: str) -> None:
        self.key: Final = key  # as written: the parameter's name or a deprecated alias
        self.raw: Final = raw
        self.layer: Final = layer


class _Resolution:
    """Collects every layer's entries per parameter, then resolves them; notes what is deprecated."""

    def __init__(self, offline: bool) -> None:
        self.offline = offline
        self.entries: dict[str, list[_Entry]] = {}
        self.notes: list[str] = []  # deprecations: logged once each, and raised as DeprecationWarning
        self.unknown: list[tuple[str, str]] = []  # (once-key, warning): logged once the logger is set up

    def add_external(self, entries: Mapping[str, tuple[str, str]]) -> None:
        """A file's or the environment's entries: key → (text value, layer)."""
        for key, (raw, layer) in entries.items():
            name = ALIASES.get(key, key)
            parameter = PARAMETERS.get(name)
            if parameter is None:
                if key in LEGACY_KEYS:
                    self.notes.append(f"{key} (from {describe_source(layer)}) is deprecated and ignored: "
                                      f"{LEGACY_KEYS[key]}")
                elif key not in CLI_KEYS:
                    prefix = ENV_PREFIX if layer.startswith(ENV_PREFIX) else ""
                    self.unknown.append((f"config-unknown:{key}:{layer}",
                                         f"unknown setting {key!r} in {describe_source(layer)} is ignored"
                                         f"{did_you_mean(key, prefix=prefix)}"))
                continue
            if name != key:
                if name in entries:
                    self.notes.append(f"{key} (from {describe_source(layer)}) is deprecated and ignored there: {name} "
                                      "in the same place wins")
                    continue
                self.notes.append(f"{key} (from {describe_source(layer)}) is deprecated; use {name}")
            if not parameter.from_files:
                raise _error(name, layer, "an object passed to the constructor; it cannot be set in a file or "
                                          "variable")
            if parameter.scope == "offline" and not self.offline:
                continue  # kept for the offline tracker; the online one locates itself
            self.entries.setdefault(name, []).append(_Entry(key, raw, layer))

    def add_arguments(self, arguments: Mapping[str, Any]) -> None:
        """What the caller passed explicitly (values of any type)."""
        for key, value in arguments.items():
            name = ALIASES.get(key, key)
            parameter = PARAMETERS.get(name)
            if parameter is None:
                raise ConfigError(f"{key} (from the argument): unknown parameter{did_you_mean(key)}")
            if value is None and (name != key or (parameter.default is not None and parameter.none_means_not_given)):
                continue  # None means "not given": the lower layers apply
            if name != key:
                if arguments.get(name) is not None:
                    self.notes.append(f"{key} (from the argument) is deprecated and ignored: {name} is also given")
                    continue
                self.notes.append(f"{key} (from the argument) is deprecated; use {name}")
            self.entries.setdefault(name, []).append(_Entry(key, value, _ARGUMENT))

    def _convert(self, parameter: Parameter, entry: _Entry) -> tuple[Any, str | None]:
        raw = entry.raw
        if entry.layer == _ARGUMENT and raw is None:
            return (None if parameter.none_means_not_given else parameter.none_argument), None
        if isinstance(raw, str) and entry.layer != _ARGUMENT:
            raw = raw.strip()
            if raw == "" and parameter.default is None:
                return None, None
        try:
            return parameter.convert_noted(raw)
        except _Invalid as problem:
            raise _error(parameter.name, entry.layer, str(problem)) from None

    def resolve(self) -> Settings:
        values = {p.name: (list(p.default) if isinstance(p.default, list) else p.default) for p in TABLE}
        sources: dict[str, str] = {}
        for name, entries in self.entries.items():
            parameter = PARAMETERS[name]
            winner = entries[-1]
            value, note = self._convert(parameter, winner)
            if note:
                self.notes.append(f"{name} (from {describe_source(winner.layer)}): {note}")
            for lower in entries[:-1]:
                try:
                    _, lower_note = self._convert(parameter, lower)
                except ConfigError as problem:
                    message = f"{problem}; not used, since {describe_source(winner.layer)} sets {name}"
                    log_once(f"config-overridden:{message}", logging.WARNING, "%s", message)
                    continue
                if lower_note:
                    self.notes.append(f"{name} (from {describe_source(lower.layer)}): {lower_note}")
            values[name], sources[name] = value, winner.layer
        self._note_output_flags(values, sources)
        return Settings(values, sources)

    def _note_output_flags(self, values: dict[str, Any], sources: dict[str, str]) -> None:
        """Each save_to_* flag given in any layer is deprecated; say what replaces it."""
        used = [(flag, entry.layer) for flag in DEPRECATED_FLAGS for entry in self.entries.get(flag, [])]
        if not used:
            return
        if values.get("output_methods") is not None:
            replacement = "ignored, because output_methods is set"
        else:
            wanted = [method for flag, method in DEPRECATED_FLAGS.items() if values.get(flag)]
            replacement = (f"use output_methods={wanted!r} (in a config file: output_methods = "
                           f"{','.join(wanted) or '(empty)'})")
        for flag, layer in used:
            self.notes.append(f"{flag} (from {describe_source(layer)}) is deprecated; {replacement}")


def _user_stacklevel() -> int:
    """The stacklevel of the first frame outside this package, so a DeprecationWarning points at user code."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "codecarbon":
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _report_deprecations(notes: list[str]) -> None:
    for note in dict.fromkeys(notes):  # in order, without repeats
        log_once(f"deprecated:{note}", logging.WARNING, "%s", note)
        warnings.warn(note, DeprecationWarning, stacklevel=_user_stacklevel())


def load_settings(arguments: Mapping[str, Any], *, offline: bool = False, home: Path | None = None,
                  cwd: Path | None = None, environ: Mapping[str, str] | None = None,
                  configure_logging: bool = False) -> Settings:
    """Resolve every parameter from defaults, the two config files, CODECARBON_* variables and ``arguments``.

    ``arguments`` holds only what the caller passed; an explicit None for a parameter whose default is not None
    means "not given" (except ``project_name``: an empty name, as in 3.x). With ``offline`` False the offline-only
    keys (country, region, cloud) are not read from files or variables. ``configure_logging`` applies
    ``log_level`` and ``logger_preamble`` before anything is logged, as a tracker does. Raises ConfigError for a
    bad value that is used, a malformed file or an unknown argument.
    """
    resolution = _Resolution(offline)
    home_dir = Path(home) if home is not None else Path(os.path.expanduser("~"))
    work_dir = Path(cwd) if cwd is not None else Path(os.getcwd())
    files = [home_dir / CONFIG_FILE_NAME]
    local = work_dir / CONFIG_FILE_NAME
    if local != files[0]:
        files.append(local)
    for path in files:
        sections: list[str] = []
        entries = read_config_file(path, sections)
        if sections and not any(name.strip().lower() == SECTION for name in sections):
            found = ", ".join(f"[{name}]" for name in sections)
            resolution.unknown.append((f"config-section:{path}", (
                f"config file {path} has no [{SECTION}] section (found {found}): its settings are ignored; "
                f"the header must be [{SECTION}]")))
        if entries:
            resolution.add_external({key: (raw, str(path)) for key, raw in entries.items()})
    resolution.add_external(_environment_layer(os.environ if environ is None else environ))
    resolution.add_arguments(arguments)
    settings = resolution.resolve()

    if configure_logging:
        set_logger_level(settings.log_level)
        set_logger_format(settings.logger_preamble or "")
    if settings._sources and logger.isEnabledFor(logging.DEBUG):
        for name, layer in settings._sources.items():
            if PARAMETERS[name].from_files:
                logger.debug("setting %s = %r from %s", name, shown_value(name, settings[name]), describe_source(layer))
    for once, message in resolution.unknown:  # after the logger is set up: the usual prefix and level
        log_once(once, logging.WARNING, "%s", message)
    _report_deprecations(resolution.notes)
    return settings


# ------------------------------------------------------------------------------------------ tracker checks
def _csv_selected(settings: Settings) -> bool:
    methods = settings.output_methods
    return "csv" in methods if methods is not None else bool(settings.save_to_file)


def check_output_location(settings: Settings, cwd: Path | None = None) -> Settings:
    """``output_dir`` resolved once (a relative one against ``cwd``) and checked, ``output_file`` checked.

    Raises OutputPathError (an OSError and a ConfigError) when the folder does not exist or is not a folder, or
    when the CSV file would land in a missing folder or on a directory.
    """
    base = Path(cwd) if cwd is not None else Path(os.getcwd())
    given = str(settings.output_dir)
    folder = Path(os.path.abspath(base / Path(given).expanduser()))
    where = describe_source(settings.source("output_dir"))
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "doesn't exist"
        raise OutputPathError(f"output_dir (from {where}): Folder '{given}' {problem}; expected an existing "
                              f"directory ({folder})")
    if _csv_selected(settings):
        name = str(settings.output_file)
        target = folder / Path(name).expanduser()
        file_where = describe_source(settings.source("output_file"))
        if target.is_dir():
            raise OutputPathError(f"output_file (from {file_where}): {target} is a directory, expected a file name")
        if not target.parent.is_dir():
            raise OutputPathError(f"output_file (from {file_where}): the folder of {target} doesn't exist")
    return settings.replaced(output_dir=str(folder)) if str(folder) != given else settings


def sampling_period(settings: Settings) -> float:
    """The period the sampler runs at: ``measure_power_secs``, never below the documented minimum."""
    return max(float(settings.measure_power_secs), MIN_MEASURE_POWER_SECS)


def _warn_sampling_floor(settings: Settings) -> None:
    given = float(settings.measure_power_secs)
    if given < MIN_MEASURE_POWER_SECS:
        log_once(f"measure-floor:{given}", logging.WARNING,
                 "measure_power_secs (from %s) = %g is below the minimum: the tracker samples every %g s",
                 describe_source(settings.source("measure_power_secs")), given, MIN_MEASURE_POWER_SECS)


def tracker_settings(arguments: Mapping[str, Any], *, offline: bool = False) -> Settings:
    """What a tracker's constructor does with its arguments, in one call: load every layer with the logger set up
    first (so every warning carries the user's level and preamble), then check where the rows will go."""
    settings = check_output_location(load_settings(arguments, offline=offline, configure_logging=True))
    _warn_sampling_floor(settings)
    return settings


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
        "# Keys are case-insensitive; booleans accept true/false, yes/no, on/off, 1/0; % is literal;",
        "# URLs without a scheme (localhost:7777) mean http://.",
        "# Lines show the default, or an example value where the default is empty.",
        "",
        f"[{SECTION}]",
    ]
    groups: dict[str, list[Parameter]] = {}
    for parameter in TABLE:
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
    lines += ["", "# --- Retired: accepted with a deprecation warning, not used ---"]
    lines += [f"# {key}: {why}." for key, why in sorted(LEGACY_KEYS.items())]
    lines += ["", "# --- Written by `codecarbon config` / `codecarbon init`, not read by the tracker ---"]
    lines += [f"# {key} =" for key in sorted(CLI_KEYS)]
    return "\n".join(lines) + "\n"
