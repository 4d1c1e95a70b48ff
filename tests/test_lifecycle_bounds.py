"""What flush() and stop() wait for, and how long: hanging hardware, delivery drains, synchronize, live counting."""

from __future__ import annotations

import csv
import logging
import threading
from pathlib import Path

import pytest

from codecarbon import OfflineEmissionsTracker
from codecarbon.hardware.base import EnergySource
from codecarbon.output_methods.base_output import BaseOutput

FAST = dict(country_iso_code="FRA", measure_power_secs=0.05, force_cpu_power=100.0, force_ram_power=10.0)


def rows(path: Path = Path("emissions.csv")) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


class HangingSource(EnergySource):
    """A GPU whose driver stops answering after the baseline (it blocks until the test lets it go)."""

    component = "gpu"
    method = "nvml-energy"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.closed = False

    def open(self) -> None:
        pass

    def read_joules(self) -> float:
        self.release.wait()
        return 0.0

    def close(self) -> None:
        self.closed = True


@pytest.mark.timeout(60)
def test_stop_is_bounded_when_a_hardware_read_hangs(codecarbon_log) -> None:
    tracker = OfflineEmissionsTracker(**FAST)
    tracker._warmup.join()
    hanging = HangingSource()
    tracker._detect().sources.append(hanging)
    try:
        tracker.start()
        threading.Event().wait(0.3)  # the sampling thread is stuck in the read by now
        kg = tracker.stop()
        assert kg is not None and kg > 0
        (row,) = rows()
        assert float(row["cpu_energy"]) > 0
        assert any("stopped reading gpu energy (nvml-energy)" in r.getMessage() for r in codecarbon_log.records)
        assert not hanging.closed  # a source that hangs is not asked to close either
    finally:
        hanging.release.set()


class Draining(BaseOutput):
    def __init__(self, name: str, log: list, takes: float) -> None:
        self.name, self.log, self.takes = name, log, takes

    def out(self, total, delta) -> None:
        self.log.append(("out", self.name, None))

    def drain(self, timeout_s: float) -> bool:
        self.log.append(("drain", self.name, timeout_s))
        threading.Event().wait(min(self.takes, timeout_s))
        return True


def test_flush_and_stop_drain_every_output_within_one_shared_deadline() -> None:
    log: list = []
    first, second = Draining("a", log, 0.3), Draining("b", log, 0.0)
    tracker = OfflineEmissionsTracker(output_handlers=[first, second], delivery_timeout_secs=1.0, **FAST)
    tracker.start()
    tracker.flush()
    assert [(kind, name) for kind, name, _ in log] == [("out", "a"), ("out", "b"), ("drain", "a"), ("drain", "b")]
    assert log[2][2] <= 1.0 and log[3][2] <= 1.0 - 0.29  # the second gets what the first left
    log.clear()
    tracker.stop()
    assert [(kind, name) for kind, name, _ in log] == [("out", "a"), ("out", "b"), ("drain", "a"), ("drain", "b")]


def test_an_output_without_drain_is_fine() -> None:
    class Old(BaseOutput):
        pass

    tracker = OfflineEmissionsTracker(output_handlers=[Old()], **FAST)
    tracker.start()
    assert tracker.flush() is not None
    assert tracker.stop() is not None


def test_synchronize_runs_before_the_counters_are_read_and_a_failing_one_is_logged_once(codecarbon_log) -> None:
    tracker = OfflineEmissionsTracker(**FAST)
    seen: list = []

    def synchronize() -> None:
        sampler = tracker._sampler
        seen.append(sampler.latest.ticks if sampler and sampler.latest else None)

    tracker.start_task("a", synchronize=synchronize)
    data = tracker.stop_task("a", synchronize=synchronize)
    assert data is not None and len(seen) == 2
    assert tracker.flush(synchronize=synchronize) is not None and len(seen) == 3

    def broken() -> None:
        raise RuntimeError("device lost")

    tracker.start_task("b", synchronize=broken)
    assert tracker.stop_task("b", synchronize=broken) is not None
    warnings = [r for r in codecarbon_log.records if "synchronize callable failed" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    tracker.stop()


def test_api_call_interval_counts_the_start_and_stop_measurements() -> None:
    """3.3.2: with api_call_interval=2 and no tick in between, the start and the stop make one live row."""

    class Live(BaseOutput):
        def __init__(self) -> None:
            self.calls: list[str] = []

        def live_out(self, total, delta) -> None:
            self.calls.append("live_out")

        def out(self, total, delta) -> None:
            self.calls.append("out")

    live = Live()
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=999, api_call_interval=2,
                                      output_handlers=[live])
    tracker.start()
    tracker.stop()
    assert live.calls == ["live_out", "out"]


def test_a_stop_interrupted_by_ctrl_c_completes_once_when_retried(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(tmp_path / "state"))

    class InterruptedOnce(BaseOutput):
        def __init__(self) -> None:
            self.raised = False

        def out(self, total, delta) -> None:
            if not self.raised:
                self.raised = True
                raise KeyboardInterrupt

    tracker = OfflineEmissionsTracker(output_handlers=[InterruptedOnce()], **FAST)
    tracker.start()
    threading.Event().wait(0.2)
    with pytest.raises(KeyboardInterrupt):
        tracker.stop()
    assert list((tmp_path / "state" / "runs").rglob("*.json"))  # the run is still recoverable meanwhile
    kg = tracker.stop()  # what the exit hook does
    assert kg == tracker.final_emissions and kg is not None
    assert [r["run_id"] for r in rows()] == [tracker.run_id]
    assert not list((tmp_path / "state" / "runs").rglob("*.json"))
    assert tracker.stop() == kg and len(rows()) == 1
