"""A small bounded HTTP client on urllib, shared by the live-intensity and geolocation lookups.

Why not requests: it is heavy to import and not a dependency. Every call has a socket timeout and a cap on the
body size, and loopback / link-local hosts (tests, cloud metadata) never go through a configured proxy.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

MAX_BODY_BYTES = 256 * 1024
_DIRECT_HOSTS = ("127.", "169.254.", "localhost", "[::1]", "::1", "metadata.google.internal")


class HttpError(Exception):
    """A request that did not give a usable answer; the message says why (status, timeout, refused...)."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HttpError(f"answer is not JSON ({error})", self.status) from None


def _opener_for(url: str) -> urllib.request.OpenerDirector:
    import urllib.request  # http.client, email, ...: loaded on the first request, not at import

    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if host.startswith(_DIRECT_HOSTS) or host in _DIRECT_HOSTS:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def request(url: str, *, timeout_s: float, headers: Optional[Mapping[str, str]] = None,
            method: str = "GET", data: Optional[bytes] = None) -> Response:
    """One request; a 2xx answer comes back, anything else raises HttpError."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)
    try:
        with _opener_for(url).open(req, timeout=timeout_s) as answer:
            body = answer.read(MAX_BODY_BYTES + 1)
            if len(body) > MAX_BODY_BYTES:
                raise HttpError(f"answer larger than {MAX_BODY_BYTES} bytes", answer.status)
            return Response(answer.status, {k.lower(): v for k, v in answer.headers.items()}, body)
    except urllib.error.HTTPError as error:
        error.close()
        raise HttpError(f"HTTP {error.code} {error.reason}", error.code) from None
    except HttpError:
        raise
    except Exception as error:  # URLError, timeouts, resets, bad URLs: all mean "no answer"
        reason = getattr(error, "reason", None) or error
        raise HttpError(f"{type(error).__name__}: {reason}") from None


def get_json(url: str, *, timeout_s: float, headers: Optional[Mapping[str, str]] = None) -> Any:
    return request(url, timeout_s=timeout_s, headers=headers).json()
