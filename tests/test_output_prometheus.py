"""The Prometheus output against the real Pushgateway: what it exposes, and that trackers never collide."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from codecarbon.output_methods.metrics import labelnames
from codecarbon.output_methods.metrics.prometheus import GAUGES, PrometheusOutput, gateway_url, prometheus_job_name
from tests.fakes.pushgateway import basic_auth_proxy, pushgateway, pushgateway_available
from tests.fakes.servers import wait_until
from tests.fakes.spool import private_state, spooled
from tests.test_output_records import make_record

pytestmark = pytest.mark.skipif(not pushgateway_available(), reason="prometheus-pushgateway not installed")


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from private_state(tmp_path, monkeypatch)


@pytest.fixture
def gateway(tmp_path: Path):
    with pushgateway(tmp_path / "gateway") as running:
        yield running


def test_push_exposes_every_gauge_and_label_from_the_data(gateway, tmp_path: Path) -> None:
    total = make_record()
    delta = replace(total, duration=15.0, cpu_power=31.5, energy_consumed=0.0005)
    output = PrometheusOutput(gateway.url.removeprefix("http://"), project_name="demo", hostname="node-a")
    output.out(total, delta)
    output.exit()
    [(labels, value)] = gateway.samples("codecarbon_cpu_power")
    assert value == 31.5
    assert labels["job"] == "codecarbon" and labels["instance"] == "node-a" and labels["project_name"] == "demo"
    assert set(labelnames) <= set(labels)
    assert labels["country_iso_code"] == "FRA" and labels["cpu_model"] == total.cpu_model
    assert labels["gpu_count"] == "1" and labels["ram_total_size"] == "32.0" and labels["region"] == ""
    for name in GAUGES:
        assert gateway.samples(name), name
    assert gateway.samples("codecarbon_duration")[0][1] == 15.0
    assert gateway.samples("codecarbon_energy_total")[0][1] == pytest.approx(0.0005)


def test_values_stay_after_exit_and_the_counter_accumulates(gateway, tmp_path: Path) -> None:
    total = make_record()
    output = PrometheusOutput(gateway.url, project_name="demo", hostname="node-a")
    output.live_out(total, replace(total, energy_consumed=0.001))
    output.out(total, replace(total, energy_consumed=0.002, emissions=0.5))
    output.exit()
    assert gateway.samples("codecarbon_energy_total")[0][1] == pytest.approx(0.003)
    assert gateway.samples("codecarbon_emissions")[0][1] == 0.5


def test_two_machines_never_overwrite_each_other(gateway, tmp_path: Path) -> None:
    outputs = {host: PrometheusOutput(gateway.url, project_name="demo", hostname=host)
               for host in ("node-a", "node-b")}
    for number, output in enumerate(outputs.values(), start=1):
        record = make_record(cpu_power=10.0 * number)
        output.out(record, record)
    for output in outputs.values():
        output.exit()
    found = {labels["instance"]: value for labels, value in gateway.samples("codecarbon_cpu_power")}
    assert found == {"node-a": 10.0, "node-b": 20.0}


def test_a_machines_next_run_replaces_its_previous_one(gateway, tmp_path: Path) -> None:
    for power in (10.0, 11.0):
        output = PrometheusOutput(gateway.url, project_name="demo", hostname="node-a")
        record = make_record(cpu_power=power)
        output.out(record, record)
        output.exit()
    assert [value for _, value in gateway.samples("codecarbon_cpu_power")] == [11.0]


def test_delete_on_exit_removes_the_group(gateway, tmp_path: Path) -> None:
    keep = PrometheusOutput(gateway.url, project_name="demo", hostname="keeper")
    drop = PrometheusOutput(gateway.url, project_name="demo", hostname="leaver", delete_on_exit=True)
    for output in (keep, drop):
        output.out(make_record(), make_record())
        output.exit()
    assert [labels["instance"] for labels, _ in gateway.samples("codecarbon_cpu_power")] == ["keeper"]


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # prometheus_client leaves the 401 response open
def test_basic_auth_from_the_environment(gateway, tmp_path: Path, monkeypatch, codecarbon_log) -> None:
    with basic_auth_proxy(gateway.url, "alice", "s3cr3t-pass") as proxy:
        monkeypatch.setenv("PROMETHEUS_USERNAME", "alice")
        monkeypatch.setenv("PROMETHEUS_PASSWORD", "wrong-pass")
        refused = PrometheusOutput(proxy, project_name="demo", hostname="h", delivery_timeout_secs=1.0)
        refused.out(make_record(), make_record())
        refused.exit()
        assert gateway.samples("codecarbon_cpu_power") == []
        monkeypatch.setenv("PROMETHEUS_PASSWORD", "s3cr3t-pass")
        allowed = PrometheusOutput(proxy, project_name="demo", hostname="h")
        allowed.out(make_record(cpu_power=7.0), make_record(cpu_power=7.0))
        allowed.exit()
    assert [value for _, value in gateway.samples("codecarbon_cpu_power")] == [7.0]
    assert "wrong-pass" not in codecarbon_log.text and "s3cr3t-pass" not in codecarbon_log.text


def test_unreachable_gateway_keeps_only_the_latest_push_for_later(gateway, tmp_path: Path) -> None:
    from tests.fakes.servers import refused_url

    output = PrometheusOutput(refused_url(), project_name="demo", hostname="h", delivery_timeout_secs=0.5)
    run_id = make_record().run_id
    for power in (1.0, 2.0, 3.0):
        record = make_record(cpu_power=power, run_id=run_id)
        output.live_out(record, record)
    output.exit()
    saved = spooled()
    assert 1 <= len(saved) <= 2  # the newest, and the one in flight when the bound expired
    assert saved[-1]["payload"]["gauges"]["codecarbon_cpu_power"] == 3.0


def test_credentials_in_the_gateway_url_become_basic_auth(gateway, tmp_path: Path, codecarbon_log) -> None:
    with basic_auth_proxy(gateway.url, "bob", "pa:ss@word") as proxy:
        url = proxy.replace("http://", "http://bob:pa%3Ass%40word@")
        output = PrometheusOutput(url, project_name="demo", hostname="h")
        output.out(make_record(cpu_power=5.0), make_record(cpu_power=5.0))
        assert output.drain(5.0) is True
    assert [value for _, value in gateway.samples("codecarbon_cpu_power")] == [5.0]
    assert "pa%3Ass" not in codecarbon_log.text and "pa%3Ass" not in repr(output)


def test_job_is_3_3_2s_project_underscore_experiment_with_unsafe_characters_replaced() -> None:
    assert prometheus_job_name("codecarbon", "base") == "codecarbon_base"
    assert prometheus_job_name("my project/v2", "exp.1 (gpu)") == "my_project_v2_exp_1__gpu_"
    assert prometheus_job_name("Déjà-vu", "run_7") == "D_j_-vu_run_7"
    assert prometheus_job_name(None, "base") == "_base"


def test_the_tracker_pushes_under_its_job_and_host_and_experiments_never_collide(gateway, tmp_path: Path) -> None:
    from codecarbon.core.config import load_settings
    from codecarbon.output_methods.selection import build_outputs

    outputs = []
    for experiment, power in (("train v1", 10.0), ("eval", 20.0)):
        settings = load_settings({"output_methods": ["prometheus"], "prometheus_url": gateway.url,
                                  "project_name": "my.proj", "experiment_name": experiment,
                                  "output_dir": str(tmp_path)})
        [output] = build_outputs(settings, [])
        record = make_record(cpu_power=power, project_name="my.proj")
        output.out(record, record)
        assert output.drain(5.0) is True
        outputs.append(output)
    found = {(labels["job"], labels["instance"]): value for labels, value in gateway.samples("codecarbon_cpu_power")}
    host = outputs[0].hostname
    assert found == {("my_proj_train_v1", host): 10.0, ("my_proj_eval", host): 20.0}


def test_a_new_run_counts_its_energy_from_zero(gateway, tmp_path: Path) -> None:
    output = PrometheusOutput(gateway.url, hostname="h")
    first, second = make_record(), make_record()
    output.out(first, replace(first, energy_consumed=0.004))
    output.exit()
    output.out(second, replace(second, energy_consumed=0.001))  # the tracker started again: a new run
    assert output.drain(5.0)
    assert gateway.samples("codecarbon_energy_total")[0][1] == pytest.approx(0.001)


def test_gateway_url_accepts_host_port_and_urls() -> None:
    assert gateway_url("localhost:9091") == "http://localhost:9091"
    assert gateway_url("https://gw.example.org/") == "https://gw.example.org"
    with pytest.raises(ValueError, match="prometheus_url"):
        PrometheusOutput("")


def test_module_keeps_registry_and_labelnames_for_old_code() -> None:
    from prometheus_client import CollectorRegistry

    import codecarbon.output_methods.metrics.prometheus as module

    assert isinstance(module.registry, CollectorRegistry)
    assert module.labelnames[0] == "project_name" and len(module.labelnames) == 14
    assert wait_until(lambda: True)


def test_a_push_carries_the_run_counters_and_the_deployment_labels(gateway, monkeypatch) -> None:
    from codecarbon.core import kubernetes
    from codecarbon.output_methods.metrics.prometheus import COUNTERS

    monkeypatch.setenv("K8S_POD_NAME", "worker-2")
    monkeypatch.setenv("K8S_NAMESPACE_NAME", "batch")
    kubernetes._forget()
    try:
        total = make_record()
        output = PrometheusOutput(gateway.url, project_name="demo", hostname="node-a")
        output.live_out(total, replace(total, emissions=0.25, cpu_energy=0.5, duration=10.0))
        output.out(total, replace(total, emissions=0.5, cpu_energy=0.25, duration=5.0))
        output.exit()
    finally:
        kubernetes._forget()
    assert {f"{name}_total" for name in COUNTERS} <= {name for name in exposed_names(gateway)}
    [(labels, emitted)] = gateway.samples("codecarbon_emissions_kg_total")
    assert emitted == pytest.approx(0.75) and gateway.samples("codecarbon_cpu_energy_kwh_total")[0][1] == 0.75
    assert gateway.samples("codecarbon_duration_seconds_total")[0][1] == 15.0
    assert labels["k8s_pod"] == "worker-2" and labels["k8s_namespace"] == "batch" and labels["k8s_node"] == ""


def exposed_names(gateway) -> set[str]:  # noqa: N802
    from prometheus_client.parser import text_string_to_metric_families

    return {s.name for family in text_string_to_metric_families(gateway.metrics_text()) for s in family.samples}
