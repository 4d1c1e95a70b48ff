"""Metrics outputs (Prometheus, Logfire) and what they share: the labels that describe a run."""

from __future__ import annotations

from typing import Any

labelnames: tuple[str, ...] = (
    "project_name", "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
    "codecarbon_version", "cpu_model", "cpu_count", "gpu_model", "gpu_count", "tracking_mode", "ram_total_size",
)
#: who pushed, in a job of many processes (empty outside one), so a dashboard can sum by job and by node
job_labelnames: tuple[str, ...] = ("scheduler", "job_id", "node_name", "rank", "local_rank", "world_size")
#: every label the metrics outputs attach
all_labelnames: tuple[str, ...] = labelnames + job_labelnames


def label_value(value: Any) -> str:
    """Label text: empty for missing values and NaN, the value's text otherwise."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)
