"""Property-based tests over config file text, environment values and arguments.

Loading gives Settings or raises ConfigError, never another exception; and a tracker built from any accepted
configuration starts, stops without raising and writes its row.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codecarbon import OfflineEmissionsTracker
from codecarbon.core.config import Settings, check_output_location, load_settings
from codecarbon.core.parameters import ALIASES, LEGACY_KEYS, PARAMETERS
from codecarbon.support.errors import ConfigError

SAMPLES = {
    "bool": ["true", "false", "yes", "No", "1", "0", "on", "OFF", "maybe", "2", "", "local-overwrite"],
    "float": ["0.1", "15", "-1", "0", "nan", "inf", "1e3", "abc", "", "1,5", "1e400", "0x10"],
    "int": ["8", "-1", "0", "8.0", "1.5", "x", "", "99999999999999999999", "-2"],
    "str": ["codecarbon", "", "machine", "process", "append", "update", "FRA", "fr", "gcp", "100%", "é"],
    "gpu_ids": ["0, 1", "[0, 1", "GPU-abc", "-1", "a b", "", "0,,1", "MIG-1f2e"],
    "output_methods": ["csv", "csv,api", "kafka", "", "CSV, logger", ",", "boamps,csv"],
    "log_level": ["debug", "INFO", "40", "chatty", "", "-5", "WARN"],
    "metadata": ["missing.json", "", "~/x.json", "/"],
    "object": ["x", ""],
}
URL_SAMPLES = ["localhost:7777", "http://127.0.0.1:9/x", "ftp://x", "not a url", "", "http://u:p@h:1", "[::1]:80",
               "https://", "h:99999"]
KEYS = sorted(set(PARAMETERS) | set(ALIASES) | set(LEGACY_KEYS) | {"organization_id", "unknown_key"})


def samples_for(key: str) -> list[str]:
    name = ALIASES.get(key, key)
    if name in ("api_endpoint", "emissions_endpoint", "prometheus_url"):
        return URL_SAMPLES
    parameter = PARAMETERS.get(name)
    return SAMPLES.get(parameter.kind if parameter else "str", SAMPLES["str"])


@st.composite
def entry_values(draw, key: str) -> str:
    return draw(st.one_of(st.sampled_from(samples_for(key)), st.text(max_size=20)))


@st.composite
def config_entries(draw, max_size: int = 6) -> dict[str, str]:
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=max_size, unique=True))
    return {key: draw(entry_values(key)) for key in keys}


def ini(entries: dict[str, str], header: str = "[codecarbon]") -> str:
    return header + "\n" + "".join(f"{key} = {value}\n" for key, value in entries.items())


file_texts = st.one_of(
    config_entries().map(ini),
    st.tuples(config_entries(), st.sampled_from(["[codecarbon]", "[CodeCarbon]", "", "[other]", "[codecarbon"]))
    .map(lambda pair: ini(*pair)),
    st.text(max_size=200),
)
argument_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.floats(allow_nan=True),
                            st.text(max_size=10), st.lists(st.integers(-1, 3), max_size=3),
                            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.just(object()))


def load_anything(home: Path, cwd: Path, home_text: str | bytes, local_text: str | bytes, environ: dict,
                  arguments: dict, offline: bool) -> Settings | ConfigError:
    for folder, text in ((home, home_text), (cwd, local_text)):
        path = folder / ".codecarbon.config"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
    level = logging.getLogger("codecarbon").level
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            settings_ = load_settings(arguments, offline=offline, home=home, cwd=cwd, environ=environ)
            return check_output_location(settings_, cwd=cwd)
    except ConfigError as error:
        return error
    finally:
        logging.getLogger("codecarbon").setLevel(level)


EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "40"))  # raise it locally for a deeper search
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


@PROPERTY
@given(home_text=st.one_of(file_texts, st.binary(max_size=60)), local_text=file_texts,
       environ=config_entries().map(lambda e: {f"CODECARBON_{k.upper()}": v.replace("\x00", "") for k, v in e.items()}),
       offline=st.booleans())
def test_files_and_environment_give_settings_or_a_config_error(home_text, local_text, environ, offline) -> None:
    with tempfile.TemporaryDirectory() as root:
        home, cwd = Path(root, "home"), Path(root, "work")
        home.mkdir()
        cwd.mkdir()
        result = load_anything(home, cwd, home_text, local_text, environ, {}, offline)
    assert isinstance(result, (Settings, ConfigError))
    if isinstance(result, ConfigError):
        assert isinstance(result, ValueError) and str(result)


@PROPERTY
@given(arguments=st.dictionaries(st.sampled_from(sorted(set(PARAMETERS) | set(ALIASES))), argument_values,
                                 max_size=5),
       local_text=config_entries().map(ini))
def test_arguments_of_any_type_give_settings_or_a_config_error(arguments, local_text) -> None:
    with tempfile.TemporaryDirectory() as root:
        home, cwd = Path(root, "home"), Path(root, "work")
        home.mkdir()
        cwd.mkdir()
        result = load_anything(home, cwd, "", local_text, {}, arguments, True)
    assert isinstance(result, (Settings, ConfigError))


# ------------------------------------------------------------------------------------- a tracker runs its row
#: Keys a tracker may take from a generated config without reaching the network or needing objects.
SAFE_KEYS = ["project_name", "experiment_id", "experiment_name", "api_call_interval", "tracking_mode", "pue", "wue",
             "on_csv_write", "output_file", "gpu_ids", "force_cpu_power", "force_ram_power", "force_mode_cpu_load",
             "rapl_include_dram", "rapl_prefer_psys", "log_level", "logger_preamble", "save_to_file",
             "force_carbon_intensity_g_co2e_kwh", "region", "allow_multiple_runs", "misfire_grace_time",
             "co2_signal_api_token", "output_methods", "emissions_endpoint", "delivery_timeout_secs",
             "measure_power_secs"]
SAFE_VALUES = {  # mostly accepted forms, so most examples get a tracker; the odd bad one is drawn below
    "project_name": ["demo", "", "a b", "100%"],
    "experiment_id": ["235b1da5-aaaa-aaaa-aaaa-893681599d2c", "x"],
    "experiment_name": ["base", "exp 1", ""],
    "api_call_interval": ["-1", "1", "2", "8.0"],
    "tracking_mode": ["machine", "Process"],
    "pue": ["1", "1.5", "2.2"],
    "wue": ["0", "1.8"],
    "on_csv_write": ["append", "update", "UPDATE"],
    "gpu_ids": ["0", "0, 1", "", "GPU-abc"],
    "force_cpu_power": ["10", "65.5"],
    "force_ram_power": ["1", "10"],
    "force_mode_cpu_load": ["true", "no"],
    "rapl_include_dram": ["1", "off"],
    "rapl_prefer_psys": ["yes", "false"],
    "log_level": ["error", "WARNING", "40"],
    "logger_preamble": ["", "node-1", "%s"],
    "force_carbon_intensity_g_co2e_kwh": ["0", "56", "475.5"],
    "allow_multiple_runs": ["true", "yes"],  # false takes the machine-wide lock other processes may hold
    "misfire_grace_time": ["15"],
    "co2_signal_api_token": ["tok"],
    "output_methods": ["csv", "csv,boamps", "CSV", "boamps,csv"],
    "emissions_endpoint": ["127.0.0.1:9", "http://127.0.0.1:9/rows"],  # port 9 (discard): refused at once
    "output_file": ["emissions.csv", "rows.csv", "sub.csv"],
    "measure_power_secs": ["0.05", "0.1", "0.2"],
    "delivery_timeout_secs": ["0", "0.1"],
    "region": ["quebec", "", "nowhere"],
    "save_to_file": ["true", "yes", "1", "local-overwrite"],
}


@st.composite
def safe_entries(draw) -> dict[str, str]:
    keys = draw(st.lists(st.sampled_from(SAFE_KEYS), max_size=6, unique=True))
    entries = {}
    for key in keys:
        odd = key not in ("emissions_endpoint", "allow_multiple_runs") and draw(st.integers(0, 19)) == 0
        entries[key] = draw(entry_values(key) if odd else st.sampled_from(SAFE_VALUES[key]))
    return entries


TRACKER_EXAMPLES = int(os.environ.get("HYPOTHESIS_TRACKER_EXAMPLES", "25"))


@settings(max_examples=TRACKER_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(file_entries=safe_entries(), env_entries=safe_entries())
def test_a_tracker_from_any_accepted_config_runs_and_writes_its_row(file_entries, env_entries, cwd: Path,
                                                                    home: Path) -> None:
    (cwd / ".codecarbon.config").write_text(ini(file_entries), encoding="utf-8")
    environ = {f"CODECARBON_{k.upper()}": v.replace("\x00", "") for k, v in env_entries.items()}
    level = logging.getLogger("codecarbon").level
    saved = dict(os.environ)
    os.environ.update(environ)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.05,
                                                  force_cpu_power=20.0, delivery_timeout_secs=0.1)
            except ConfigError:
                assume(False)  # not an accepted config
            tracker.start()
            tracker.flush()
            kg = tracker.stop()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        logging.getLogger("codecarbon").setLevel(level)
    assert isinstance(kg, float) and kg >= 0
    csv_path = Path(tracker._output_dir) / tracker._output_file
    if "csv" in (tracker._output_methods or ["csv"]) and tracker._save_to_file is not False:
        with open(csv_path, newline="", encoding="utf-8") as handle:
            mine = [row for row in csv.DictReader(handle) if row["run_id"] == str(tracker.run_id)]
        assert len(mine) == (1 if tracker._on_csv_write == "update" else 2)  # the flush's row and the stop's
        assert float(mine[-1]["duration"]) > 0


def test_a_nul_byte_in_a_path_value_is_a_config_error(home: Path, cwd: Path) -> None:
    with pytest.raises(ConfigError, match="metadata"):
        load_settings({"metadata": "a\x00b.json"}, environ={})
