"""Deprecated parameters are seen: one WARNING on the codecarbon logger naming the replacement, plus a
DeprecationWarning; and no secret value appears in any message, warning, error or log line."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from codecarbon import OfflineEmissionsTracker
from codecarbon.core.config import load_settings, mask_secret
from codecarbon.external import logger as codecarbon_logger
from codecarbon.support.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SECRET = "sk-live-7f3a9c2e5b1d4a8e"


@pytest.fixture(autouse=True)
def fresh_once_log():
    """Each deprecation is logged once per process; every test here starts from a process that said nothing."""
    saved = set(codecarbon_logger._said_once)
    codecarbon_logger._said_once.clear()
    yield
    codecarbon_logger._said_once.clear()
    codecarbon_logger._said_once.update(saved)


def warnings_logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "codecarbon" and r.levelno == logging.WARNING]


def load(arguments=None, environ=None, **kwargs):
    return load_settings(arguments or {}, environ=environ or {}, **kwargs)


CASES = [
    # (how it is given, the deprecated name, what the message must name as the replacement)
    ({"arguments": {"co2_signal_api_token": SECRET}}, "co2_signal_api_token", "electricitymaps_api_token"),
    ({"environ": {"CODECARBON_CO2_SIGNAL_API_TOKEN": SECRET}}, "co2_signal_api_token", "electricitymaps_api_token"),
    ({"file": f"co2_signal_api_token = {SECRET}"}, "co2_signal_api_token", "electricitymaps_api_token"),
    ({"arguments": {"save_to_api": True}}, "save_to_api", "output_methods=['csv', 'api']"),
    ({"arguments": {"save_to_file": False, "save_to_logger": True}}, "save_to_logger", "output_methods=['logger']"),
    ({"arguments": {"save_to_prometheus": True}}, "save_to_prometheus", "'prometheus'"),
    ({"environ": {"CODECARBON_SAVE_TO_LOGFIRE": "true"}}, "save_to_logfire", "'logfire'"),
    ({"file": "save_to_file = true"}, "save_to_file", "output_methods=['csv']"),
    ({"file": "misfire_grace_time = 15"}, "misfire_grace_time", "measure_power_secs"),
    ({"environ": {"CODECARBON_MISFIRE_GRACE_TIME": "15"}}, "misfire_grace_time", "measure_power_secs"),
]


@pytest.mark.parametrize("given,name,replacement", CASES, ids=[f"{c[1]}-{list(c[0])[0]}" for c in CASES])
def test_each_deprecated_name_gives_one_warning_naming_the_replacement(given, name, replacement, home: Path,
                                                                     cwd: Path, codecarbon_log) -> None:
    if "file" in given:
        (cwd / ".codecarbon.config").write_text(f"[codecarbon]\n{given['file']}\n")
    with pytest.warns(DeprecationWarning) as caught:
        for _ in range(3):  # the same use, three times: one log line
            load(given.get("arguments"), given.get("environ"), home=home, cwd=cwd)
    logged = [m for m in warnings_logged(codecarbon_log) if name in m]
    assert len(logged) == 1, logged
    assert replacement in logged[0] and "deprecated" in logged[0]
    assert any(name in str(w.message) and replacement in str(w.message) for w in caught)
    everything = " ".join(warnings_logged(codecarbon_log) + [str(w.message) for w in caught])
    assert SECRET not in everything


def test_flags_ignored_because_output_methods_is_set(codecarbon_log) -> None:
    with pytest.warns(DeprecationWarning, match="save_to_api.*ignored.*output_methods"):
        load({"save_to_api": True, "output_methods": ["csv"]})
    assert any("save_to_api" in m and "ignored" in m for m in warnings_logged(codecarbon_log))


def test_current_names_warn_nothing(home: Path, cwd: Path, codecarbon_log) -> None:
    (cwd / ".codecarbon.config").write_text("[codecarbon]\noutput_methods = csv,api\n"
                                            f"electricitymaps_api_token = {SECRET}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(home=home, cwd=cwd)
    assert warnings_logged(codecarbon_log) == []


def test_the_deprecation_warning_points_at_the_callers_line(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        OfflineEmissionsTracker(country_iso_code="FRA", save_to_file=True, output_dir=str(tmp_path))
    ours = [w for w in caught if issubclass(w.category, DeprecationWarning) and "save_to_file" in str(w.message)]
    assert ours and ours[0].filename == __file__


def test_the_warning_carries_the_logger_prefix_and_the_users_preamble(tmp_path: Path) -> None:
    """As a user sees it on stderr: the logger set up from the same arguments first, then the warning."""
    code = ("import warnings; warnings.simplefilter('ignore')\n"
            "from codecarbon import OfflineEmissionsTracker\n"
            f"OfflineEmissionsTracker(country_iso_code='FRA', output_dir={str(tmp_path)!r}, save_to_api=True,\n"
            f"    logger_preamble='MySuperServer', co2_signal_api_token={SECRET!r}, log_level='warning')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={"PYTHONPATH": str(REPO), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "deprecated" in line]
    assert len(lines) == 2, done.stderr
    for line in lines:
        assert line.startswith("[codecarbon WARNING @ ") and "] MySuperServer " in line
    assert any("save_to_api" in line and "output_methods=['csv', 'api']" in line for line in lines)
    assert any("co2_signal_api_token" in line and "electricitymaps_api_token" in line for line in lines)
    assert SECRET not in done.stderr


# ------------------------------------------------------------------------------------------------- secrets
def test_no_secret_in_errors_warnings_or_debug_lines(home: Path, cwd: Path, codecarbon_log) -> None:
    # a bad secret in a lower layer (overridden: warned), the secrets as debug lines, a password in a URL
    (home / ".codecarbon.config").write_text(f"[codecarbon]\napi_key = {SECRET}\n"
                                             f"emissions_endpoint = ftp://user:{SECRET}@host/x\n")
    settings = load({"emissions_endpoint": f"http://user:{SECRET}@127.0.0.1:9/e", "api_key": SECRET,
                     "log_level": "debug"}, {"CODECARBON_ELECTRICITYMAPS_API_TOKEN": SECRET}, home=home, cwd=cwd)
    assert settings.api_key == SECRET and SECRET in settings.emissions_endpoint
    messages = [r.getMessage() for r in codecarbon_log.records]
    assert any("emissions_endpoint" in m and "not used" in m for m in messages)  # the ftp:// one was warned about
    assert any("setting api_key" in m for m in messages)
    assert all(SECRET not in m for m in messages), [m for m in messages if SECRET in m]
    assert SECRET not in repr(settings)

    for bad in ({"api_key": SECRET.encode()}, {"electricitymaps_api_token": [SECRET]},
                {"emissions_endpoint": f"ftp://user:{SECRET}@host"}, {"prometheus_url": f"u:{SECRET}@"}):
        with pytest.raises(ConfigError) as caught:
            load(bad)
        assert SECRET not in str(caught.value), caught.value


def test_mask_secret_keeps_only_the_ends() -> None:
    assert mask_secret(SECRET) == "sk****8e" and mask_secret("short") == "****"
