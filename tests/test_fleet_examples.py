"""examples/kubernetes/ and the Kubernetes metadata: the DaemonSet starts the real monitor command with options it
has, mounts what the sources read, and passes the downward-API variables the package reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from codecarbon.core import kubernetes
from codecarbon.core.kubernetes import kubernetes_place

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES = ROOT / "examples" / "kubernetes"


def daemonset() -> dict:
    yaml = pytest.importorskip("yaml")
    documents = [d for d in yaml.safe_load_all((KUBERNETES / "daemonset.yaml").read_text()) if d]
    [found] = [d for d in documents if d["kind"] == "DaemonSet"]
    return found


def test_the_daemonset_runs_the_monitor_with_its_scrape_endpoint_on_every_node() -> None:
    from codecarbon.cli.main import build_parser

    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", (KUBERNETES / "Dockerfile").read_text(),
                                      re.M).group(1))
    pod = daemonset()["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert entrypoint[0] == "codecarbon"
    args = build_parser().parse_args(entrypoint[1:] + container["args"])  # the CLI's own parser accepts them
    assert args.prometheus_port == 9108 and args.prometheus_host == "0.0.0.0" and args.no_live
    assert container["ports"][0]["containerPort"] == 9108
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/sys"]["readOnly"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/sys"]["name"]]["hostPath"]["path"] == "/sys"
    assert pod["runtimeClassName"] == "nvidia" and pod["hostNetwork"] is True
    assert {"operator": "Exists"} in pod["tolerations"]
    assert "cpu" not in container["resources"].get("limits", {})  # the node monitor measures the whole node


def test_the_daemonset_passes_the_downward_api_variables_the_package_reads() -> None:
    [container] = daemonset()["spec"]["template"]["spec"]["containers"]
    fields = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"] if "valueFrom" in e}
    assert fields[kubernetes.POD_VARIABLES[0]] == "metadata.name"
    assert fields[kubernetes.NAMESPACE_VARIABLES[0]] == "metadata.namespace"
    assert fields[kubernetes.NODE_VARIABLES[0]] == "spec.nodeName"
    plain = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert plain["CODECARBON_PROJECT_NAME"] == "nodes"  # node-level series kept apart from job-level ones
    from codecarbon.core.parameters import PARAMETERS

    for name in plain:
        if name.startswith("CODECARBON_") and name != "CODECARBON_STATE_DIR":
            assert name.removeprefix("CODECARBON_").lower() in PARAMETERS, name


def test_kubernetes_place_reads_the_documented_and_the_short_names() -> None:
    assert not kubernetes_place({}).in_kubernetes
    place = kubernetes_place({"K8S_POD_NAME": "a-0", "POD_NAME": "ignored", "POD_NAMESPACE": "ml",
                              "NODE_NAME": " gpu-3 "})
    assert (place.pod, place.namespace, place.node) == ("a-0", "ml", "gpu-3")
    assert place.resource_attributes() == {"k8s.pod.name": "a-0", "k8s.namespace.name": "ml",
                                           "k8s.node.name": "gpu-3"}
    assert kubernetes_place({"K8S_NAMESPACE": "only"}).resource_attributes() == {"k8s.namespace.name": "only"}


def test_the_metrics_labels_carry_the_pod_and_the_container_limit(monkeypatch) -> None:
    from codecarbon.output_methods.metrics import labels_of
    from tests.test_output_records import make_record

    monkeypatch.setenv("K8S_POD_NAME", "trainer-1")
    monkeypatch.setenv("K8S_NAMESPACE_NAME", "research")
    monkeypatch.setenv("K8S_NODE_NAME", "node-9")
    monkeypatch.setattr(kubernetes, "container_cpu_limit_text", lambda: "2.5")
    kubernetes._forget()
    try:
        labels = labels_of(make_record())
    finally:
        kubernetes._forget()
    assert labels["k8s_pod"] == "trainer-1" and labels["k8s_namespace"] == "research"
    assert labels["k8s_node"] == "node-9" and labels["container_cpu_limit"] == "2.5"
