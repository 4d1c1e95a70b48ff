"""End to end: a real offline tracker writing to every network output at once."""

from __future__ import annotations

import csv
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.pushgateway import pushgateway, pushgateway_available
from tests.fakes.servers import hanging_server, recording_server
from tests.fakes.spool import private_state, spool_files

tracker_module = pytest.importorskip("codecarbon.emissions_tracker")


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from private_state(tmp_path, monkeypatch)


def test_a_run_reaches_every_output_and_keeps_its_own_run_id(tmp_path: Path, codecarbon_log) -> None:
    if not pushgateway_available():
        pytest.skip("prometheus-pushgateway not installed")
    user_logger = logging.getLogger("e2e-emissions")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    user_logger.addHandler(handler)
    user_logger.setLevel(logging.INFO)
    try:
        with recording_server() as api, recording_server() as endpoint, \
                pushgateway(tmp_path / "gateway") as gateway:
            tracker = tracker_module.OfflineEmissionsTracker(
                country_iso_code="FRA", measure_power_secs=0.1, api_call_interval=-1, output_dir=str(tmp_path),
                output_methods=["csv", "logger", "api", "prometheus", "boamps"], logging_logger=user_logger,
                api_endpoint=api.url, api_key="secret-key-e2e", experiment_id="exp-e2e",
                emissions_endpoint=endpoint.url + "/in", prometheus_url=gateway.url, project_name="e2e")
            tracker.start()
            time.sleep(1.2)
            tracker.stop()
            rows = list(csv.DictReader((tmp_path / "emissions.csv").read_text().splitlines()))
            run_id = rows[-1]["run_id"]
            assert str(uuid.UUID(run_id)) == run_id  # never "None", never the API's id
            assert endpoint.received("/in")[0].body["run_id"] == run_id
            assert api.received("/runs") and api.received("/emissions")[0].body["run_id"] == "api-run-1"
            [(labels, _)] = gateway.samples("codecarbon_energy_total")
            assert labels["job"] == "e2e_base" and labels["instance"] == tracker._output_handlers[-2].hostname
            assert labels["project_name"] == "e2e" and labels["country_iso_code"] == "FRA"
        report = json.loads((tmp_path / f"boamps_report_{run_id}.json").read_text())
        assert report["header"]["reportId"] == run_id
        assert json.loads(seen[-1])["run_id"] == run_id
        assert "secret-key-e2e" not in codecarbon_log.text
    finally:
        user_logger.removeHandler(handler)


def test_flush_means_flushed_csv_endpoint_and_pushgateway_hold_the_row_when_it_returns(tmp_path: Path) -> None:
    if not pushgateway_available():
        pytest.skip("prometheus-pushgateway not installed")
    with recording_server() as endpoint, pushgateway(tmp_path / "gateway") as gateway:
        tracker = tracker_module.OfflineEmissionsTracker(
            country_iso_code="FRA", measure_power_secs=0.1, api_call_interval=-1, output_dir=str(tmp_path),
            output_methods=["csv", "prometheus"], emissions_endpoint=endpoint.url + "/in",
            prometheus_url=gateway.url.removeprefix("http://"), project_name="flush me", experiment_name="e/1")
        tracker.start()
        try:
            time.sleep(0.3)
            tracker.flush()
            # no waiting loop: everything below was true the moment flush() returned
            rows = list(csv.DictReader((tmp_path / "emissions.csv").read_text().splitlines()))
            assert len(rows) == 1
            [received] = endpoint.received("/in")
            assert received.body["run_id"] == rows[0]["run_id"]
            [(labels, duration)] = gateway.samples("codecarbon_duration")
            assert labels["job"] == "flush_me_e_1" and duration == pytest.approx(float(rows[0]["duration"]))
        finally:
            tracker.stop()
    assert spool_files() == []


def test_stop_is_bounded_when_every_endpoint_hangs(tmp_path: Path) -> None:
    with hanging_server() as url:
        tracker = tracker_module.OfflineEmissionsTracker(
            country_iso_code="FRA", measure_power_secs=0.1, output_dir=str(tmp_path),
            output_methods=["csv", "api", "prometheus"], api_endpoint=url, api_key="k",
            emissions_endpoint=url, prometheus_url=url)  # the default bound: 2 s
        tracker.start()
        time.sleep(1.1)
        started = time.monotonic()
        tracker.stop()
        assert time.monotonic() - started < 2.0 + 1.5  # one bound shared by the three network outputs
    assert (tmp_path / "emissions.csv").exists()
    assert not (tmp_path / ".codecarbon" / "undelivered").exists()  # undelivered payloads are not the user's
    assert {path.name.split("-")[0] for path in spool_files()} == {"http", "api", "prometheus"}
