"""When the sampling thread wakes (issue 16): only as often as someone needs a reading, with the same rows.

Energy comes from cumulative counters, so a window read only at its ends has the energy of one read every
second; the thread wakes for live outputs, sources that integrate samples, a changing intensity, checkpoints and
counters that could wrap. These tests read the cadence the tracker chose and compare rows over fake hardware.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

from codecarbon import OfflineEmissionsTracker
from codecarbon.core.sampler import Sampler
from codecarbon.core.state import CHECKPOINT_MIN_EVERY_S
from codecarbon.emissions_tracker import IDLE_WAKE_S
from codecarbon.hardware import SystemSeams
from codecarbon.hardware.rapl import ASSUMED_MAX_ZONE_POWER_W, RaplSource, RaplZone, zone_wrap_seconds
from codecarbon.output_methods.base_output import BaseOutput
from tests.fakes.fake_pynvml import FakeGpu, FakeNVML, fake_uuid
from tests.fakes.sysfs import FakeSysfs

RANGE_UJ = 262_143_328_850


class LiveRows(BaseOutput):
    """A user output that wants every live row (as Prometheus or a timeline does)."""

    def __init__(self) -> None:
        self.live: list = []

    def live_out(self, total, delta) -> None:
        self.live.append(delta)


def machine(root: Path, *, with_gpu: bool = True) -> tuple[FakeSysfs, dict, SystemSeams]:
    fake = FakeSysfs(root)
    zones = {"package": fake.add_zone("intel-rapl:0", "package-0", energy_uj=RANGE_UJ - 2_000_000,
                                      max_range_uj=RANGE_UJ),
             "dram": fake.add_zone("intel-rapl:0:1", "dram", energy_uj=7, max_range_uj=RANGE_UJ)}
    gpus = [FakeGpu(uuid=fake_uuid(0), energy_mj=1_000)] if with_gpu else []
    seams = SystemSeams(sysfs_root=fake.sys, nvml=FakeNVML(gpus), environ={})
    zones["gpus"] = gpus
    return fake, zones, seams


def tracker_on(seams: SystemSeams, **arguments) -> OfflineEmissionsTracker:
    class FakeMachineTracker(OfflineEmissionsTracker):
        _system_seams = seams

    arguments.setdefault("country_iso_code", "FRA")
    return FakeMachineTracker(rapl_include_dram=True, **arguments)


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_counter_sources_and_a_csv_wake_for_checkpoints_only(tmp_path: Path) -> None:
    _, _, seams = machine(tmp_path / "root")
    tracker = tracker_on(seams, measure_power_secs=1)
    tracker.start()
    try:
        sampler = tracker._sampler
        assert {s.method for s in sampler.sources} == {"rapl", "rapl-dram", "nvml-energy"}
        assert sampler.interval == 1
        assert sampler.wake_every == max(1, CHECKPOINT_MIN_EVERY_S)  # not 30 wakes in 30 s: 6
    finally:
        tracker.stop()
    slow = tracker_on(seams, measure_power_secs=60)
    slow.start()
    try:
        assert slow._sampler.wake_every == 60  # never more often than asked
    finally:
        slow.stop()


def test_without_a_checkpoint_the_counter_wrap_bounds_the_sleep(tmp_path: Path) -> None:
    fake, _, seams = machine(tmp_path / "root", with_gpu=False)
    tracker = tracker_on(seams, measure_power_secs=1, output_methods=[])
    tracker.start()
    try:
        # the 262 kJ range at 500 W wraps in 524 s: read at least every half of that
        assert tracker._sampler.wake_every == pytest.approx(RANGE_UJ / 1e6 / ASSUMED_MAX_ZONE_POWER_W / 2)
    finally:
        tracker.stop()
    assert tracker._sampler.wake_every < IDLE_WAKE_S


def test_the_wrap_bound_takes_the_domains_stated_maximum_power(tmp_path: Path) -> None:
    fake = FakeSysfs(tmp_path / "root")
    fake.add_zone("intel-rapl:0", "package-0", energy_uj=0, max_range_uj=1_000_000_000)  # 1 kJ
    zone_dir = next((tmp_path / "root").rglob("intel-rapl:0/energy_uj")).parent
    zone = RaplZone(zone_dir, "intel-rapl", "0", "package-0", 1_000_000_000, True)
    assert zone_wrap_seconds(zone) == pytest.approx(1000 / ASSUMED_MAX_ZONE_POWER_W)
    (zone_dir / "constraint_0_max_power_uw").write_text("2000000000\n")  # a 2 kW domain wraps sooner
    assert zone_wrap_seconds(zone) == pytest.approx(0.5)
    assert RaplSource([zone]).max_read_gap_s() == pytest.approx(0.25)


def test_a_live_output_gets_every_interval(tmp_path: Path) -> None:
    _, _, seams = machine(tmp_path / "root")
    tracker = tracker_on(seams, measure_power_secs=1, output_handlers=[LiveRows()], api_call_interval=1)
    tracker.start()
    try:
        assert tracker._sampler.wake_every == 1
    finally:
        tracker.stop()


def test_a_load_model_source_gets_every_interval(tmp_path: Path) -> None:
    fake = FakeSysfs(tmp_path / "root")  # no RAPL: the CPU is a TDP model integrating load samples
    fake.write_cpuinfo("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz")
    fake.write_stat(100, 10, 1000)
    tracker = tracker_on(SystemSeams(sysfs_root=fake.sys, proc_root=fake.proc, nvml=FakeNVML([]), environ={}),
                         measure_power_secs=2)
    tracker.start()
    try:
        assert any(s.max_read_gap_s() == 0 for s in tracker._sampler.sources)
        assert tracker._sampler.wake_every == 2
    finally:
        tracker.stop()


def test_a_live_intensity_provider_needs_no_extra_wake(tmp_path: Path) -> None:
    # the charger splits each reading's energy across the provider's intervals by time (issue 14)
    _, _, seams = machine(tmp_path / "root")
    tracker = tracker_on(seams, measure_power_secs=1, electricitymaps_api_token="t0k3n")
    tracker.start()
    try:
        assert tracker._sampler.wake_every == max(1, CHECKPOINT_MIN_EVERY_S)
    finally:
        tracker.stop()


def _run(root: Path, csv_name: str, dense: bool) -> dict[str, str]:
    """One run over fresh fake hardware; ``dense`` reads at every step (as a 1 s tick would), else only the ends."""
    _, zones, seams = machine(root)
    extra = {"output_handlers": [LiveRows()], "api_call_interval": 1} if dense else {}
    tracker = tracker_on(seams, measure_power_secs=3600, output_file=csv_name, **extra)
    tracker.start()
    for step in range(40):  # the package counter wraps on the way (it starts 2 J below its range)
        zones["package"].advance(1_234_567 + 7 * step)
        zones["dram"].advance(345_679 + step)
        zones["gpus"][0].advance(12.345 + step / 1000)
        if dense:
            tracker._sampler.read()
    tracker.stop()
    return rows(Path(csv_name))[-1]


def test_rows_are_the_same_whether_read_every_step_or_only_at_the_ends(tmp_path: Path) -> None:
    sparse = _run(tmp_path / "a", "sparse.csv", dense=False)
    dense = _run(tmp_path / "b", "dense.csv", dense=True)
    for column in ("cpu_energy", "gpu_energy", "ram_energy", "energy_consumed"):
        assert sparse[column] == dense[column], column  # to the last digit
    # emissions are folded per reading (each step at the intensity of its moment): equal up to rounding
    assert float(sparse["emissions"]) == pytest.approx(float(dense["emissions"]), rel=1e-12)
    assert float(sparse["cpu_energy"]) > 0 and float(sparse["gpu_energy"]) > 0


def test_ticks_slower_than_asked_give_a_warning_not_a_silent_clamp(codecarbon_log) -> None:
    class Slow:
        component, method = "cpu", "slow"

        def open(self) -> None:
            pass

        def read_joules(self) -> float:
            import time

            time.sleep(0.004)  # a read slower than the 1 ms asked for
            return 0.0

        def max_read_gap_s(self) -> float:
            return 0.0

        def close(self) -> None:
            pass

    sampler = Sampler([Slow()], interval=0.001, intensity_g_per_kwh=lambda: 100.0)  # type: ignore[list-item]
    sampler.open()
    sampler.start()
    try:
        for _ in range(200):
            if "asks for more readings than this machine gives" in codecarbon_log.text:
                break
            sampler.read()  # each read waits for the thread: progress without sleeping on a clock
    finally:
        sampler.stop()
    assert "measure_power_secs=0.001 asks for more readings than this machine gives" in codecarbon_log.text
    assert sum("asks for more readings" in r.getMessage() for r in codecarbon_log.records
               if r.levelno == logging.WARNING) == 1


def test_start_does_not_wait_for_an_online_location_still_on_its_way(tmp_path: Path) -> None:
    import threading

    from codecarbon import EmissionsTracker
    from codecarbon.intensity.location import resolve_offline_location

    _, _, seams = machine(tmp_path / "root")
    answer = threading.Event()

    class SlowToLocate(EmissionsTracker):
        _system_seams = seams

        def _get_geo_metadata(self):
            answer.wait(30)  # the geolocation service has not answered yet
            return resolve_offline_location("FRA")

    tracker = SlowToLocate(measure_power_secs=1, rapl_include_dram=True, log_level="error")
    tracker.start()  # returns while the warm-up still waits for the location: start() needs only the counters
    try:
        assert tracker._run is not None and not tracker._location_future.done()
        assert tracker._sampler.wake_every == max(1, CHECKPOINT_MIN_EVERY_S)
    finally:
        answer.set()
        tracker.stop()
    assert tracker.final_emissions_data.country_iso_code == "FRA"
