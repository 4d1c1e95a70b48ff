"""End to end: a real offline tracker writing to every network output at once."""

from __future__ import annotations

import csv
import json
import logging
import time
import uuid
from pathlib import Path

import pytest

from codecarbon.output_methods.delivery import UNDELIVERED_SUBDIR
from tests.fakes.pushgateway import pushgateway, pushgateway_available
from tests.fakes.servers import hanging_server, recording_server

tracker_module = pytest.importorskip("codecarbon.emissions_tracker")


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
            rows = list(csv.DictReader((tmp_path / "emissions.csv").open()))
            run_id = rows[-1]["run_id"]
            assert str(uuid.UUID(run_id)) == run_id  # never "None", never the API's id
            assert endpoint.received("/in")[0].body["run_id"] == run_id
            assert api.received("/runs") and api.received("/emissions")[0].body["run_id"] == "api-run-1"
            [(labels, _)] = gateway.samples("codecarbon_energy_total")
            assert labels["project"] == "e2e" and labels["country_iso_code"] == "FRA"
        report = json.loads((tmp_path / f"boamps_report_{run_id}.json").read_text())
        assert report["header"]["reportId"] == run_id
        assert json.loads(seen[-1])["run_id"] == run_id
        assert "secret-key-e2e" not in codecarbon_log.text
    finally:
        user_logger.removeHandler(handler)


def test_stop_is_bounded_when_every_endpoint_hangs(tmp_path: Path) -> None:
    with hanging_server() as url:
        tracker = tracker_module.OfflineEmissionsTracker(
            country_iso_code="FRA", measure_power_secs=0.1, output_dir=str(tmp_path),
            output_methods=["csv", "api", "prometheus"], api_endpoint=url, api_key="k",
            emissions_endpoint=url, prometheus_url=url, delivery_timeout_secs=2.0)
        tracker.start()
        time.sleep(1.1)
        started = time.monotonic()
        tracker.stop()
        assert time.monotonic() - started < 2.0 + 2.0  # one bound shared by the three network outputs
    assert (tmp_path / "emissions.csv").exists()
    saved = list((tmp_path / UNDELIVERED_SUBDIR).glob("*.jsonl"))
    assert {path.name.split("-")[0] for path in saved} == {"http", "api", "prometheus"}
