"""One exception hierarchy, raised where its situations arise, and no broad ``except`` without a reason (issue 13)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from codecarbon.support.errors import (
    ApiUnavailable,
    CliError,
    CodeCarbonError,
    ConfigError,
    GpuLibraryError,
    LockingUnavailable,
    MonitorError,
    StateDirError,
)
from tests.fakes.fake_amdsmi import AMDSMI_STATUS_NOT_SUPPORTED, FakeAmdGpu, FakeAmdSmi
from tests.fakes.fake_pynvml import NVML_ERROR_NO_PERMISSION, make_fake_nvml

PACKAGE = Path(__file__).resolve().parents[1] / "codecarbon"
BROAD = re.compile(r"^\s*except\s*(?:\(?\s*(?:Exception|BaseException)\b[^:]*)?:")


def test_the_tree_under_codecarbon_error_keeps_the_standard_kinds() -> None:
    for kind, also in ((CliError, None), (MonitorError, CliError), (ApiUnavailable, None), (ConfigError, ValueError),
                       (StateDirError, OSError), (LockingUnavailable, OSError), (GpuLibraryError, None)):
        assert issubclass(kind, CodeCarbonError), kind
        if also is not None:
            assert issubclass(kind, also), (kind, also)
    # the old homes still name the same classes
    from codecarbon.cli.api import ApiRefused
    from codecarbon.cli.api import ApiUnavailable as from_api
    from codecarbon.cli.main import CliError as from_main
    from codecarbon.cli.monitor import MonitorError as from_monitor
    from codecarbon.hardware.ownership import LockingUnavailable as from_ownership
    from codecarbon.support.statedir import StateDirError as from_statedir

    assert (from_api, from_main, from_monitor, from_ownership, from_statedir) == (
        ApiUnavailable, CliError, MonitorError, LockingUnavailable, StateDirError)
    assert issubclass(ApiRefused, ApiUnavailable)
    # OSError's arguments still work through the tree
    error = LockingUnavailable(38, "file locks do not work here")
    assert error.errno == 38 and error.strerror == "file locks do not work here"


def test_each_situation_raises_its_class() -> None:
    from codecarbon.cli.main import _validated
    from codecarbon.cli.monitor import plan_monitor

    with pytest.raises(CliError, match="unknown setting"):
        _validated("no_such_setting", "1")
    with pytest.raises(MonitorError, match="country"):
        plan_monitor(offline=True)


def test_an_unreachable_api_is_api_unavailable() -> None:
    from codecarbon.cli.api import create_experiment

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(ApiUnavailable, match="could not be reached") as caught:
        create_experiment(f"http://127.0.0.1:{port}", {"name": "x"}, timeout_s=2.0)
    assert isinstance(caught.value, CodeCarbonError)


def test_an_unusable_state_directory_is_a_state_dir_error(tmp_path: Path) -> None:
    from codecarbon.support.statedir import ensure_private_dir

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StateDirError) as caught:
        ensure_private_dir(blocker)
    assert isinstance(caught.value, OSError) and isinstance(caught.value, CodeCarbonError)


def test_nvml_errors_become_gpu_library_errors_with_nvmls_code() -> None:
    from codecarbon.hardware import nvidia

    nvml = make_fake_nvml(1)
    nvml.nvmlInit()
    handle = nvml.nvmlDeviceGetHandleByIndex(0)
    nvml.devices[0].fail_with = NVML_ERROR_NO_PERMISSION
    with pytest.raises(GpuLibraryError) as caught:
        nvidia._call(nvml, "nvmlDeviceGetPowerUsage", handle)
    assert (caught.value.vendor, caught.value.call, caught.value.code) == (
        "NVML", "nvmlDeviceGetPowerUsage", NVML_ERROR_NO_PERMISSION)
    assert isinstance(caught.value.__cause__, nvml.NVMLError)


def test_amdsmi_errors_become_gpu_library_errors_with_amdsmis_code() -> None:
    from codecarbon.hardware import amd

    gpu = FakeAmdGpu(uuid="aa-0")
    smi = FakeAmdSmi([gpu])
    smi.amdsmi_init()
    (handle,) = smi.amdsmi_get_processor_handles()
    gpu.fail_with = AMDSMI_STATUS_NOT_SUPPORTED
    with pytest.raises(GpuLibraryError) as caught:
        amd.read_energy_count(smi, handle)
    assert (caught.value.vendor, caught.value.code) == ("amdsmi", AMDSMI_STATUS_NOT_SUPPORTED)


def test_a_gpu_refusing_its_reads_is_dropped_and_the_other_goes_on(codecarbon_log) -> None:
    from codecarbon.hardware.nvidia import detect_nvidia

    nvml = make_fake_nvml(2)
    found = detect_nvidia(None, environ={}, nvml=nvml)
    assert found is not None and found.source is not None
    source = found.source
    source.open()
    nvml.devices[0].advance(10.0)
    nvml.devices[1].advance(5.0)
    assert source.read_joules() == pytest.approx(15.0)
    nvml.devices[1].fail_with = NVML_ERROR_NO_PERMISSION
    nvml.devices[0].advance(10.0)
    assert source.read_joules() == pytest.approx(25.0)
    assert any("NVML nvmlDeviceGetTotalEnergyConsumption failed" in r.getMessage() for r in codecarbon_log.records)


def _reraises(lines: list[str], index: int) -> bool:
    """Whether the block of the ``except`` at ``index`` ends by re-raising (clean-up, then ``raise``)."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    for line in lines[index + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            return False
        if line.strip() == "raise":
            return True
    return False


def test_every_broad_except_in_the_package_says_why() -> None:
    """``except Exception`` (or wider) only with a comment on that line giving the reason, or to clean up and
    re-raise; otherwise narrow it."""
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            if BROAD.match(line) and "#" not in line and not _reraises(lines, index):
                unexplained.append(f"{path.relative_to(PACKAGE.parent)}:{index + 1}: {line.strip()}")
    assert not unexplained, "\n".join(unexplained)
