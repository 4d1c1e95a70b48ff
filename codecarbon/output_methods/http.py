"""POSTing each finished run to a URL of the user's choice (``emissions_endpoint``)."""

from __future__ import annotations

import getpass
from typing import Any

from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.delivery import (
    DEFAULT_DELIVERY_TIMEOUT_SECS,
    Channel,
    DeliveryFailed,
    StopWindow,
    channel_key,
    json_safe,
    post_json,
    redact_url,
)
from codecarbon.output_methods.emissions_data import EmissionsData


def login_name() -> str:
    """The OS login name sent as ``user``; empty when the platform cannot tell."""
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers without passwd entries, ...)
        return ""


def check_url(name: str, url: Any) -> str:
    """Raise ValueError naming the parameter unless ``url`` is an http(s) URL."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"{name} must be an http:// or https:// URL, got {url!r}")
    return url


class HTTPOutput(BaseOutput):
    """Sends the run so far, as JSON plus the ``user`` login name, to ``endpoint_url`` at each flush and stop.

    Sending happens in the background (see :mod:`codecarbon.output_methods.delivery`); a 2xx answer counts as
    delivered, 5xx and network errors are retried, and ``exit()`` waits at most ``delivery_timeout_secs``.
    """

    def __init__(self, endpoint_url: str, *, output_dir: str = ".",
                 delivery_timeout_secs: float = DEFAULT_DELIVERY_TIMEOUT_SECS,
                 stop_window: StopWindow | None = None):
        self.endpoint_url = check_url("emissions_endpoint", endpoint_url)
        self._user = login_name()
        self._channel = Channel(channel_key("http", endpoint_url), self._send, output_dir=output_dir,
                                timeout=delivery_timeout_secs,
                                description=f"HTTP output to {redact_url(endpoint_url)}", stop_window=stop_window)

    def _send(self, payload: dict[str, Any], timeout: float) -> None:
        status, _ = post_json(self.endpoint_url, payload, timeout=timeout)
        if status not in (200, 201, 202, 204):
            raise DeliveryFailed(f"unexpected HTTP {status} from {redact_url(self.endpoint_url)}")

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        payload = json_safe(total.values)
        payload["user"] = self._user
        self._channel.submit(payload, total.run_id)

    def exit(self) -> None:
        self._channel.close()


def __getattr__(name: str) -> Any:
    """``CodeCarbonAPIOutput`` lives in api.py; its documented import path is this module."""
    if name == "CodeCarbonAPIOutput":
        from codecarbon.output_methods.api import CodeCarbonAPIOutput

        return CodeCarbonAPIOutput
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
