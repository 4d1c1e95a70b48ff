"""The /metrics endpoint scraped by a real Prometheus server (Debian's ``prometheus``), queried over its HTTP API
and checked against the CSV rows of the same runs; then every query of the Grafana dashboard, and the fleet
PromQL of docs/fleet.md."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from codecarbon.output_methods.metrics import all_labelnames
from codecarbon.output_methods.metrics.scrape import PrometheusScrapeOutput, serve, stop_serving
from codecarbon.support.errors import ConfigError
from tests.fakes.prometheus_server import SCRAPE_JOB, prometheus_available, prometheus_server
from tests.fakes.servers import free_port
from tests.fakes.spool import private_state
from tests.test_output_records import make_record

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "examples" / "grafana" / "codecarbon.json"
needs_prometheus = pytest.mark.skipif(not prometheus_available(), reason="prometheus (Debian package) not installed")


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from private_state(tmp_path, monkeypatch)


def rows_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))


def scrape_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode("utf-8")


def samples(url: str, name: str) -> list[tuple[dict[str, str], float]]:
    from prometheus_client.parser import text_string_to_metric_families

    return [(dict(s.labels), float(s.value)) for family in text_string_to_metric_families(scrape_text(url))
            for s in family.samples if s.name == name]


# ------------------------------------------------------------------------------------- the endpoint by itself
def test_the_endpoint_binds_localhost_and_counters_never_go_backwards() -> None:
    output = PrometheusScrapeOutput(0)
    try:
        assert output.endpoint.host == "127.0.0.1" and output.url.startswith("http://127.0.0.1:")
        total = make_record(project_name="monotonic")
        output.live_out(total, make_record(energy_consumed=0.002, emissions=0.001, cpu_power=12.0))
        first = samples(output.url, "codecarbon_energy_total")
        output.out(total, make_record(energy_consumed=float("nan"), emissions=-1.0, cpu_power=13.0))
        second = samples(output.url, "codecarbon_energy_total")
        later_run = make_record(project_name="monotonic")  # a new run of the same labels: still counting up
        output.out(later_run, make_record(energy_consumed=0.001, emissions=0.0005))
        third = samples(output.url, "codecarbon_energy_total")
        [(labels, _)] = first
        assert set(labels) == set(all_labelnames) and labels["project_name"] == "monotonic"
        assert [v for _, v in first] == [pytest.approx(0.002)]
        assert [v for _, v in second] == [pytest.approx(0.002)]  # NaN added nothing
        assert [v for _, v in third] == [pytest.approx(0.003)]
        assert [v for _, v in samples(output.url, "codecarbon_emissions_kg_total")] == [pytest.approx(0.0015)]
        assert {v for _, v in samples(output.url, "codecarbon_cpu_power")} == {30.0}  # make_record's value
    finally:
        stop_serving(output.endpoint)


def test_counters_follow_a_run_settled_upward_and_never_go_back_when_settled_lower() -> None:
    """At stop() a run is settled from the provider's history (issue 14): its total can differ from the sum of
    its provisionally priced windows. The endpoint's counters reach the higher total and never drop."""
    from dataclasses import replace

    output = PrometheusScrapeOutput(0)
    try:
        first = make_record(project_name="settled", emissions=0.001, energy_consumed=0.004)
        other = make_record(project_name="settled", emissions=0.0002, energy_consumed=0.001)  # same labels
        output.live_out(first, first)
        output.live_out(other, other)  # another run of the same labels, interleaved: counted on its own
        window = make_record(emissions=0.0012, energy_consumed=0.004)
        output.out(replace(first, emissions=0.0025, energy_consumed=0.008), window)  # settled: 2.5 g, not 2.2
        assert [v for _, v in samples(output.url, "codecarbon_emissions_kg_total")] == [pytest.approx(0.0027)]
        assert [v for _, v in samples(output.url, "codecarbon_energy_total")] == [pytest.approx(0.009)]
        lower = make_record(emissions=0.0, energy_consumed=0.0)
        output.out(replace(first, emissions=0.0024, energy_consumed=0.008), lower)  # settled lower: kept
        assert [v for _, v in samples(output.url, "codecarbon_emissions_kg_total")] == [pytest.approx(0.0027)]
        output.out(replace(other, emissions=0.0005, energy_consumed=0.002), make_record(
            emissions=0.0003, energy_consumed=0.001))
        assert [v for _, v in samples(output.url, "codecarbon_emissions_kg_total")] == [pytest.approx(0.003)]
        assert [v for _, v in samples(output.url, "codecarbon_energy_total")] == [pytest.approx(0.010)]
    finally:
        stop_serving(output.endpoint)


def test_gauges_and_labels_match_the_pushgateway_output() -> None:
    from codecarbon.output_methods.metrics.prometheus import COUNTERS, GAUGES

    output = PrometheusScrapeOutput(0)
    try:
        record = make_record(project_name="same-names", scheduler="slurm", job_id="99", rank="1")
        output.out(record, record)
        text = scrape_text(output.url)
        for name in GAUGES:
            [(labels, value)] = samples(output.url, name)
            assert labels["job_id"] == "99" and labels["rank"] == "1" and labels["scheduler"] == "slurm"
            assert value == pytest.approx(float(getattr(record, GAUGES[name][0])))
        for name in COUNTERS:
            assert f"# TYPE {name}_total counter" in text or f"# TYPE {name} counter" in text, name
    finally:
        stop_serving(output.endpoint)


def test_a_port_in_use_is_an_error_naming_the_setting() -> None:
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        with pytest.raises(ConfigError, match="prometheus_port"):
            serve(holder.getsockname()[1])
    finally:
        holder.close()
    with pytest.raises(ConfigError, match="prometheus_port"):
        PrometheusScrapeOutput(70000)
    with pytest.raises(ConfigError, match="prometheus_host"):
        serve(0, " ")


def test_monitor_options_turn_into_the_tracker_settings(tmp_path: Path, monkeypatch) -> None:
    from codecarbon.cli.main import build_parser
    from codecarbon.cli.monitor import plan_monitor

    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["monitor", "--prometheus-port", "9108"])
    assert args.prometheus_port == 9108 and args.prometheus_host is None
    plan = plan_monitor(offline=True, country_iso_code="FRA", prometheus_port=9108, prometheus_host="0.0.0.0")
    assert plan.arguments["prometheus_port"] == 9108 and plan.arguments["prometheus_host"] == "0.0.0.0"
    assert plan.arguments["api_call_interval"] == 1  # the endpoint moves at every measurement
    chosen = plan_monitor(offline=True, country_iso_code="FRA", prometheus_port=9108, api_call_interval=4)
    assert chosen.arguments["api_call_interval"] == 4 and "prometheus_host" not in chosen.arguments
    (tmp_path / ".codecarbon.config").write_text("[codecarbon]\napi_call_interval = 6\n")
    assert "api_call_interval" not in plan_monitor(offline=True, country_iso_code="FRA",
                                                   prometheus_port=9108).arguments
    assert "prometheus_port" not in plan_monitor(offline=True, country_iso_code="FRA").arguments


# ------------------------------------------------------------------------------- scraped by a real Prometheus
@needs_prometheus
def test_tracker_runs_scraped_by_prometheus_match_their_csv_and_sum_across_ranks(tmp_path: Path) -> None:
    from codecarbon.emissions_tracker import OfflineEmissionsTracker

    trackers, endpoints = [], []
    for rank in (0, 1):
        tracker = OfflineEmissionsTracker(
            country_iso_code="FRA", measure_power_secs=0.1, api_call_interval=-1, output_dir=str(tmp_path),
            output_file=f"rank{rank}.csv", project_name="scraped-run", prometheus_port=0, scheduler="slurm",
            job_id="fleet-42", rank=rank, world_size=2, device_ownership="off")
        scrape = next(o for o in tracker._output_handlers if isinstance(o, PrometheusScrapeOutput))
        trackers.append(tracker)
        endpoints.append(scrape.endpoint)
    try:
        for tracker in trackers:
            tracker.start()
        time.sleep(0.8)
        for tracker in trackers:
            tracker.stop()  # the endpoints stay up: the final values can still be scraped
        rows = {rank: rows_of(tmp_path / f"rank{rank}.csv")[-1] for rank in (0, 1)}
        targets = [f"127.0.0.1:{e.port}" for e in endpoints]
        with prometheus_server(tmp_path / "prometheus", targets) as prometheus:
            found = prometheus.wait_for('codecarbon_energy_total{project_name="scraped-run"}',
                                        lambda result: len(result) == 2)
            by_rank = {labels["rank"]: (labels, value) for labels, value in found}
            for rank, row in rows.items():
                labels, energy = by_rank[str(rank)]
                assert energy == pytest.approx(float(row["energy_consumed"]), rel=1e-9)
                assert labels["job"] == SCRAPE_JOB and labels["job_id"] == "fleet-42"
                for column in ("project_name", "country_iso_code", "country_name", "cpu_model", "tracking_mode",
                               "os", "codecarbon_version", "scheduler", "node_name", "world_size"):
                    assert labels[column] == row[column], column
                for metric, column in (("codecarbon_emissions_kg_total", "emissions"),
                                       ("codecarbon_cpu_energy_kwh_total", "cpu_energy"),
                                       ("codecarbon_ram_energy_kwh_total", "ram_energy"),
                                       ("codecarbon_duration_seconds_total", "duration"),
                                       ("codecarbon_cpu_power", "cpu_power"),  # one window: the run's mean
                                       ("codecarbon_emissions", "emissions")):
                    [(_, value)] = prometheus.query(f'{metric}{{project_name="scraped-run", rank="{rank}"}}')
                    assert value == pytest.approx(float(row[column]), rel=1e-9), metric
            # docs/fleet.md, as written there: one job's total over every node and rank
            energy_query, emissions_query = fleet_queries()[:2]
            [(labels, total)] = prometheus.query(energy_query.replace('"4242"', '"fleet-42"'))
            assert labels == {"scheduler": "slurm", "job_id": "fleet-42"}
            assert total == pytest.approx(sum(float(r["energy_consumed"]) for r in rows.values()), rel=1e-9)
            [(_, emitted)] = prometheus.query(emissions_query.replace('"4242"', '"fleet-42"'))
            assert emitted == pytest.approx(sum(float(r["emissions"]) for r in rows.values()), rel=1e-9)
    finally:
        for endpoint in endpoints:
            stop_serving(endpoint)


def fleet_queries() -> list[str]:
    """Every PromQL line of docs/fleet.md's section on summing a job across nodes, in the page's order."""
    text = (ROOT / "docs" / "fleet.md").read_text()
    section = text.split("## Summing a job across nodes (PromQL)", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for block in re.findall(r"```\n(.*?)```", section, re.S) for line in block.splitlines()
            if line.strip()]


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def grafana_to_promql(expr: str) -> str:
    """What Grafana sends for the dashboard's variables: All (regex .*), a rate interval, the time range."""
    return (expr.replace("$__rate_interval", "10s").replace("$__range", "2m").replace("$project", ".*")
            .replace("$node", ".*"))


def test_the_dashboard_is_valid_and_uses_only_exposed_metrics() -> None:
    from codecarbon.output_methods.metrics.prometheus import COUNTERS, GAUGES

    exposed = set(GAUGES) | {f"{name}_total" for name in COUNTERS}
    queries = dashboard_queries()
    assert len(queries) >= 8
    for query in queries:
        used = set(re.findall(r"codecarbon_[a-z_]+", query))
        assert used and used <= exposed, query
        for label in re.findall(r"(?:by \(|,\s*)([a-z_]+)(?=[,)])", query):
            assert label in all_labelnames, (label, query)


@needs_prometheus
def test_monitor_endpoint_is_scraped_and_every_dashboard_query_answers(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLURM_JOB_ID": "777", "SLURM_PROCID": "0",
           "CODECARBON_STATE_DIR": str(tmp_path / "state")}
    monitor = subprocess.Popen(
        [sys.executable, "-m", "codecarbon", "monitor", "--offline", "--country-iso-code", "FRA",
         "--measure-power-secs", "0.5", "--no-live", "--project-name", "node-monitor",
         "--prometheus-port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with prometheus_server(tmp_path / "prometheus", [f"127.0.0.1:{port}"]) as prometheus:
            query = 'codecarbon_energy_total{project_name="node-monitor"}'
            prometheus.wait_for(f"count_over_time({query}[1m])",
                                lambda result: bool(result) and result[0][1] >= 6, timeout=90)
            [(labels, _)] = prometheus.query(query)
            assert labels["scheduler"] == "slurm" and labels["job_id"] == "777"
            assert labels["instance"] == f"127.0.0.1:{port}"
            [(_, resets)] = prometheus.query(f"resets({query}[1m])")
            assert resets == 0
            [(_, series)] = prometheus.query_range(query, 30)
            assert series == sorted(series) and series[-1] > series[0]  # counting up, never back
            for expr in dashboard_queries():
                result = prometheus.query(grafana_to_promql(expr))
                assert result, expr
                assert all(value == value for _, value in result), expr  # no NaN: every ratio had data
            queries = fleet_queries()
            assert len(queries) == 5 and queries[0].startswith("sum by (scheduler, job_id) (codecarbon_energy_total")
            for expr in queries:  # docs/fleet.md's queries, on this monitor's job and project
                result = prometheus.query(expr.replace('"4242"', '"777"').replace('"nodes"', '"node-monitor"'))
                assert result and all(value == value and value > 0 for _, value in result), expr
            by_job = next(q for q in dashboard_queries() if "by (scheduler, job_id)" in q and "energy" in q)
            [(job, energy)] = prometheus.query(grafana_to_promql(by_job))
            assert job == {"scheduler": "slurm", "job_id": "777"} and energy > 0
            last_scraped = prometheus.query(query)[0][1]
            project_values = prometheus.api("/api/v1/label/project_name/values",
                                            **{"match[]": "codecarbon_energy_total"})
            assert "node-monitor" in project_values  # what the dashboard's $project variable lists
        monitor.send_signal(signal.SIGINT)
        output, _ = monitor.communicate(timeout=60)
        assert monitor.returncode == 0, output
    finally:
        if monitor.poll() is None:
            monitor.kill()
            monitor.wait()
    [row] = rows_of(tmp_path / "emissions.csv")
    assert row["project_name"] == "node-monitor" and row["job_id"] == "777"
    assert 0 < last_scraped <= float(row["energy_consumed"]) * (1 + 1e-9)  # the run went on after the scrape
