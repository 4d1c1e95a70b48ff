"""LoggerOutput with a real Python logger, GoogleCloudLoggerOutput with the real Cloud Logging Logger."""

from __future__ import annotations

import json
import logging

import pytest

from codecarbon.output_methods.emissions_data import CSV_COLUMNS
from codecarbon.output_methods.logger import GoogleCloudLoggerOutput, LoggerOutput
from tests.test_output_records import make_record


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def user_logger():
    logger = logging.getLogger("test-user-emissions")
    logger.setLevel(logging.DEBUG)
    handler = Collect()
    logger.addHandler(handler)
    yield logger, handler
    logger.removeHandler(handler)


def test_one_json_message_per_out_with_the_total_in_column_order(user_logger) -> None:
    logger, handler = user_logger
    total = make_record(latitude=float("nan"))
    LoggerOutput(logger, logging.WARNING).out(total, make_record(duration=1.0))
    [record] = handler.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "\n" not in message
    payload = json.loads(message)
    assert list(payload)[:len(CSV_COLUMNS)] == list(CSV_COLUMNS)
    assert payload["duration"] == 60.0 and payload["run_id"] == total.run_id and payload["latitude"] is None


def test_live_out_logs_too_and_level_is_an_alias(user_logger) -> None:
    logger, handler = user_logger
    output = LoggerOutput(logger, level="debug")
    output.live_out(make_record(), make_record())
    assert [r.levelno for r in handler.records] == [logging.DEBUG]


def test_bad_arguments_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="logging_logger"):
        LoggerOutput("not a logger")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="severity"):
        LoggerOutput(logging.getLogger("x"), severity="loud")
    with pytest.raises(ValueError, match="log_struct"):
        GoogleCloudLoggerOutput(logging.getLogger("x"))


class RecordingLoggingAPI:
    """Stands in for the client's transport (client.logging_api): records write_entries calls."""

    def __init__(self) -> None:
        self.calls: list[list[dict]] = []

    def write_entries(self, entries, **kwargs):
        self.calls.append(list(entries))


def test_google_cloud_logger_sends_a_structured_payload_with_severity_name() -> None:
    pytest.importorskip("google.cloud.logging_v2")
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.logging_v2.client import Client
    from google.cloud.logging_v2.logger import Logger

    client = Client(project="test", credentials=AnonymousCredentials(), _use_grpc=False)
    transport = RecordingLoggingAPI()
    client._logging_api = transport
    cloud_logger = Logger("codecarbon-emissions", client=client)
    total = make_record()
    output = GoogleCloudLoggerOutput(cloud_logger, logging.WARNING)
    output.out(total, make_record(duration=1.0))
    output.live_out(total, total)
    entries = [entry for call in transport.calls for entry in call  # the library adds a diagnostic entry once
               if "run_id" in entry.get("jsonPayload", {})]
    assert len(entries) == 2
    entry = entries[0]
    assert entry["severity"] == "WARNING"
    assert entry["logName"] == "projects/test/logs/codecarbon-emissions"
    payload = entry["jsonPayload"]
    assert payload["run_id"] == total.run_id and payload["duration"] == 60.0
    assert payload["country_iso_code"] == "FRA" and payload["cpu_measure"] == "rapl"


def test_a_users_logger_that_raises_is_caught_and_reported(codecarbon_log) -> None:
    class Broken(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise RuntimeError("disk quota exceeded in my handler")

    broken_logger = logging.getLogger("test-user-broken")
    broken_logger.propagate = False
    broken_logger.setLevel(logging.DEBUG)
    handler = Broken()
    broken_logger.addHandler(handler)
    try:
        output = LoggerOutput(broken_logger)
        output.out(make_record(), make_record())  # never raises into the user's code
        output.live_out(make_record(), make_record())
    finally:
        broken_logger.removeHandler(handler)
    errors = [r.getMessage() for r in codecarbon_log.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "disk quota exceeded in my handler" in errors[0]


def test_a_cloud_logger_that_raises_is_caught_too(codecarbon_log) -> None:
    class Failing:
        def log_struct(self, payload: dict, severity: str) -> None:
            raise ConnectionError("cloud logging unreachable")

    GoogleCloudLoggerOutput(Failing()).out(make_record(), make_record())
    assert "cloud logging unreachable" in codecarbon_log.text
