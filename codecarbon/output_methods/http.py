"""Sending the run so far, as JSON, to a user's endpoint (``emissions_endpoint``)."""

from __future__ import annotations

import getpass
from typing import Any

from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.delivery import (
    DEFAULT_DELIVERY_TIMEOUT_SECS,
    DeliveryQueue,
    channel_key,
    json_safe,
    post_json,
    redact_url,
)
from codecarbon.output_methods.emissions_data import EmissionsData
from codecarbon.support.http import check_url

__all__ = ["HTTPOutput", "check_url", "login_name"]


def login_name() -> str:
    """The OS login name sent as ``user``; empty when the platform cannot tell."""
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers without passwd entries, ...)
        return ""


def check_timeout(value: Any) -> float:
    """``delivery_timeout_secs`` as a float >= 0; ValueError naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(f"delivery_timeout_secs must be a number of seconds >= 0, got {value!r}")
    return float(value)


class HTTPOutput(BaseOutput):
    """Sends the run so far, as JSON plus the ``user`` login name, to ``endpoint_url`` at each flush and stop.

    Sending happens in the background (:mod:`codecarbon.output_methods.delivery`); a 2xx answer counts as
    delivered, 5xx and network errors are retried, ``drain()``/``exit()`` wait at most ``delivery_timeout_secs``.
    ``http://user:password@host/...`` sends HTTP Basic auth. Each payload carries an ``Idempotency-Key`` header.
    """

    def __init__(self, endpoint_url: str, *, delivery_timeout_secs: float = DEFAULT_DELIVERY_TIMEOUT_SECS):
        self.endpoint_url = check_url("emissions_endpoint", endpoint_url)
        self.delivery_timeout_secs = check_timeout(delivery_timeout_secs)
        self._user = login_name()
        self._queue = DeliveryQueue(channel_key("http", self.endpoint_url), self._send,
                                    description=f"HTTP output to {redact_url(self.endpoint_url)}")

    def __repr__(self) -> str:
        return f"HTTPOutput(endpoint_url={redact_url(self.endpoint_url)!r})"

    def _send(self, payload: dict[str, Any], timeout_s: float, idempotency_key: str) -> None:
        post_json(self.endpoint_url, payload, timeout_s=timeout_s, idempotency_key=idempotency_key)

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        payload = json_safe(total.values)
        payload["user"] = self._user
        self._queue.submit(payload, total.run_id)

    def drain(self, timeout_s: float) -> bool:
        return self._queue.drain(timeout_s)

    def exit(self) -> None:
        self._queue.close(self.delivery_timeout_secs)


def __getattr__(name: str) -> Any:
    """``CodeCarbonAPIOutput`` lives in api.py; its documented import path is this module."""
    if name == "CodeCarbonAPIOutput":
        from codecarbon.output_methods.api import CodeCarbonAPIOutput

        return CodeCarbonAPIOutput
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
