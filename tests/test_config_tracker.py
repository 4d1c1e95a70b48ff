"""What the trackers and the decorator take from the parameter table: real signatures, the sentinel semantics,
the output location checked and resolved at construction, and core importing no output code."""

from __future__ import annotations

import csv
import inspect
import pydoc
import subprocess
import sys
from pathlib import Path

import pytest

from codecarbon import EmissionsTracker, OfflineEmissionsTracker, OutputMethod, track_emissions
from codecarbon.core.parameters import OUTPUT_METHODS, PARAMETERS
from codecarbon.emissions_tracker import BaseEmissionsTracker
from codecarbon.support.errors import ConfigError, OutputPathError

REPO = Path(__file__).resolve().parents[1]
FAST = dict(measure_power_secs=0.1, force_cpu_power=50.0, force_ram_power=5.0)


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def shown_default(parameter: inspect.Parameter):
    """The default as help() shows it (repr of the marker), parsed as the table parses values."""
    shown = eval(repr(parameter.default))  # noqa: S307 - the repr of a literal
    default = PARAMETERS[parameter.name].default
    return shown if shown is None or shown == default else PARAMETERS[parameter.name].convert(shown)


# ------------------------------------------------------------------------------------------------ signatures
def test_track_emissions_shows_every_parameter_with_its_default() -> None:
    signature = inspect.signature(track_emissions)
    names = [name for name in signature.parameters if name != "fn"]
    expected = [name for name, p in PARAMETERS.items() if p.scope in ("tracker", "offline", "decorator")]
    assert set(names) == set(expected) | {"co2_signal_api_token"}
    for name in names:
        parameter = signature.parameters[name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.annotation is not inspect.Parameter.empty, name
        if name != "co2_signal_api_token":
            assert shown_default(parameter) == PARAMETERS[name].default, name
    text = pydoc.render_doc(track_emissions)
    assert "measure_power_secs: 'float' = 15" in text and "offline: 'bool' = False" in text
    assert "object at 0x" not in text


@pytest.mark.parametrize("tracker", [BaseEmissionsTracker, EmissionsTracker, OfflineEmissionsTracker])
def test_tracker_constructors_show_every_parameter_with_its_default(tracker) -> None:
    signature = inspect.signature(tracker)
    names = list(signature.parameters)
    assert names[:3] == ["project_name", "measure_power_secs", "api_call_interval"]  # 3.x positional order
    scopes = ("tracker", "offline") if tracker is OfflineEmissionsTracker else ("tracker",)
    expected = {name for name, p in PARAMETERS.items() if p.scope in scopes}
    assert expected | {"co2_signal_api_token"} <= set(names)
    for name in expected:
        assert shown_default(signature.parameters[name]) == PARAMETERS[name].default, name
    assert "object at 0x" not in str(signature)


def test_decorator_arguments_left_out_do_not_override_config_layers(cwd: Path, monkeypatch) -> None:
    (cwd / ".codecarbon.config").write_text("[codecarbon]\nproject_name = from-file\nexperiment_name = filed\n"
                                            "force_cpu_power = 50\nforce_ram_power = 5\nmeasure_power_secs = 0.1\n")
    monkeypatch.setenv("CODECARBON_EXPERIMENT_NAME", "from-env")

    @track_emissions(offline=True, country_iso_code="FRA", project_name="from-decorator")
    def named() -> int:
        return 1

    @track_emissions(offline=True, country_iso_code="FRA")
    def plain() -> int:
        return 2

    assert (named(), plain()) == (1, 2)
    first, second = rows(cwd / "emissions.csv")
    assert first["project_name"] == "from-decorator" and second["project_name"] == "from-file"


def test_bare_decorator_and_wrapping_keep_the_function(monkeypatch) -> None:
    import functools

    # the decorator looks the tracker class up at call time (3.x tests patch it the same way)
    monkeypatch.setattr("codecarbon.emissions_tracker.EmissionsTracker",
                        functools.partial(OfflineEmissionsTracker, country_iso_code="FRA"))

    @track_emissions
    def answer(x: int) -> int:
        """Doc kept."""
        return 2 * x

    assert answer(21) == 42 and answer.__name__ == "answer" and answer.__doc__ == "Doc kept."
    assert list(inspect.signature(answer).parameters) == ["x"]


def test_positional_arguments_follow_3x_order(tmp_path: Path) -> None:
    tracker = OfflineEmissionsTracker("positional", 0.5, 3, country_iso_code="FRA", output_dir=str(tmp_path))
    assert (tracker._project_name, tracker._measure_power_secs, tracker._api_call_interval) == ("positional", 0.5, 3)


# --------------------------------------------------------------------------------------------- output paths
def test_missing_output_dir_is_an_oserror_naming_the_folder(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="nowhere") as caught:
        OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path / "nowhere"))
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, OutputPathError)
    assert "output_dir" in str(caught.value) and "the argument" in str(caught.value)


def test_output_dir_that_is_a_file_and_from_a_config_file(tmp_path: Path, cwd: Path) -> None:
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    (cwd / ".codecarbon.config").write_text(f"[codecarbon]\noutput_dir = {a_file}\n")
    with pytest.raises(OSError, match="not a folder") as caught:
        OfflineEmissionsTracker(country_iso_code="FRA")
    assert str(cwd / ".codecarbon.config") in str(caught.value)


def test_output_file_is_checked_at_construction(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    with pytest.raises(OSError, match="output_file.*is a directory"):
        OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path), output_file="adir")
    with pytest.raises(OSError, match="output_file.*folder.*doesn't exist"):
        OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path), output_file="sub/rows.csv")
    with pytest.raises(OSError, match="output_file"):
        OfflineEmissionsTracker(country_iso_code="FRA", output_file=str(tmp_path / "missing" / "rows.csv"))
    # without the CSV output the file name is not used, so not checked
    OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path), output_file="adir",
                            output_methods=[OutputMethod.LOGGER], logging_logger=__import__("logging").getLogger("x"))
    (tmp_path / "sub").mkdir()
    assert OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path),
                                   output_file="sub/rows.csv")._output_file == "sub/rows.csv"


def test_relative_output_dir_is_resolved_once_at_construction(cwd: Path, tmp_path: Path, monkeypatch) -> None:
    (cwd / "out").mkdir()
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", output_dir="out", **FAST)
    assert tracker._output_dir == str(cwd / "out")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the user's code moves around; the rows go where it said at construction
    tracker.start()
    tracker.stop()
    assert len(rows(cwd / "out" / "emissions.csv")) == 1
    assert not (elsewhere / "out").exists() and list(elsewhere.iterdir()) == []


# ------------------------------------------------------------------------------------------------- layering
def test_core_imports_no_output_code() -> None:
    code = ("import sys, codecarbon.core.config as c, codecarbon.core.parameters; c.load_settings({'output_methods':"
            " 'csv,api'}); print(sorted(m for m in sys.modules if m.startswith('codecarbon.output')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "[]"
    for name in ("config.py", "parameters.py", "compat.py"):
        assert "codecarbon.output" not in (REPO / "codecarbon" / "core" / name).read_text(encoding="utf-8"), name


def test_output_method_values_are_one_list() -> None:
    assert OUTPUT_METHODS == tuple(m.value for m in OutputMethod)


def test_settings_hold_method_names_that_equal_the_enum_members() -> None:
    from codecarbon.core.config import load_settings

    methods = load_settings({"output_methods": [OutputMethod.CSV, "Prometheus"]}, environ={}).output_methods
    assert methods == ["csv", "prometheus"] == [OutputMethod.CSV, OutputMethod.PROMETHEUS]
    assert all(type(m) is str for m in methods)


def test_an_unknown_argument_is_a_config_error_naming_it_for_both_trackers() -> None:
    for tracker in (EmissionsTracker, OfflineEmissionsTracker):
        with pytest.raises(ConfigError, match="measure_powr_secs"):
            tracker(measure_powr_secs=3)
