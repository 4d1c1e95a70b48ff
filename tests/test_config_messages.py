"""What a newcomer sees when a setting is wrong, and where the summary line says the row went (issue 13, part 5)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from codecarbon import OfflineEmissionsTracker, track_emissions
from codecarbon.support.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=120)


def test_a_misspelt_ini_key_is_warned_with_the_usual_prefix_and_a_suggestion(cwd: Path) -> None:
    (cwd / ".codecarbon.config").write_text("[codecarbon]\nmesure_power_secs = 5\n", encoding="utf-8")
    done = run_python("from codecarbon import OfflineEmissionsTracker\n"
                      "OfflineEmissionsTracker(country_iso_code='FRA')\n", cwd, CODECARBON_PROJET_NAME="x")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    (ini,) = [line for line in lines if "mesure_power_secs" in line]
    assert ini.startswith("[codecarbon WARNING @ ")
    assert ini.endswith("is ignored; did you mean 'measure_power_secs'?")
    (variable,) = [line for line in lines if "PROJET" in line]
    assert variable.startswith("[codecarbon WARNING @ ")
    assert variable.endswith("did you mean 'CODECARBON_PROJECT_NAME'?")


def test_a_misspelt_section_header_is_warned_not_silently_ignored(cwd: Path) -> None:
    (cwd / ".codecarbon.config").write_text("[codecarbn]\nproject_name = demo\n", encoding="utf-8")
    done = run_python("from codecarbon import OfflineEmissionsTracker\n"
                      "print(OfflineEmissionsTracker(country_iso_code='FRA')._project_name)\n", cwd)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "codecarbon"  # the file's settings are not used...
    (warning,) = [line for line in done.stderr.splitlines() if "[codecarbn]" in line]
    assert warning.startswith("[codecarbon WARNING @ ")  # ...and the user is told why, once
    assert warning.endswith("has no [codecarbon] section (found [codecarbn]): its settings are ignored; the header "
                            "must be [codecarbon]")


def test_an_unknown_argument_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"^mesure_power_secs \(from the argument\): unknown parameter; "
                                          r"did you mean 'measure_power_secs'\?$"):
        OfflineEmissionsTracker(country_iso_code="FRA", mesure_power_secs=5)
    with pytest.raises(ConfigError, match=r"unknown parameter$"):  # nothing close: no guess
        OfflineEmissionsTracker(country_iso_code="FRA", completely_different=5)


def test_an_alpha2_country_code_suggests_the_alpha3_one() -> None:
    with pytest.raises(ConfigError, match=r"^country_iso_code .*got 'FR' \(did you mean 'FRA'\?\)"):
        OfflineEmissionsTracker(country_iso_code="FR")
    with pytest.raises(ValueError, match=r"did you mean 'DEU'\?"):
        track_emissions(offline=True, country_iso_code="de")(lambda: None)()


def test_an_unknown_country_or_region_names_the_parameter_and_where_it_came_from(cwd: Path) -> None:
    with pytest.raises(ConfigError, match=r"^country_iso_code \(from the argument\): unknown country_iso_code "
                                          r"'XYZ'; list valid codes with"):
        OfflineEmissionsTracker(country_iso_code="XYZ")
    with pytest.raises(ConfigError, match=r"^region \(from the argument\): unknown region 'nowhere' for "
                                          r"country_iso_code 'USA'"):
        OfflineEmissionsTracker(country_iso_code="USA", region="nowhere")
    (cwd / ".codecarbon.config").write_text("[codecarbon]\ncountry_iso_code = XYZ\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^country_iso_code \(from config file .*\.codecarbon\.config\): "
                                          r"unknown country_iso_code 'XYZ'"):
        OfflineEmissionsTracker()


def test_a_configuration_error_shows_the_users_line_not_the_layers(cwd: Path) -> None:
    done = run_python("from codecarbon import OfflineEmissionsTracker\n"
                      "OfflineEmissionsTracker(country_iso_code='FRA', pue=-1)\n", cwd)
    assert done.returncode == 1
    frames = [line for line in done.stderr.splitlines() if line.lstrip().startswith("File ")]
    assert frames[0].strip().startswith('File "<string>", line 2')
    assert len(frames) <= 3, done.stderr  # the user's line and the constructors, not config.py's layers
    assert not any("config.py" in f or "parameters.py" in f for f in frames), done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("codecarbon.support.errors.ConfigError: pue (from the argument): expected a number")
    assert "During handling" not in done.stderr


def test_an_output_dir_error_names_the_parameter_first(tmp_path: Path) -> None:
    with pytest.raises(OSError, match=r"^output_dir \(from the argument\): Folder '.*' doesn't exist"):
        OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path / "missing"))


def test_the_summary_line_says_where_the_row_really_went(cwd: Path, tmp_path: Path, monkeypatch,
                                                         codecarbon_log) -> None:
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(tmp_path / "state"))
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", force_cpu_power=10.0, force_ram_power=5.0)
    tracker.start()
    (cwd / "emissions.csv").mkdir()  # the file cannot be written (as in a folder made read-only meanwhile)
    tracker.stop()
    summary = [r.getMessage() for r in codecarbon_log.records if "g CO2eq over" in r.getMessage()][-1]
    (saved,) = (tmp_path / "state").rglob("emissions-*.csv")
    assert summary.endswith(f"-> {saved} (the state directory: {cwd / 'emissions.csv'} could not be written)")

    (cwd / "emissions.csv").rmdir()
    again = OfflineEmissionsTracker(country_iso_code="FRA", force_cpu_power=10.0, force_ram_power=5.0)
    again.start()
    again.stop()
    summary = [r.getMessage() for r in codecarbon_log.records if "g CO2eq over" in r.getMessage()][-1]
    assert summary.endswith(f"-> {cwd / 'emissions.csv'}")


def test_config_show_shows_the_csv_output_that_is_on_by_default(cwd: Path, capsys) -> None:
    from codecarbon.cli.main import main

    def shown() -> str:
        assert main(["config", "--show"]) == 0
        (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("output_methods")]
        return line

    assert "= csv (in effect: output_methods is not set)  [default]" in shown()
    (cwd / ".codecarbon.config").write_text("[codecarbon]\noutput_methods = csv,logger\n", encoding="utf-8")
    assert "= csv,logger  [" in shown()


def test_config_set_with_a_misspelt_key_suggests_the_right_one(cwd: Path, capsys) -> None:
    from codecarbon.cli.main import main

    assert main(["config", "--set", "mesure_power_secs=5"]) == 1
    error = capsys.readouterr().err
    assert "unknown setting 'mesure_power_secs'; did you mean 'measure_power_secs'?" in error
    assert not (cwd / ".codecarbon.config").exists()


def test_the_summary_line_of_a_short_run_reads_without_e_notation(cwd: Path, codecarbon_log) -> None:
    """A run of a fraction of a second emits micrograms: the line says ``µg`` and ``mWh``, not ``1.6e-05 g``."""
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", force_cpu_power=10.0, force_ram_power=5.0)
    tracker.start()
    tracker.stop()
    summary = [r.getMessage() for r in codecarbon_log.records if "CO2eq over" in r.getMessage()][-1]
    figures = summary.split(" -> ")[0]  # the path may hold anything
    assert not re.search(r"\de[-+]?\d", figures), summary
    small = r"[\d.]+ (mWh|µWh|nWh)"
    assert re.match(rf"^[\d.]+ (mg|µg|ng) CO2eq over [\d.]+ s: {small} \[cpu {small} \(tdp-model\), "
                    rf"gpu 0 Wh \(none\), ram {small} \(constant\)\]", figures), summary
