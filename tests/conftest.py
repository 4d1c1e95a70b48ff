"""Every test runs with its own HOME and working directory, and no CODECARBON_* variables from outside."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    for name in list(os.environ):
        if name.upper().startswith("CODECARBON_"):
            monkeypatch.delenv(name)
    for name in ("CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "PROMETHEUS_USERNAME", "PROMETHEUS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return work


@pytest.fixture(autouse=True)
def fresh_hardware_detection():
    """Hardware facts are cached per process; each test detects its own (fake) machine afresh."""
    from codecarbon.hardware import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture(autouse=True)
def fresh_once_messages():
    """Messages logged once per process are once per test here: no test depends on which ran before it."""
    from codecarbon.external import logger as codecarbon_logger

    with codecarbon_logger._once_lock:
        codecarbon_logger._said_once.clear()
    yield


@pytest.fixture
def home(isolated_environment: Path) -> Path:
    """The HOME every test runs with (where ~/.codecarbon.config lives)."""
    return isolated_environment.parent / "home"


@pytest.fixture
def cwd(isolated_environment: Path) -> Path:
    """The working directory every test runs in (where ./.codecarbon.config lives)."""
    return isolated_environment


@pytest.fixture
def codecarbon_log(caplog: pytest.LogCaptureFixture):
    """Capture the codecarbon logger (which does not propagate to root) through caplog."""
    cc = logging.getLogger("codecarbon")
    propagate = cc.propagate
    cc.propagate = False
    cc.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG, logger="codecarbon")
    yield caplog
    cc.removeHandler(caplog.handler)
    cc.propagate = propagate
