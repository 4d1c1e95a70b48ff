"""The configuration page's example (the seed page on configuration priority) runs unchanged.

The page sets four layers and lists the attributes they yield. Its code blocks are reproduced here character for
character as 3.x documentation writes them: ``~/.codecarbon.config`` (the extracted seed page lost this block's
text; its three lines are the ones whose values the page lists as coming from it), ``./.codecarbon.config`` as
the page shows it, ``export CODECARBON_GPU_IDS="0, 1"``, and the constructor call.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from codecarbon import EmissionsTracker
from codecarbon.core.config import load_settings
from codecarbon.intensity import resolve_offline_location
from codecarbon.support.errors import ConfigError

GLOBAL_FILE = """[codecarbon]
measure_power_secs=10
save_to_file=local-overwrite
emissions_endpoint=localhost:7777
"""

LOCAL_FILE = """[codecarbon]
save_to_file = true
output_dir = /Users/victor/emissions
experiment_id = 235b1da5-aaaa-aaaa-aaaa-893681599d2c
log_level = DEBUG
tracking_mode = process
"""

ENVIRONMENT = {"CODECARBON_GPU_IDS": "0, 1"}  # export CODECARBON_GPU_IDS="0, 1"

# What the page says the example yields.
YIELDS = {
    "measure_power_secs": 10,
    "save_to_file": True,
    "api_call_interval": 4,
    "save_to_api": True,
    "experiment_id": "235b1da5-aaaa-aaaa-aaaa-893681599d2c",
    "log_level": "DEBUG",
    "tracking_mode": "process",
    "emissions_endpoint": "localhost:7777",
    "output_dir": "/Users/victor/emissions",
    "co2_signal_api_token": "some-token",
    "gpu_ids": [0, 1],
}


def construct_as_the_page_does() -> EmissionsTracker:
    return EmissionsTracker(
        api_call_interval=4,
        save_to_api=True,
        co2_signal_api_token="some-token",
    )


@pytest.fixture
def page_layers(home: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch):
    (home / ".codecarbon.config").write_text(GLOBAL_FILE, encoding="utf-8")
    (cwd / ".codecarbon.config").write_text(LOCAL_FILE, encoding="utf-8")
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    # where it runs: the location seam 3.x's own tests patch, so no request leaves the machine
    monkeypatch.setattr(EmissionsTracker, "_get_geo_metadata", lambda self: resolve_offline_location("FRA"))
    level = logging.getLogger("codecarbon").level
    yield cwd
    logging.getLogger("codecarbon").setLevel(level)  # the example sets log_level = DEBUG for the whole logger


def assert_the_listed_values(values, output_dir: str) -> None:
    """Each listed value, in the form the tracker holds it: the level as its number, the scheme-less endpoint
    as the http:// URL it means, the deprecated token under its current name."""
    assert values["measure_power_secs"] == YIELDS["measure_power_secs"]
    assert values["save_to_file"] is YIELDS["save_to_file"]
    assert values["api_call_interval"] == YIELDS["api_call_interval"]
    assert values["save_to_api"] is YIELDS["save_to_api"]
    assert values["experiment_id"] == YIELDS["experiment_id"]
    assert values["log_level"] == logging.getLevelName(YIELDS["log_level"]) == logging.DEBUG
    assert values["tracking_mode"] == YIELDS["tracking_mode"]
    assert values["emissions_endpoint"] == "http://" + YIELDS["emissions_endpoint"]
    assert values["output_dir"] == output_dir
    assert values["electricitymaps_api_token"] == YIELDS["co2_signal_api_token"]
    assert values["gpu_ids"] == YIELDS["gpu_ids"]


def test_the_four_layers_yield_the_listed_values(page_layers: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        settings = load_settings({"api_call_interval": 4, "save_to_api": True, "co2_signal_api_token": "some-token"})
    assert_the_listed_values(settings, YIELDS["output_dir"])
    assert settings.source("measure_power_secs").endswith("home/.codecarbon.config")
    assert settings.source("save_to_file").endswith("work/.codecarbon.config")  # ./ overrides ~/
    assert settings.source("gpu_ids") == "CODECARBON_GPU_IDS"
    assert settings.source("api_call_interval") == "argument"


def test_constructed_verbatim_the_missing_folder_is_an_oserror_as_in_3x(page_layers: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(OSError, match="/Users/victor/emissions") as caught:
            construct_as_the_page_does()
    assert isinstance(caught.value, ConfigError)


def test_constructed_with_the_folder_present_the_tracker_holds_the_listed_values(page_layers: Path,
                                                                                   tmp_path: Path) -> None:
    # Same files, variable and call; only the page's folder is one that exists on this machine.
    emissions = tmp_path / "Users" / "victor" / "emissions"
    emissions.mkdir(parents=True)
    local = page_layers / ".codecarbon.config"
    local.write_text(LOCAL_FILE.replace("/Users/victor/emissions", str(emissions)), encoding="utf-8")
    with pytest.warns(DeprecationWarning) as caught:
        tracker = construct_as_the_page_does()
    from codecarbon.core.compat import SETTING_ATTRIBUTES

    attributes = {name: getattr(tracker, f"_{name}") for name in SETTING_ATTRIBUTES}  # 3.x's tracker._<name>
    assert_the_listed_values(attributes, str(emissions))
    outputs = [type(output).__name__ for output in tracker._output_handlers]
    assert outputs == ["FileOutput", "HTTPOutput", "CodeCarbonAPIOutput"]
    said = " ".join(str(w.message) for w in caught)
    assert "co2_signal_api_token" in said and "electricitymaps_api_token" in said
    assert "save_to_file" in said and "local-overwrite" in said and "read as true" in said
    assert "some-token" not in said
    for output in tracker._output_handlers:
        output.exit()
