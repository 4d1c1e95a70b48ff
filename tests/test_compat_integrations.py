"""How real integrations call the tracker, each checked against CodeCarbon 3.3.2's behaviour (issue 13, part 1),
and start() being all or nothing (part 2)."""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from codecarbon import OfflineEmissionsTracker
from codecarbon.core.parameters import MIN_MEASURE_POWER_SECS
from codecarbon.hardware.base import EnergySource
from codecarbon.support.errors import ConfigError
from tests.fakes.servers import loopback_url, serve_on_loopback, stop_serving

REPO = Path(__file__).resolve().parents[1]
FAST = dict(country_iso_code="FRA", measure_power_secs=0.1, force_cpu_power=100.0, force_ram_power=10.0)


def rows(path: Path = Path("emissions.csv")) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def burn(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        math.sqrt(12345.6789)


class SchedulerTask:
    """What a scheduling library passes as the project name: an object with a readable str()."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return f"task:{self.name}"


# --- names given as objects ---------------------------------------------------------------------------------
def test_any_object_as_project_and_experiment_name_is_written_as_its_str() -> None:
    tracker = OfflineEmissionsTracker(project_name=SchedulerTask("nightly"), experiment_name=SchedulerTask("e1"),
                                      **FAST)
    tracker.start()
    tracker.start_task("step")
    burn(0.05)
    tracker.stop_task("step")
    tracker.stop()
    (row,) = rows()
    assert row["project_name"] == "task:nightly"  # 3.3.2 writes the same cell
    assert tracker._project_name == "task:nightly" and tracker._experiment_name == "task:e1"
    assert Path(f"emissions_task:e1_{row['run_id']}.csv").is_file()


def test_a_name_whose_str_raises_is_a_configuration_error_naming_the_parameter() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no name")

    with pytest.raises(ConfigError, match=r"^project_name \(from the argument\): expected a string"):
        OfflineEmissionsTracker(project_name=Broken(), **FAST)


# --- measure_power_secs=0 -----------------------------------------------------------------------------------
def test_measure_power_secs_zero_is_accepted_with_one_warning_and_runs_at_the_minimum(codecarbon_log) -> None:
    # CodeCarbon's examples/print_hardware.py builds such a tracker and only asks it what hardware it sees
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0)
    assert tracker.get_detected_hardware()["cpu_count"] >= 1
    assert tracker._measure_power_secs == 0  # read back as given, as 3.3.2 does
    warned = [r for r in codecarbon_log.records if "below the minimum" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    assert f"every {MIN_MEASURE_POWER_SECS:g} s" in warned[0].getMessage()

    tracker.start()
    assert tracker._sampler is not None and tracker._sampler.interval == MIN_MEASURE_POWER_SECS
    burn(0.1)
    assert tracker.stop() > 0
    (row,) = rows()
    assert float(row["energy_consumed"]) > 0
    again = [r for r in codecarbon_log.records if "below the minimum" in r.getMessage()]
    assert len(again) == 1  # one warning, not one per tick as 3.3.2's scheduler gives


def test_a_negative_measure_power_secs_is_still_refused() -> None:
    with pytest.raises(ConfigError, match=r"^measure_power_secs \(from the argument\)"):
        OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=-1)


# --- a stopped tracker started again --------------------------------------------------------------------------
def test_per_test_differences_of_one_trackers_cumulative_rows_are_never_negative() -> None:
    """The pattern of a pytest plugin: one tracker, start()/stop() around each test, differences of its rows."""
    tracker = OfflineEmissionsTracker(**FAST)
    began = time.monotonic()
    for test in range(3):
        if test:
            time.sleep(0.2)  # between two tests: not measured
        tracker.start()
        burn(0.15)
        tracker.stop()
    elapsed = time.monotonic() - began
    first, second, third = rows()
    assert first["run_id"] == second["run_id"] == third["run_id"]
    for earlier, later in ((first, second), (second, third)):
        for column in ("energy_consumed", "cpu_energy", "ram_energy", "emissions", "duration"):
            assert float(later[column]) - float(earlier[column]) > 0, column
    measured = float(third["duration"])
    assert measured <= elapsed - 0.4  # the two pauses are not in the run's duration
    assert float(third["ram_energy"]) == pytest.approx(10.0 * measured / 3600 / 1000, rel=1e-3)


def test_continued_run_in_update_mode_keeps_one_row_holding_the_total() -> None:
    tracker = OfflineEmissionsTracker(on_csv_write="update", **FAST)
    tracker.start()
    burn(0.1)
    first = tracker.stop()
    tracker.start()
    burn(0.1)
    total = tracker.stop()
    (row,) = rows()
    assert first is not None and total is not None and total > first
    assert float(row["emissions"]) == pytest.approx(total)


def test_a_continued_run_keeps_the_tasks_of_its_earlier_stretch() -> None:
    tracker = OfflineEmissionsTracker(**FAST)
    tracker.start()
    tracker.start_task("load")
    burn(0.05)
    tracker.stop_task("load")
    tracker.stop()
    tracker.start()
    tracker.start_task("train")
    burn(0.05)
    tracker.stop_task("train")
    tracker.stop()
    tasks = rows(Path(f"emissions_base_{tracker.run_id}.csv"))
    assert [t["task_name"] for t in tasks] == ["load", "train"]
    assert all(float(t["energy_consumed"]) > 0 for t in tasks)


# --- 3.x code writing tracker._<setting> --------------------------------------------------------------------
def test_writes_to_setting_attributes_show_in_the_next_row(codecarbon_log) -> None:
    tracker = OfflineEmissionsTracker(project_name="before", **FAST)
    tracker.start()
    tracker.flush()
    tracker._project_name = "after"
    tracker._experiment_id = "0f2c9a7e-1111-4222-8333-944455556666"
    tracker._experiment_name = SchedulerTask("renamed")
    tracker.stop()
    flushed, final = rows()
    assert flushed["project_name"] == "before" and final["project_name"] == "after"
    assert final["experiment_id"] == "0f2c9a7e-1111-4222-8333-944455556666"
    assert tracker._conf["project_name"] == "after" and tracker._experiment_name == "task:renamed"


def test_a_written_setting_is_parsed_like_the_argument_and_nonsense_is_refused(codecarbon_log) -> None:
    tracker = OfflineEmissionsTracker(**FAST)
    tracker._measure_power_secs = "0.2"
    assert tracker._measure_power_secs == 0.2
    with pytest.raises(ConfigError, match=r"^_pue \(set on the tracker\)"):
        tracker._pue = -1
    assert tracker._pue == 1.0
    tracker._output_dir = "/elsewhere"  # outputs were built at construction: said once, not silently ignored
    assert any("_output_dir was set" in r.getMessage() for r in codecarbon_log.records)
    tracker.start()
    assert tracker._sampler is not None and tracker._sampler.interval == 0.2  # read again at start()
    tracker.stop()
    assert Path("emissions.csv").is_file()


# --- GeoMetadata.from_geo_js and DataSource().geo_js_url -------------------------------------------------------
GEOJS_PARIS = {"country_code3": "FRA", "country": "France", "region": "Île-de-France", "latitude": "48.8582",
               "longitude": "2.3387", "country_code": "FR", "ip": "192.0.2.1"}
IPINFO_MONTREAL = {"ip": "192.0.2.2", "city": "Montréal", "region": "Quebec", "country": "CA",
                   "loc": "45.5088,-73.5878"}


@pytest.fixture
def geo_server() -> Iterator[dict]:
    """A local server speaking get.geojs.io's and ipinfo.io's replies; ``routes`` maps a path to (status, body)."""
    routes: dict[str, tuple[int, object]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook
            status, body = routes.get(self.path, (404, {}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = serve_on_loopback(Handler)
    try:
        yield {"base": loopback_url(server), "routes": routes}
    finally:
        stop_serving(server)


def test_data_source_names_the_geolocation_service_the_tracker_asks() -> None:
    from codecarbon.input import DataSource
    from codecarbon.intensity.geolocation import GEOJS_URL

    assert DataSource().geo_js_url == GEOJS_URL == "https://get.geojs.io/v1/ip/geo.json"


def test_from_geo_js_reads_the_services_reply(geo_server, monkeypatch) -> None:
    from codecarbon.external.geography import GeoMetadata
    from codecarbon.intensity import geolocation

    geo_server["routes"]["/v1/ip/geo.json"] = (200, GEOJS_PARIS)
    monkeypatch.setattr(geolocation, "IPINFO_URL", geo_server["base"] + "/json")  # must not be needed
    geo = GeoMetadata.from_geo_js(geo_server["base"] + "/v1/ip/geo.json")
    assert geo == GeoMetadata(country_iso_code="FRA", country_name="France", region="île-de-france",
                              latitude=48.8582, longitude=2.3387, country_2letter_iso_code="FR")


def test_from_geo_js_falls_back_to_ipinfo_then_says_the_location_is_unknown(geo_server, monkeypatch,
                                                                             codecarbon_log) -> None:
    from codecarbon.external.geography import GeoMetadata
    from codecarbon.intensity import geolocation

    geo_server["routes"]["/v1/ip/geo.json"] = (500, {"error": "down"})
    geo_server["routes"]["/json"] = (200, IPINFO_MONTREAL)
    monkeypatch.setattr(geolocation, "IPINFO_URL", geo_server["base"] + "/json")
    geo = GeoMetadata.from_geo_js(geo_server["base"] + "/v1/ip/geo.json")
    assert (geo.country_iso_code, geo.country_name, geo.region) == ("CAN", "Canada", "quebec")
    assert (geo.latitude, geo.longitude, geo.country_2letter_iso_code) == (45.5088, -73.5878, "CA")

    geo_server["routes"]["/json"] = (429, {"error": "rate limited"})
    unknown = GeoMetadata.from_geo_js(geo_server["base"] + "/v1/ip/geo.json")
    assert unknown == GeoMetadata()  # never a made-up country (3.3.2 answers Canada here)
    assert any(r.levelno == logging.WARNING and "unknown" in r.getMessage() for r in codecarbon_log.records)


# --- start() all or nothing -------------------------------------------------------------------------------------
class InterruptedOpen(EnergySource):
    """A source whose baseline is interrupted (Ctrl-C while start() reads the counters)."""

    component = "gpu"
    method = "interrupted"

    def open(self) -> None:
        raise KeyboardInterrupt

    def read_joules(self) -> float:
        return 0.0


class FailsOnce(OfflineEmissionsTracker):
    """The real tracker with one more source, interrupted at its first start only."""

    failures = 1

    def _claim_devices(self, hardware):
        sources = super()._claim_devices(hardware)
        if FailsOnce.failures:
            FailsOnce.failures -= 1
            return [*sources, InterruptedOpen()]
        return sources


JOB_ENV = {"SLURM_JOB_ID": "913", "SLURM_PROCID": "0", "SLURM_NTASKS": "2"}


def another_process_can_take(lock_path: Path) -> bool:
    code = ("from pathlib import Path; from codecarbon.hardware.ownership import OwnedLock;"
            f"print(OwnedLock.acquire(Path({str(lock_path)!r})) is not None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    return done.stdout.strip() == "True"


def test_a_start_interrupted_part_way_gives_back_its_locks_claims_and_sources(tmp_path, monkeypatch) -> None:
    from codecarbon.core.job import detect_job

    state = tmp_path / "state"
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(state))
    for name, value in JOB_ENV.items():
        monkeypatch.setenv(name, value)
    FailsOnce.failures = 1
    tracker = FailsOnce(allow_multiple_runs=False, **FAST)
    with pytest.raises(KeyboardInterrupt):
        tracker.start()
    assert tracker._run is None and tracker.run_id is None
    # nothing of it is held: another process of the job can own the host, another tracker can take the machine
    assert another_process_can_take(state / detect_job(JOB_ENV).host_key() / "host.lock")
    other = OfflineEmissionsTracker(allow_multiple_runs=False, output_file="other.csv", **FAST)
    other.start()
    assert other._run is not None
    other.stop()
    # and the process has not locked itself out: the same tracker starts and measures
    tracker.start()
    burn(0.1)
    assert tracker.stop() > 0
    assert len(rows()) == 1 and rows(Path("other.csv"))[0]["run_id"] != rows()[0]["run_id"]


class LateFailure(OfflineEmissionsTracker):
    """The real tracker whose last preparation step fails once (a full disk while making the checkpoint), after
    the machine lock, the device claims, the sources and the checkpoint were taken."""

    failures = 1

    def _prepare_checkpoint(self) -> None:
        super()._prepare_checkpoint()
        if LateFailure.failures:
            LateFailure.failures -= 1
            raise OSError(28, "No space left on device")


def test_a_start_failing_at_a_later_step_leaves_nothing_running(tmp_path, monkeypatch, codecarbon_log) -> None:
    from codecarbon.core.job import detect_job

    state = tmp_path / "state"
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(state))
    for name, value in JOB_ENV.items():
        monkeypatch.setenv(name, value)
    LateFailure.failures = 1
    tracker = LateFailure(allow_multiple_runs=False, **FAST)
    tracker.start()  # never raises into user code: logged
    assert tracker._run is None
    assert any("could not start tracking" in r.getMessage() and "No space" in r.getMessage()
               for r in codecarbon_log.records)
    assert not [t for t in threading.enumerate() if t.name == "codecarbon-sampler" and t.is_alive()]
    time.sleep(0.3)  # a sampler left running would checkpoint the run within a tick (0.1 s)
    assert not [p for p in state.rglob("*.json") if p.parent.name != detect_job(JOB_ENV).host_key()]
    assert another_process_can_take(state / detect_job(JOB_ENV).host_key() / "host.lock")
    assert tracker.stop() is None and not Path("emissions.csv").exists()
    tracker.start()
    assert tracker._run is not None
    assert tracker.stop() > 0 and len(rows()) == 1
