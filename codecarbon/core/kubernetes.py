"""Where this process runs in Kubernetes, from the environment the pod spec gives it (the downward API).

Kubernetes tells a container its pod, namespace and node only when the pod spec asks for it::

    env:
      - name: K8S_POD_NAME
        valueFrom: {fieldRef: {fieldPath: metadata.name}}
      - name: K8S_NAMESPACE_NAME
        valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
      - name: K8S_NODE_NAME
        valueFrom: {fieldRef: {fieldPath: spec.nodeName}}

The shorter ``POD_NAME``, ``POD_NAMESPACE`` and ``NODE_NAME`` that many charts use are read too. Nothing is asked
of the Kubernetes API: no credentials, no network. The container's CPU limit comes from its cgroup (see
``hardware.attribution``): where one is set, the CPU load model charges only that share of the machine, and the
metrics say so in their ``container_cpu_limit`` label.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

POD_VARIABLES = ("K8S_POD_NAME", "POD_NAME")
NAMESPACE_VARIABLES = ("K8S_NAMESPACE_NAME", "K8S_NAMESPACE", "POD_NAMESPACE")
NODE_VARIABLES = ("K8S_NODE_NAME", "NODE_NAME")


@dataclass(frozen=True)
class KubernetesPlace:
    """The pod, namespace and node (empty where the pod spec did not pass them)."""

    pod: str = ""
    namespace: str = ""
    node: str = ""

    @property
    def in_kubernetes(self) -> bool:
        return bool(self.pod or self.namespace or self.node)

    def resource_attributes(self) -> dict[str, str]:
        """OpenTelemetry's k8s.* resource attributes, for what is known."""
        pairs = (("k8s.pod.name", self.pod), ("k8s.namespace.name", self.namespace), ("k8s.node.name", self.node))
        return {name: value for name, value in pairs if value}


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = (environ.get(name) or "").strip()
        if value:
            return value
    return ""


def kubernetes_place(environ: Optional[Mapping[str, str]] = None) -> KubernetesPlace:
    env = os.environ if environ is None else environ
    return KubernetesPlace(_first(env, POD_VARIABLES), _first(env, NAMESPACE_VARIABLES), _first(env, NODE_VARIABLES))


def container_cpu_limit_text() -> str:
    """The container's CPU limit in CPUs as label text ("" when none or unreadable)."""
    from codecarbon.hardware.attribution import read_cgroup_limits

    try:
        limit = read_cgroup_limits().cpu_limit
    except Exception:  # a label is never worth an error
        return ""
    return "" if limit is None else f"{limit:g}"


_cached: Optional[dict[str, str]] = None
_lock = threading.Lock()


def deployment_labels() -> dict[str, str]:
    """The Kubernetes labels of the metrics outputs, read once per process (they do not change while it runs)."""
    global _cached
    with _lock:
        if _cached is None:
            place = kubernetes_place()
            _cached = {"k8s_namespace": place.namespace, "k8s_pod": place.pod, "k8s_node": place.node,
                       "container_cpu_limit": container_cpu_limit_text()}
        return dict(_cached)


def _forget() -> None:
    """Read the environment again next time (tests change it)."""
    global _cached
    with _lock:
        _cached = None
