"""The otel output with the real OpenTelemetry SDK and OTLP encoder, into an OTLP/HTTP receiver on 127.0.0.1 that
decodes the protobuf with the official opentelemetry-proto classes; then collectors that hang, refuse or fail."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.fakes.otlp import Point, decode, otlp_receiver
from tests.fakes.servers import free_port, hanging_server
from tests.fakes.spool import private_state, spool_files, spooled
from tests.test_output_records import make_record

pytest.importorskip("opentelemetry.sdk.metrics")
pytest.importorskip("opentelemetry.exporter.otlp.proto.common.metrics_encoder")
pytest.importorskip("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2")

from codecarbon.output_methods.metrics.otel import OtelOutput, otlp_url  # noqa: E402
from codecarbon.support.errors import ConfigError  # noqa: E402

J_PER_KWH = 3.6e6
OTEL_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS",
                  "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_PROTOCOL",
                  "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SERVICE_NAME",
                  "K8S_POD_NAME", "POD_NAME", "K8S_NAMESPACE_NAME", "K8S_NAMESPACE", "POD_NAMESPACE", "K8S_NODE_NAME",
                  "NODE_NAME")


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield from private_state(tmp_path, monkeypatch)


def by_name(points: list[Point], name: str) -> list[Point]:
    return [p for p in points if p.name == name]


def component(points: list[Point], name: str, hw_type: str) -> Point:
    [point] = [p for p in by_name(points, name) if p.attributes.get("hw.type") == hw_type]
    return point


def test_a_window_arrives_with_semantic_names_units_attributes_and_values(monkeypatch) -> None:
    monkeypatch.setenv("K8S_POD_NAME", "trainer-0")
    monkeypatch.setenv("POD_NAMESPACE", "ml")
    monkeypatch.setenv("NODE_NAME", "gpu-node-7")
    total = make_record(project_name="fleet-demo", scheduler="slurm", job_id="4242", rank="3", node_name="n7")
    delta = replace(total, duration=60.0, cpu_energy=0.0005, gpu_energy=0.0016667, ram_energy=0.0000833,
                    cpu_power=30.0, gpu_power=100.0, ram_power=5.0, emissions=0.0001, energy_consumed=0.00225,
                    carbon_intensity=44.4)
    with otlp_receiver() as receiver:
        output = OtelOutput(receiver.url, "authorization=Bearer%20abc,x-tenant=blue", hostname="gpu-node-7")
        output.out(total, delta)
        assert output.drain(5.0)
        output.exit()
        points = receiver.latest()
        assert receiver.paths == ["/v1/metrics"]
        sent = receiver.headers[0]
        assert sent["content-type"] == "application/x-protobuf"
        assert sent["authorization"] == "Bearer abc" and sent["x-tenant"] == "blue"

    energy = component(points, "hw.energy", "cpu")
    assert energy.unit == "J" and energy.kind == "sum" and energy.monotonic
    assert energy.value == pytest.approx(0.0005 * J_PER_KWH)
    assert energy.attributes == {"hw.type": "cpu", "hw.id": "cpu", "codecarbon.measure": "rapl"}
    assert component(points, "hw.energy", "gpu").value == pytest.approx(0.0016667 * J_PER_KWH)
    assert component(points, "hw.energy", "memory").value == pytest.approx(0.0000833 * J_PER_KWH)
    power = component(points, "hw.power", "gpu")
    assert power.unit == "W" and power.kind == "gauge" and power.value == 100.0
    assert power.attributes["codecarbon.measure"] == "nvml-energy"
    [host] = by_name(points, "hw.host.energy")
    assert host.unit == "J" and host.monotonic and host.attributes == {}
    assert host.value == pytest.approx((0.0005 + 0.0016667 + 0.0000833) * J_PER_KWH)
    [host_power] = by_name(points, "hw.host.power")
    assert host_power.value == pytest.approx(135.0)
    [emissions] = by_name(points, "codecarbon.emissions")
    assert emissions.unit == "kg{CO2eq}" and emissions.monotonic and emissions.value == pytest.approx(0.0001)
    [intensity] = by_name(points, "codecarbon.carbon_intensity")
    assert intensity.unit == "g{CO2eq}/kW.h" and intensity.kind == "gauge" and intensity.value == 44.4
    [duration] = by_name(points, "codecarbon.duration")
    assert duration.unit == "s" and duration.value == 60.0

    resource = energy.resource
    assert resource["service.name"] == "fleet-demo" and resource["host.name"] == "gpu-node-7"
    assert resource["codecarbon.job.scheduler"] == "slurm" and resource["codecarbon.job.id"] == "4242"
    assert resource["codecarbon.job.rank"] == "3" and resource["codecarbon.job.node"] == "n7"
    assert resource["k8s.pod.name"] == "trainer-0" and resource["k8s.namespace.name"] == "ml"
    assert resource["k8s.node.name"] == "gpu-node-7"
    assert resource["telemetry.sdk.name"] == "opentelemetry"


def test_counters_are_cumulative_and_gauges_hold_the_latest_window() -> None:
    total = make_record(project_name="cumulative")
    with otlp_receiver() as receiver:
        output = OtelOutput(receiver.url)
        output.live_out(total, replace(total, cpu_energy=0.001, cpu_power=10.0, emissions=0.002, duration=5.0))
        assert output.drain(5.0)
        first = receiver.latest()
        output.out(total, replace(total, cpu_energy=0.003, cpu_power=40.0, emissions=0.001, duration=7.0))
        assert output.drain(5.0)
        second = receiver.latest()
    assert component(first, "hw.energy", "cpu").value == pytest.approx(0.001 * J_PER_KWH)
    after = component(second, "hw.energy", "cpu")
    assert after.value == pytest.approx(0.004 * J_PER_KWH)
    assert by_name(second, "codecarbon.emissions")[0].value == pytest.approx(0.003)
    assert by_name(second, "codecarbon.duration")[0].value == pytest.approx(12.0)
    assert component(second, "hw.power", "cpu").value == 40.0


def test_counters_reach_the_total_of_a_run_settled_upward() -> None:
    """The run's total at stop() (settled from the provider's history) can exceed the sum of its windows."""
    total = make_record(project_name="settled", emissions=0.001, cpu_energy=0.002)
    with otlp_receiver() as receiver:
        output = OtelOutput(receiver.url)
        output.live_out(total, total)
        output.out(replace(total, emissions=0.0025, cpu_energy=0.004),
                   replace(total, emissions=0.0012, cpu_energy=0.002))  # the last window: 2.2 g; the run: 2.5 g
        output.out(replace(total, emissions=0.0024, cpu_energy=0.004),
                   replace(total, emissions=0.0, cpu_energy=0.0))  # settled lower later: never backwards
        assert output.drain(5.0)
        points = receiver.latest()
    assert by_name(points, "codecarbon.emissions")[0].value == pytest.approx(0.0025)
    assert component(points, "hw.energy", "cpu").value == pytest.approx(0.004 * J_PER_KWH)


def test_a_collector_that_comes_back_gets_the_snapshot_it_missed() -> None:
    total = make_record(project_name="retried")
    with otlp_receiver(fail_first=2) as receiver:
        output = OtelOutput(receiver.url)
        output.out(total, replace(total, cpu_energy=0.002))
        assert output.drain(10.0)  # retried within the bound after two 503 answers
        assert len(receiver.paths) == 3 and receiver.requests() == 1
        assert component(receiver.latest(), "hw.energy", "cpu").value == pytest.approx(0.002 * J_PER_KWH)
    assert spool_files() == []


def test_a_refused_snapshot_is_sent_by_the_next_output_for_that_collector(tmp_path: Path) -> None:
    total = make_record(project_name="spooled")
    with otlp_receiver(status=500) as failing:
        output = OtelOutput(failing.url)
        output.out(total, replace(total, cpu_energy=0.003))
        assert not output.drain(0.5)
        url = failing.url
    assert [p.name.split("-")[0] for p in spool_files()] == ["otel"]
    from tests.fakes.otlp import Receiver

    receiver = Receiver().start(port=int(url.rsplit(":", 1)[1]))  # the collector is back, on the same address
    try:
        again = OtelOutput(url)  # a later process for the same collector takes the saved snapshot over
        assert again.drain(10.0)
        assert component(receiver.latest(), "hw.energy", "cpu").value == pytest.approx(0.003 * J_PER_KWH)
    finally:
        receiver.stop()
    assert spool_files() == []


def test_the_standard_variables_choose_endpoint_headers_and_resource(monkeypatch) -> None:
    with otlp_receiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url + "/")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cret")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,k8s.cluster.name=east")
        output = OtelOutput()
        total = make_record(project_name="from-env")
        output.out(total, total)
        assert output.drain(5.0)
        points = receiver.latest()
        assert receiver.paths == ["/v1/metrics"] and receiver.headers[0]["api-key"] == "s3cret"
    resource = points[0].resource
    assert resource["deployment.environment"] == "prod" and resource["k8s.cluster.name"] == "east"
    assert resource["service.name"] == "from-env"
    assert "s3cret" not in repr(output)


def test_urls_and_protocols_follow_the_exporter_rules(monkeypatch) -> None:
    assert otlp_url("collector:4318", {}) == "http://collector:4318/v1/metrics"
    assert otlp_url("https://otel.example.org/custom/path", {}) == "https://otel.example.org/custom/path"
    assert otlp_url(None, {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://a:1/m"}) == "http://a:1/m"
    assert otlp_url(None, {}) == "http://localhost:4318/v1/metrics"
    with pytest.raises(ConfigError, match="otel_endpoint"):
        OtelOutput("ftp://nowhere")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        OtelOutput("localhost:4318")


def test_a_tracker_run_matches_its_csv_row(tmp_path: Path) -> None:
    from codecarbon.emissions_tracker import OfflineEmissionsTracker

    with otlp_receiver() as receiver:
        tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.1, api_call_interval=-1,
                                          output_dir=str(tmp_path), output_methods=["csv", "otel"],
                                          otel_endpoint=receiver.url, otel_headers="authorization=Bearer t",
                                          project_name="otel-run")
        tracker.start()
        time.sleep(0.6)
        tracker.stop()
        points = receiver.latest()
        assert receiver.headers[-1]["authorization"] == "Bearer t"
    [row] = list(csv.DictReader((tmp_path / "emissions.csv").read_text().splitlines()))
    components = {"cpu": "cpu", "gpu": "gpu", "memory": "ram"}
    for hw_type, column in components.items():
        expected = float(row[f"{column}_energy"]) * J_PER_KWH
        found = [p.value for p in by_name(points, "hw.energy") if p.attributes["hw.type"] == hw_type]
        assert found == ([pytest.approx(expected, rel=1e-9)] if expected > 0 else [])  # no GPU here: no series
    host = sum(float(row[f"{c}_energy"]) for c in components.values()) * J_PER_KWH
    assert by_name(points, "hw.host.energy")[0].value == pytest.approx(host, rel=1e-9)
    assert by_name(points, "codecarbon.emissions")[0].value == pytest.approx(float(row["emissions"]), rel=1e-9)
    assert by_name(points, "codecarbon.duration")[0].value == pytest.approx(float(row["duration"]), rel=1e-9)
    assert points[0].resource["service.name"] == "otel-run"
    assert spool_files() == []


@pytest.mark.parametrize("collector", ["hangs", "refuses", "answers 500"])
def test_a_dead_collector_never_holds_stop_past_the_bound(tmp_path: Path, collector: str) -> None:
    from codecarbon.emissions_tracker import OfflineEmissionsTracker

    def run(url: str) -> float:
        tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.1, api_call_interval=-1,
                                          output_dir=str(tmp_path), output_methods=["csv", "otel"],
                                          otel_endpoint=url, delivery_timeout_secs=1.0)
        tracker.start()
        time.sleep(0.3)
        started = time.monotonic()
        tracker.stop()
        return time.monotonic() - started

    if collector == "hangs":
        with hanging_server() as url:
            took = run(url)
    elif collector == "refuses":
        took = run(f"http://127.0.0.1:{free_port()}")
    else:
        with otlp_receiver(status=500) as receiver:
            took = run(receiver.url)
            assert receiver.requests() == 0 and receiver.paths  # it was tried, and refused with a 500
    assert took < 1.0 + 1.5
    assert (tmp_path / "emissions.csv").exists()
    [saved] = spooled()  # the snapshot waits in the state directory for the collector to come back
    assert [path.name.split("-")[0] for path in spool_files()] == ["otel"]
    assert {p.name for p in decode(__import__("base64").b64decode(saved["payload"]["body"]))} >= {
        "hw.energy", "hw.host.energy", "codecarbon.emissions"}


def test_importing_codecarbon_loads_no_opentelemetry() -> None:
    code = ("import sys, codecarbon\n"
            "from codecarbon import EmissionsTracker\n"
            "t = codecarbon.OfflineEmissionsTracker(country_iso_code='FRA', output_methods=['csv'])\n"
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_the_extra_the_run_goes_on_with_one_warning(tmp_path: Path) -> None:
    code = ("import sys, logging\n"
            "sys.modules['opentelemetry.sdk.metrics'] = None\n"
            "logging.basicConfig(level=logging.WARNING)\n"
            "from codecarbon import OfflineEmissionsTracker\n"
            f"t = OfflineEmissionsTracker(country_iso_code='FRA', output_dir={str(tmp_path)!r}, "
            "output_methods=['csv', 'otel'], measure_power_secs=0.1)\n"
            "print([type(o).__name__ for o in t._output_handlers])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['FileOutput']"
    assert result.stderr.count("codecarbon[otel]") == 1
