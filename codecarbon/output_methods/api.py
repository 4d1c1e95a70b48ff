"""Reporting to the CodeCarbon API: one run created per tracker run, then one emission per window.

The API run is created lazily, with the first window worth sending, and its id is used only in API calls: the
tracker's own ``run_id`` (a UUID4) stays the ``run_id`` of CSV rows and every other output. Windows shorter than
one second are not sent on their own; they are added to the next window instead of being lost.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from codecarbon.external.logger import log_once
from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.delivery import (
    DEFAULT_DELIVERY_TIMEOUT_SECS,
    DeliveryFailed,
    DeliveryQueue,
    channel_key,
    json_safe,
    post_json,
    redact_url,
)
from codecarbon.output_methods.emissions_data import EmissionsData
from codecarbon.output_methods.http import check_timeout
from codecarbon.support.http import check_url

MIN_WINDOW_SECS = 1.0
_ADDITIVE = ("duration", "emissions", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
             "water_consumed")
_WEIGHTED = ("cpu_utilization_percent", "gpu_utilization_percent", "ram_utilization_percent")


def timestamp_with_zone(timestamp: str) -> str:
    """The record's local ``%Y-%m-%dT%H:%M:%S`` time as ISO 8601 with this machine's UTC offset."""
    try:
        return datetime.fromisoformat(timestamp).astimezone().isoformat()
    except (TypeError, ValueError):
        return datetime.now().astimezone().isoformat()


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _rounded(value: Any) -> float | None:
    return round(value, 1) if isinstance(value, (int, float)) and math.isfinite(value) else None


def merge_windows(first: EmissionsData, second: EmissionsData) -> EmissionsData:
    """Two consecutive windows as one: sums for energies and durations, means weighted by time for the rest."""
    seconds = first.duration + second.duration
    changes: dict[str, Any] = {name: getattr(first, name) + getattr(second, name) for name in _ADDITIVE}
    for name in _WEIGHTED:
        changes[name] = ((getattr(first, name) * first.duration + getattr(second, name) * second.duration)
                         / seconds) if seconds > 0 else getattr(second, name)
    hours = seconds / 3600.0
    for component in ("cpu", "gpu", "ram"):
        changes[f"{component}_power"] = (changes[f"{component}_energy"] / hours * 1000.0 if hours > 0
                                         else getattr(second, f"{component}_power"))
    changes["emissions_rate"] = changes["emissions"] / seconds if seconds > 0 else 0.0
    return replace(second, **changes)


class CodeCarbonAPIOutput(BaseOutput):
    """Sends each window (``live_out`` and ``out``) to ``{endpoint_url}/emissions`` under one API run.

    ``api_key`` goes in the ``x-api-token`` header only; it is never logged nor written to undelivered files.
    ``conf`` may override run metadata sent to ``/runs`` (keys as the API names them).
    """

    def __init__(self, endpoint_url: str, experiment_id: str, api_key: str | None,
                 conf: Mapping[str, Any] | None = None, *,
                 delivery_timeout_secs: float = DEFAULT_DELIVERY_TIMEOUT_SECS):
        self.endpoint_url = check_url("api_endpoint", endpoint_url).rstrip("/")
        if not isinstance(experiment_id, str) or not experiment_id.strip():
            raise ValueError(f"experiment_id must be a non-empty string (the API experiment's id), "
                             f"got {experiment_id!r}")
        if api_key is not None and not isinstance(api_key, str):
            raise ValueError("api_key must be a string")
        if conf is not None and not isinstance(conf, Mapping):
            raise ValueError(f"conf must be a mapping of run metadata, got {type(conf).__name__}")
        self.experiment_id = experiment_id
        self.delivery_timeout_secs = check_timeout(delivery_timeout_secs)
        self.__api_key = api_key or ""
        self._conf = dict(conf or {})
        self._api_run_ids: dict[str, str] = {}   # tracker run_id -> API run id
        self._runs_requested: set[str] = set()
        self._carry: EmissionsData | None = None
        self._queue = DeliveryQueue(channel_key("api", self.endpoint_url, experiment_id), self._send,
                                    description=f"CodeCarbon API at {redact_url(self.endpoint_url)}",
                                    prepare_for_spool=self._annotate)

    def __repr__(self) -> str:
        return (f"CodeCarbonAPIOutput(endpoint_url={redact_url(self.endpoint_url)!r}, "
                f"experiment_id={self.experiment_id!r})")

    # ---- what the tracker calls -------------------------------------------------------------------------

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self._window(delta)

    def live_out(self, total: EmissionsData, delta: EmissionsData) -> None:
        self._window(delta)

    def drain(self, timeout_s: float) -> bool:
        return self._queue.drain(timeout_s)

    def exit(self) -> None:
        if self._carry is not None and self._carry.energy_consumed > 0:
            log_once("api-short-tail", 10, "CodeCarbon API: last %.2f s of the run not sent (under %s s)",
                     self._carry.duration, MIN_WINDOW_SECS)
        self._carry = None  # a run's tail never joins the next run's first window
        self._queue.close(self.delivery_timeout_secs)

    # ---- building payloads ------------------------------------------------------------------------------

    def _window(self, delta: EmissionsData) -> None:
        if self._carry is not None:
            if self._carry.run_id == delta.run_id:
                delta = merge_windows(self._carry, delta)
            self._carry = None
        if delta.duration < MIN_WINDOW_SECS:
            self._carry = delta
            return
        if delta.run_id not in self._runs_requested:
            self._runs_requested.add(delta.run_id)
            self._queue.submit({"kind": "run", "local_run_id": delta.run_id, "body": self.run_body(delta)},
                                 delta.run_id)
        self._queue.submit({"kind": "emission", "local_run_id": delta.run_id,
                              "body": self.emission_body(delta)}, delta.run_id)

    def run_body(self, data: EmissionsData) -> dict[str, Any]:
        """What ``POST /runs`` receives: the run's machine and place."""
        body = {
            "timestamp": timestamp_with_zone(data.timestamp),
            "experiment_id": self.experiment_id,
            "os": data.os,
            "python_version": data.python_version,
            "codecarbon_version": data.codecarbon_version,
            "cpu_count": data.cpu_count,
            "cpu_model": data.cpu_model,
            "gpu_count": data.gpu_count,
            "gpu_model": data.gpu_model,
            "longitude": _rounded(data.longitude),
            "latitude": _rounded(data.latitude),
            "region": data.cloud_region or data.region,
            "provider": data.cloud_provider,
            "ram_total_size": _number(data.ram_total_size),
            "tracking_mode": data.tracking_mode,
        }
        body.update({k: v for k, v in self._conf.items() if k in body and k != "experiment_id"})
        return json_safe(body)

    @staticmethod
    def emission_body(delta: EmissionsData) -> dict[str, Any]:
        """What ``POST /emissions`` receives for one window (``run_id`` is set when sending)."""
        return json_safe({
            "timestamp": timestamp_with_zone(delta.timestamp),
            "run_id": None,
            "duration": int(delta.duration),
            "emissions_sum": delta.emissions,
            "emissions_rate": delta.emissions_rate,
            "cpu_power": delta.cpu_power,
            "gpu_power": delta.gpu_power,
            "ram_power": delta.ram_power,
            "cpu_energy": delta.cpu_energy,
            "gpu_energy": delta.gpu_energy,
            "ram_energy": delta.ram_energy,
            "energy_consumed": delta.energy_consumed,
            "cpu_utilization_percent": delta.cpu_utilization_percent,
            "gpu_utilization_percent": delta.gpu_utilization_percent,
            "ram_utilization_percent": delta.ram_utilization_percent,
            "wue": delta.wue,
        })

    # ---- sending (on the delivery thread) ---------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"x-api-token": self.__api_key} if self.__api_key else {}

    def _send(self, payload: dict[str, Any], timeout_s: float, idempotency_key: str) -> None:
        local = str(payload.get("local_run_id"))
        if payload.get("kind") == "run":
            if local in self._api_run_ids:
                return
            answer = post_json(f"{self.endpoint_url}/runs", payload["body"], headers=self._headers(),
                               timeout_s=timeout_s, idempotency_key=idempotency_key)
            try:
                run_id = json.loads(answer.body.decode("utf-8"))["id"]
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                raise DeliveryFailed(f"POST /runs answered {answer.status} without a run id",
                                     retryable=False) from None
            self._api_run_ids[local] = str(run_id)
            return
        run_id = payload.get("api_run_id") or self._api_run_ids.get(local)
        if run_id is None:
            log_once(f"api-no-run:{local}", 40, "CodeCarbon API: no API run exists for run %s; its emissions "
                     "cannot be sent", local)
            raise DeliveryFailed("no API run", retryable=False)
        body = dict(payload["body"], run_id=run_id)
        post_json(f"{self.endpoint_url}/emissions", body, headers=self._headers(), timeout_s=timeout_s,
                  idempotency_key=idempotency_key)

    def _annotate(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Before saving an emission for later, record the API run id it belongs to, when known."""
        local = str(payload.get("local_run_id"))
        if payload.get("kind") == "emission" and local in self._api_run_ids:
            return dict(payload, api_run_id=self._api_run_ids[local])
        return payload
