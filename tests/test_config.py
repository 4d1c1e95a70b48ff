"""The parameter table and its layers: defaults < ~/ file < ./ file < CODECARBON_* < arguments."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from codecarbon.core.config import (
    PARAMETERS,
    ConfigError,
    Settings,
    example_config_text,
    load_settings,
)
from codecarbon.output_methods.base_output import BaseOutput, OutputMethod

REPO = Path(__file__).resolve().parents[1]


def write_config(folder: Path, body: str) -> Path:
    path = folder / ".codecarbon.config"
    path.write_text(body, encoding="utf-8")
    return path


def load(arguments: dict | None = None, environ: dict | None = None, **kwargs) -> Settings:
    return load_settings(arguments or {}, environ=environ or {}, **kwargs)


# --------------------------------------------------------------------------------------- defaults and table
def test_defaults_match_the_reference_parameters():
    s = load()
    assert s.project_name == "codecarbon"
    assert s.measure_power_secs == 15
    assert s.api_call_interval == 8
    assert s.api_endpoint == "https://api.codecarbon.io"
    assert s.output_dir == "." and s.output_file == "emissions.csv"
    assert s.save_to_file is True and s.save_to_api is False
    assert s.prometheus_url == "localhost:9091"
    assert s.output_methods is None and s.gpu_ids is None
    assert s.output_handlers == []
    assert s.experiment_id == "5b0fa12a-3dd7-45bb-9766-cc326314d9f1"
    assert s.experiment_name == "base"
    assert s.tracking_mode == "machine"
    assert s.log_level == logging.INFO
    assert s.on_csv_write == "append" and s.logger_preamble == ""
    assert s.pue == 1.0 and s.wue == 0.0
    assert s.allow_multiple_runs is True
    assert s.force_carbon_intensity_g_co2e_kwh is None
    assert s.prometheus_delete_on_exit is False
    assert s.delivery_timeout_secs == 2.0
    assert s.offline is False and s.metadata is None
    assert all(s.source(name) == "default" and not s.is_set(name) for name in PARAMETERS)


def test_every_spec_parameter_is_in_the_table():
    spec = """project_name measure_power_secs api_call_interval api_endpoint api_key output_dir output_file
    save_to_file save_to_api save_to_logger logging_logger save_to_prometheus save_to_logfire prometheus_url
    output_methods output_handlers gpu_ids emissions_endpoint experiment_id experiment_name
    electricitymaps_api_token tracking_mode log_level on_csv_write logger_preamble force_cpu_power
    force_ram_power pue wue force_mode_cpu_load allow_multiple_runs rapl_include_dram rapl_prefer_psys
    force_carbon_intensity_g_co2e_kwh country_iso_code region cloud_provider cloud_region
    country_2letter_iso_code offline metadata prometheus_delete_on_exit delivery_timeout_secs""".split()
    assert set(spec) <= set(PARAMETERS)
    assert PARAMETERS["co2_signal_api_token".replace("co2_signal_api_token", "electricitymaps_api_token")].aliases \
        == ("co2_signal_api_token",)
    assert {p.scope for p in PARAMETERS.values()} == {"tracker", "offline", "decorator"}
    assert PARAMETERS["country_iso_code"].scope == "offline" and PARAMETERS["offline"].scope == "decorator"


def test_settings_are_read_only_and_give_item_access():
    s = load({"pue": 1.5})
    assert s["pue"] == 1.5 and s.pue == 1.5 and "pue" in s
    with pytest.raises(AttributeError):
        s.pue = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.not_a_setting  # noqa: B018
    with pytest.raises(KeyError):
        s["not_a_setting"]
    copy = s.as_dict()
    copy["pue"] = 9
    assert s.pue == 1.5


def test_output_handlers_list_of_the_caller_is_not_mutated_and_defaults_are_not_shared():
    mine: list = [BaseOutput()]
    s = load({"output_handlers": mine})
    s.output_handlers.append(BaseOutput())
    assert len(mine) == 1
    fresh = load()
    fresh.output_handlers.append(1)
    assert load().output_handlers == []


# ------------------------------------------------------------------------------------------------- layers
def test_layers_later_wins_per_key(home: Path, cwd: Path):
    write_config(home, "[codecarbon]\nproject_name = from-home\nmeasure_power_secs = 1\npue = 1.1\nwue = 2\n")
    local = write_config(cwd, "[codecarbon]\nmeasure_power_secs = 2\npue = 1.2\n")
    s = load({"wue": 0.5}, environ={"CODECARBON_PUE": "1.3"}, home=home, cwd=cwd)
    assert s.project_name == "from-home" and s.source("project_name") == str(home / ".codecarbon.config")
    assert s.measure_power_secs == 2.0 and s.source("measure_power_secs") == str(local)
    assert s.pue == 1.3 and s.source("pue") == "CODECARBON_PUE"
    assert s.wue == 0.5 and s.source("wue") == "argument"
    assert s.is_set("pue") and not s.is_set("api_call_interval")


def test_default_home_and_cwd_come_from_the_process(home: Path, cwd: Path):
    write_config(home, "[codecarbon]\nexperiment_name = h\n")
    write_config(cwd, "[codecarbon]\nproject_name = here\n")
    s = load_settings({}, environ={})
    assert (s.project_name, s.experiment_name) == ("here", "h")


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CODECARBON_MEASURE_POWER_SECS", "0.1")
    s = load_settings({})
    assert s.measure_power_secs == pytest.approx(0.1)
    assert s.source("measure_power_secs") == "CODECARBON_MEASURE_POWER_SECS"


def test_keys_are_case_insensitive_and_percent_is_literal(home: Path, cwd: Path):
    write_config(cwd, "[codecarbon]\nProject_Name = 100%\nAPI_KEY = a%b%%c\n")
    s = load(home=home, cwd=cwd)
    assert s.project_name == "100%" and s.api_key == "a%b%%c"


def test_inline_comments_quotes_and_other_sections(home: Path, cwd: Path):
    write_config(cwd, '[other]\npue = 7\n[codecarbon]\nmeasure_power_secs = 10  # seconds\n'
                      'project_name = "my project"\n')
    s = load(home=home, cwd=cwd)
    assert s.measure_power_secs == 10 and s.project_name == "my project" and s.pue == 1.0


def test_file_without_codecarbon_section_is_ignored(home: Path, cwd: Path):
    write_config(cwd, "[something]\npue = not a number\n")
    assert load(home=home, cwd=cwd).pue == 1.0


def test_malformed_file_names_the_file(home: Path, cwd: Path):
    path = write_config(cwd, "pue = 1.2\n")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load(home=home, cwd=cwd)
    path.write_text("[codecarbon\npue = 1\n")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load(home=home, cwd=cwd)


def test_home_and_cwd_the_same_folder_is_read_once(home: Path):
    write_config(home, "[codecarbon]\npue = 1.4\n")
    assert load(home=home, cwd=home).pue == 1.4


def test_unknown_cli_and_legacy_keys(home: Path, cwd: Path, codecarbon_log):
    write_config(cwd, "[codecarbon]\nmisfire_grace_time = 5\norganization_id = o\nproject_id = p\n"
                      "no_such_key_xyz = 1\n")
    s = load(home=home, cwd=cwd, environ={"CODECARBON_NO_SUCH_VARIABLE_XYZ": "1"})
    assert s.pue == 1.0
    text = codecarbon_log.text
    assert "misfire_grace_time" in text and "ignored" in text
    assert "no_such_key_xyz" in text and "CODECARBON_NO_SUCH_VARIABLE_XYZ" in text
    assert "organization_id" not in text and "project_id" not in text
    codecarbon_log.clear()
    load(home=home, cwd=cwd)
    assert "no_such_key_xyz" not in codecarbon_log.text  # said once per process


def test_unknown_argument_is_an_error():
    with pytest.raises(ConfigError, match="measure_powr_secs"):
        load({"measure_powr_secs": 3})


def test_object_valued_parameters_cannot_come_from_a_file(home: Path, cwd: Path):
    path = write_config(cwd, "[codecarbon]\noutput_handlers = x\n")
    with pytest.raises(ConfigError, match="output_handlers.*" + re.escape(str(path))):
        load(home=home, cwd=cwd)
    path.unlink()
    with pytest.raises(ConfigError, match="CODECARBON_LOGGING_LOGGER"):
        load(environ={"CODECARBON_LOGGING_LOGGER": "x"})


def test_offline_keys_are_read_from_files_only_for_offline(home: Path, cwd: Path):
    write_config(cwd, "[codecarbon]\ncountry_iso_code = fra\nregion = Quebec\ncloud_provider = GCP\n")
    online = load(home=home, cwd=cwd)
    assert online.country_iso_code is None and not online.is_set("country_iso_code")
    offline = load(home=home, cwd=cwd, offline=True)
    assert (offline.country_iso_code, offline.region, offline.cloud_provider) == ("FRA", "quebec", "gcp")
    assert load({"country_2letter_iso_code": "fr"}, offline=True).country_2letter_iso_code == "FR"


# ------------------------------------------------------------------------------------------------ parsing
@pytest.mark.parametrize("text,expected", [
    ("true", True), ("TRUE", True), ("yes", True), ("On", True), ("1", True),
    ("false", False), ("No", False), ("off", False), ("0", False),
])
def test_booleans_from_text(text: str, expected: bool):
    assert load(environ={"CODECARBON_SAVE_TO_API": text}).save_to_api is expected
    assert load({"rapl_include_dram": text}).rapl_include_dram is expected


@pytest.mark.parametrize("value,expected", [
    ("0, 1", [0, 1]), ("0,1", [0, 1]), ("[0, 1]", [0, 1]), ("[0, 1, 2", [0, 1, 2]), ("3", [3]),
    ([0, 1], [0, 1]), (["0", "1"], [0, 1]), (["0,1", 2], [0, 1, 2]), (2, [2]),
    ("GPU-4e81a2b3", ["GPU-4e81a2b3"]),
    ("GPU-4e81a2b3-1c2d-4e5f-8a9b-0c1d2e3f4a5b,1", ["GPU-4e81a2b3-1c2d-4e5f-8a9b-0c1d2e3f4a5b", 1]),
    ("MIG-1f2e3d4c-aaaa-bbbb-cccc-000000000000", ["MIG-1f2e3d4c-aaaa-bbbb-cccc-000000000000"]),
    (["GPU-abc", 0], ["GPU-abc", 0]), ("['GPU-abc', 'GPU-def']", ["GPU-abc", "GPU-def"]),
    ("0,0,1", [0, 1]), ("", None), ([], []),
])
def test_gpu_ids(value, expected):
    assert load({"gpu_ids": value}).gpu_ids == expected


@pytest.mark.parametrize("value", ["0;1", "a b", [1.5], [True], [-1], {"a": 1}, "-1"])
def test_bad_gpu_ids(value):
    with pytest.raises(ConfigError, match="gpu_ids"):
        load({"gpu_ids": value})


def test_gpu_ids_from_environment():
    s = load(environ={"CODECARBON_GPU_IDS": "0, 1"})
    assert s.gpu_ids == [0, 1] and s.source("gpu_ids") == "CODECARBON_GPU_IDS"


@pytest.mark.parametrize("value,expected", [
    ("csv,boamps", [OutputMethod.CSV, OutputMethod.BOAMPS]),
    ("CSV, Logger , api", [OutputMethod.CSV, OutputMethod.LOGGER, OutputMethod.API]),
    ([OutputMethod.PROMETHEUS, "logfire"], [OutputMethod.PROMETHEUS, OutputMethod.LOGFIRE]),
    (OutputMethod.CSV, [OutputMethod.CSV]), ("csv,csv", [OutputMethod.CSV]), ([], []),
])
def test_output_methods(value, expected):
    assert load({"output_methods": value}).output_methods == expected


def test_unknown_output_method_lists_the_valid_ones(home: Path, cwd: Path):
    path = write_config(cwd, "[codecarbon]\noutput_methods = csv,kafka\n")
    with pytest.raises(ConfigError) as caught:
        load(home=home, cwd=cwd)
    message = str(caught.value)
    assert "output_methods" in message and str(path) in message and "kafka" in message
    assert "prometheus" in message


def test_numbers_from_text_and_integral_floats():
    s = load({"api_call_interval": "8.0", "measure_power_secs": "10", "pue": 2})
    assert s.api_call_interval == 8 and isinstance(s.api_call_interval, int)
    assert s.measure_power_secs == 10.0 and isinstance(s.measure_power_secs, float)
    assert s.pue == 2.0
    assert load({"api_call_interval": 8.0}).api_call_interval == 8
    assert load({"force_ram_power": "50.5"}).force_ram_power == 50.5
    assert load({"measure_power_secs": 0.1}).measure_power_secs == 0.1
    assert load({"api_call_interval": -1}).api_call_interval == -1


def test_log_level_names_and_numbers():
    assert load({"log_level": "DEBUG"}).log_level == logging.DEBUG
    assert load({"log_level": "warning"}).log_level == logging.WARNING
    assert load(environ={"CODECARBON_LOG_LEVEL": "40"}).log_level == logging.ERROR
    assert load({"log_level": 50}).log_level == logging.CRITICAL
    with pytest.raises(ConfigError, match="log_level"):
        load({"log_level": "chatty"})


def test_choices_are_case_insensitive():
    assert load({"tracking_mode": "Process"}).tracking_mode == "process"
    assert load({"on_csv_write": "UPDATE"}).on_csv_write == "update"


def test_empty_file_value_means_none_for_optional_keys(home: Path, cwd: Path):
    write_config(home, "[codecarbon]\napi_key = secret\n")
    write_config(cwd, "[codecarbon]\napi_key =\nforce_cpu_power =\n")
    s = load(home=home, cwd=cwd)
    assert s.api_key is None and s.force_cpu_power is None and s.is_set("api_key")


def test_explicit_none_keeps_lower_layers_for_keys_with_a_default(home: Path, cwd: Path):
    write_config(cwd, "[codecarbon]\nexperiment_name = filed\nmeasure_power_secs = 3\n")
    s = load({"experiment_name": None, "measure_power_secs": None, "gpu_ids": None}, home=home, cwd=cwd)
    assert s.experiment_name == "filed" and s.measure_power_secs == 3.0 and s.gpu_ids is None


def test_project_name_none_is_an_empty_name_as_in_3x(home: Path, cwd: Path):
    """Comet's integration passes project_name=None; 3.3.2 wrote an empty project_name cell."""
    write_config(cwd, "[codecarbon]\nproject_name = filed\n")
    s = load({"project_name": None}, home=home, cwd=cwd)
    assert s.project_name == "" and s.source("project_name") == "argument"


def test_metadata_dict_or_json_file(cwd: Path):
    assert load({"metadata": {"task": "x"}}).metadata == {"task": "x"}
    (cwd / "meta.json").write_text(json.dumps({"publisher": {"name": "me"}}))
    assert load({"metadata": "meta.json"}).metadata == {"publisher": {"name": "me"}}
    assert load({"metadata": cwd / "meta.json"}).metadata["publisher"]["name"] == "me"
    with pytest.raises(ConfigError, match="metadata.*missing.json"):
        load({"metadata": "missing.json"})
    (cwd / "bad.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="metadata.*JSON object"):
        load({"metadata": "bad.json"})


def test_output_handlers_must_be_outputs():
    assert len(load({"output_handlers": (BaseOutput(),)}).output_handlers) == 1
    with pytest.raises(ConfigError, match="output_handlers"):
        load({"output_handlers": BaseOutput()})
    with pytest.raises(ConfigError, match="output_handlers"):
        load({"output_handlers": ["csv"]})


# ------------------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("name,value", [
    ("measure_power_secs", -1), ("measure_power_secs", "fast"),
    ("measure_power_secs", float("nan")), ("measure_power_secs", float("inf")), ("measure_power_secs", True),
    ("api_call_interval", 0), ("api_call_interval", -2), ("api_call_interval", 1.5),
    ("tracking_mode", "gpu"), ("on_csv_write", "overwrite"), ("pue", 0), ("pue", -1), ("wue", -0.1),
    ("force_cpu_power", 0), ("force_ram_power", -1), ("force_ram_power", 0), ("force_carbon_intensity_g_co2e_kwh", -5),
    ("force_carbon_intensity_g_co2e_kwh", "lots"), ("delivery_timeout_secs", -1),
    ("country_iso_code", "FR"), ("country_iso_code", "F1A"), ("country_2letter_iso_code", "FRA"),
    ("save_to_file", "maybe"), ("save_to_file", 2), ("api_endpoint", "ftp://api.example.org"),
    ("api_endpoint", "not a url"), ("prometheus_url", "http://"), ("prometheus_url", "gateway:port"),
    ("emissions_endpoint", "ftp://x"), ("experiment_id", ""), ("output_dir", ""),
])
def test_bad_arguments_raise_naming_the_parameter(name: str, value):
    with pytest.raises(ConfigError) as caught:
        load({name: value})
    assert isinstance(caught.value, ValueError)
    assert name in str(caught.value) and "argument" in str(caught.value)
    assert "expected" in str(caught.value)


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="measure_power_secs.*CODECARBON_MEASURE_POWER_SECS.*number"):
        load(environ={"CODECARBON_MEASURE_POWER_SECS": "soon"})


def test_bad_file_value_names_the_file(home: Path, cwd: Path):
    path = write_config(home, "[codecarbon]\nforce_cpu_power = toto\n")
    with pytest.raises(ConfigError) as caught:
        load(home=home, cwd=cwd)
    assert "force_cpu_power" in str(caught.value) and str(path) in str(caught.value)


def test_a_bad_value_that_a_higher_layer_overrides_is_warned_about_not_fatal(home: Path, cwd: Path,
                                                                              codecarbon_log):
    path = write_config(cwd, "[codecarbon]\npue = -1\nmeasure_power_secs = soon\n")
    s = load({"pue": 1.2}, home=home, cwd=cwd, environ={"CODECARBON_MEASURE_POWER_SECS": "3"})
    assert s.pue == 1.2 and s.measure_power_secs == 3.0
    warned = [r for r in codecarbon_log.records if r.levelno == logging.WARNING]
    text = "\n".join(r.getMessage() for r in warned)
    assert "pue" in text and str(path) in text and "the argument" in text
    assert "measure_power_secs" in text and "CODECARBON_MEASURE_POWER_SECS" in text


def test_a_bad_value_that_wins_is_still_fatal(home: Path, cwd: Path):
    write_config(home, "[codecarbon]\npue = 1.1\n")
    write_config(cwd, "[codecarbon]\npue = -1\n")
    with pytest.raises(ConfigError, match="pue"):
        load(home=home, cwd=cwd)


# --------------------------------------------------------------------------------------------- deprecation
def test_co2_signal_api_token_is_a_deprecated_alias(home: Path, cwd: Path):
    with pytest.warns(DeprecationWarning, match="co2_signal_api_token"):
        s = load({"co2_signal_api_token": "old"})
    assert s.electricitymaps_api_token == "old" and s.source("electricitymaps_api_token") == "argument"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = load({"co2_signal_api_token": "old", "electricitymaps_api_token": "new"})
    assert both.electricitymaps_api_token == "new"
    write_config(cwd, "[codecarbon]\nco2_signal_api_token = filed\n")
    with pytest.warns(DeprecationWarning, match="co2_signal_api_token"):
        assert load(home=home, cwd=cwd).electricitymaps_api_token == "filed"


def test_current_name_beats_alias_in_the_same_file(home: Path, cwd: Path):
    write_config(cwd, "[codecarbon]\nco2_signal_api_token = old\nelectricitymaps_api_token = new\n")
    assert load(home=home, cwd=cwd).electricitymaps_api_token == "new"


def test_secrets_are_masked_in_repr():
    s = load({"api_key": "supersecretvalue123"})
    assert "supersecretvalue123" not in repr(s)


# ----------------------------------------------------------------------------------------- example config
def test_example_config_lists_every_file_key_and_matches_the_table():
    example = REPO / ".codecarbon.config.example"
    text = example.read_text(encoding="utf-8")
    assert text == example_config_text(), "regenerate .codecarbon.config.example from example_config_text()"
    for name, parameter in PARAMETERS.items():
        if parameter.from_files:
            assert re.search(rf"^# {name} = ", text, re.M), name
        else:
            assert re.search(rf"^# {name}: ", text, re.M), name
    assert "co2_signal_api_token" in text


def test_example_config_values_parse_when_uncommented(home: Path, cwd: Path):
    text = (REPO / ".codecarbon.config.example").read_text(encoding="utf-8")
    body = "\n".join(line[2:] if re.match(r"^# [a-z_0-9]+ = \S", line) else line for line in text.splitlines())
    (cwd / "boamps_metadata.json").write_text("{}")
    write_config(cwd, body)
    s = load(home=home, cwd=cwd, offline=True)
    for name, parameter in PARAMETERS.items():
        if parameter.from_files and parameter.default is not None:  # (host:port defaults come back as http://)
            assert s[name] == parameter.convert(parameter.default), name
    assert s.gpu_ids == [0, 1] and s.country_iso_code == "FRA"


# ------------------------------------------------------------------------------------------------- import
def test_config_module_imports_nothing_heavy():
    code = ("import sys, codecarbon.core.config as c; c.load_settings({}); "
            "heavy = {'pandas', 'requests', 'prometheus_client', 'logfire', 'pynvml', 'amdsmi', 'google', 'psutil'}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_settings_copy_and_pickle_keep_values_and_sources():
    import copy
    import pickle

    s = load({"pue": 2, "gpu_ids": "0,1"})
    for clone in (copy.copy(s), copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        assert clone.pue == 2.0 and clone.gpu_ids == [0, 1] and clone.source("pue") == "argument"


def test_the_state_directory_variable_is_not_taken_for_an_unknown_setting(tmp_path, codecarbon_log):
    from codecarbon.core.config import load_settings

    load_settings({}, home=tmp_path / "home", cwd=tmp_path, environ={"CODECARBON_STATE_DIR": str(tmp_path / "s"),
                                                                    "CODECARBON_NO_SUCH_KEY": "1"})
    messages = [r.getMessage() for r in codecarbon_log.records]
    assert not any("state_dir" in m for m in messages), messages
    assert any("no_such_key" in m for m in messages), messages
