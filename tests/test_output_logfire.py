"""LogfireOutput with the real Logfire SDK, sending off, read back through an in-memory metric reader."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.test_output_records import make_record

logfire = pytest.importorskip("logfire")


def collected(reader) -> dict[str, list]:
    points: dict[str, list] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points.setdefault(metric.name, []).extend(metric.data.data_points)
    return points


@pytest.fixture(scope="module")
def reader():
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    memory = InMemoryMetricReader()
    logfire.configure(send_to_logfire=False, console=False,
                      metrics=logfire.MetricsOptions(additional_readers=[memory]))
    return memory


def test_counters_add_each_window_and_gauges_hold_the_latest(reader) -> None:
    from codecarbon.output_methods.metrics.logfire import LogfireOutput

    output = LogfireOutput()  # Logfire is configured already: our output must keep that configuration
    total = make_record(project_name="logfire-test")
    output.live_out(total, replace(total, duration=10.0, cpu_power=20.0, energy_consumed=0.001))
    output.out(total, replace(total, duration=5.0, cpu_power=25.0, energy_consumed=0.002))
    points = collected(reader)

    def ours(name: str) -> list:
        return [p for p in points[name] if p.attributes.get("project_name") == "logfire-test"]

    [duration] = ours("codecarbon_duration")
    assert duration.value == pytest.approx(15.0)
    assert ours("codecarbon_energy_consumed")[0].value == pytest.approx(0.003)
    assert ours("codecarbon_cpu_power")[0].value == 25.0
    attributes = ours("codecarbon_cpu_power")[0].attributes
    assert attributes["country_iso_code"] == "FRA" and attributes["gpu_count"] == "1"
    for name in ("codecarbon_emissions", "codecarbon_emissions_rate", "codecarbon_gpu_power",
                 "codecarbon_ram_power", "codecarbon_cpu_energy", "codecarbon_gpu_energy", "codecarbon_ram_energy"):
        assert ours(name), name


def test_unconfigured_logfire_is_configured_without_sending(tmp_path: Path) -> None:
    script = (
        "import logfire\n"
        "from codecarbon.output_methods.metrics.logfire import LogfireOutput, logfire_is_configured\n"
        "from tests.test_output_records import make_record\n"
        "assert not logfire_is_configured(logfire)\n"
        "output = LogfireOutput()\n"
        "assert logfire_is_configured(logfire)\n"
        "record = make_record()\n"
        "output.out(record, record)\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGFIRE_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
