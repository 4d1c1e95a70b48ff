"""The one HTTP client of this package: bounded in time and memory, careful with credentials, with a transport seam.

Why our own on ``http.client`` rather than urllib or requests: an output or a location probe must never let a
server hold the process. ``timeout_s`` bounds the whole exchange (connect, send, headers, body), not each socket
read, so a server that drips one byte a second cannot stretch it; the body is read up to ``max_body_bytes`` and
refused beyond, so an endless answer cannot grow memory. ``http://user:pass@host/`` sends HTTP Basic auth: the
user info never reaches the host name, a DNS query or a log line (use :func:`redact_url` in messages, or
:func:`redact_secrets` to keep the URL's shape with its user info and query tokens masked). A URL with
no scheme (``localhost:9091``, as 3.3.2's docs write them) means ``http://``. Environment proxies are honoured,
except for loopback and link-local hosts (tests, cloud metadata). Redirects are not followed: credentials stay with
the host they were given for.

Tests and callers may pass ``transport=``: a callable that receives the :class:`PreparedRequest` (URL already
without user info, headers already with the Authorization) and returns a :class:`Response`.
"""

from __future__ import annotations

import base64
import json as jsonlib
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from codecarbon.support.errors import CodeCarbonError, ConfigError

DEFAULT_MAX_BODY_BYTES = 256 * 1024
_CHUNK_BYTES = 64 * 1024
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DIRECT_PREFIXES = ("127.", "169.254.", "fe80:")
_DIRECT_HOSTS = ("localhost", "::1", "metadata.google.internal")


class HttpError(CodeCarbonError):
    """A request without a usable answer. ``status`` is the HTTP status when the server answered, else None."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def raise_for_status(self) -> Response:
        """This answer when it is a 2xx, else HttpError carrying the status."""
        if not self.ok:
            raise HttpError(f"HTTP {self.status}", self.status)
        return self

    def json(self) -> Any:
        try:
            return jsonlib.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise HttpError(f"answer is not JSON ({error})", self.status) from None


@dataclass(frozen=True)
class PreparedRequest:
    """What goes on the wire: ``url`` has no user info; credentials, if any, are in ``headers``."""

    method: str
    url: str
    headers: dict[str, str]
    body: Optional[bytes]
    timeout_s: float
    max_body_bytes: int
    deadline: float = field(default=0.0)  # time.monotonic() value by which the exchange must be over


Transport = Callable[[PreparedRequest], Response]


def with_scheme(url: str) -> str:
    """``host:port/...`` as ``http://host:port/...``; a URL that has a scheme is returned unchanged."""
    text = url.strip()
    return text if _SCHEME.match(text) else f"http://{text}"


def check_url(name: str, url: Any) -> str:
    """The http(s) URL a setting names (scheme added when missing); ConfigError naming ``name`` otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {url!r}")
    full = with_scheme(url)
    if any(c.isspace() for c in full):
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {redact_url(full)!r} (with spaces)")
    try:
        parts = urllib.parse.urlsplit(full)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"{name} is not a valid URL: {redact_url(full)!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {redact_url(full)!r}")
    return full


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment: safe to log."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<invalid url>"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


#: Query (or fragment) parameters whose values are credentials: compared in lower case without "-" and "_",
#: and any name ending in one of _SECRET_SUFFIXES counts too (``x-amz-security-token``, ``client_secret``).
_SECRET_PARAMETERS = frozenset({"token", "accesstoken", "refreshtoken", "idtoken", "apikey", "apitoken", "key",
                                "auth", "authorization", "bearer", "jwt", "password", "passwd", "pwd", "pass",
                                "secret", "signature", "sig", "code", "session", "sessionid", "sid",
                                "credential", "credentials", "privatetoken"})
_SECRET_SUFFIXES = ("token", "secret", "password", "apikey", "signature", "credential")
_PARAMETER = re.compile(r"([?&#;])([^=&#;?\s'\"]+)=([^&#;\s'\"]*)")
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/@'\"]+@")


def secret_parameter(name: str) -> bool:
    """Whether a query parameter of this name carries a credential (``token``, ``access_token``, ``api_key``...)."""
    plain = urllib.parse.unquote(name).lower().replace("-", "").replace("_", "")
    return plain in _SECRET_PARAMETERS or plain.endswith(_SECRET_SUFFIXES)


def redact_secrets(text: str) -> str:
    """``text`` (a URL, or a message quoting URLs or request targets) with user info and credential-bearing
    query values masked (``https://***@host/p?token=***&page=2``); the rest is kept so that it still helps."""
    masked = _USERINFO.sub(r"\1***@", text)

    def mask(match: re.Match) -> str:
        if not secret_parameter(match.group(2)):
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}=***"

    return _PARAMETER.sub(mask, masked)


def split_credentials(url: str) -> tuple[str, Optional[tuple[str, str]]]:
    """(the URL without user info, (user, password) or None). Percent-encoded user info is decoded."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, (urllib.parse.unquote(user), urllib.parse.unquote(password))


def basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def request(method: str, url: str, *, json: Any = None, data: Optional[bytes] = None,
            headers: Optional[Mapping[str, str]] = None, timeout_s: float,
            max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, transport: Optional[Transport] = None) -> Response:
    """One exchange, over within ``timeout_s``. Any HTTP status comes back as a Response (see
    ``raise_for_status``); no answer at all (refused, timed out, too large, bad URL) raises HttpError."""
    if json is not None and data is not None:
        raise ValueError("pass json= or data=, not both")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
    full = with_scheme(url)
    try:
        clean, credentials = split_credentials(full)
        parts = urllib.parse.urlsplit(clean)
        parts.port  # noqa: B018
    except ValueError:
        raise HttpError(f"not a valid URL: {redact_url(full)}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise HttpError(f"not an http(s) URL: {redact_url(full)}")
    sent_headers = {str(k): str(v) for k, v in (headers or {}).items()}
    if json is not None:
        data = jsonlib.dumps(json, allow_nan=False).encode("utf-8")
        if not any(k.lower() == "content-type" for k in sent_headers):
            sent_headers["Content-Type"] = "application/json"
    if credentials is not None and not any(k.lower() == "authorization" for k in sent_headers):
        sent_headers["Authorization"] = basic_auth(*credentials)
    prepared = PreparedRequest(method.upper(), clean, sent_headers, data, float(timeout_s), int(max_body_bytes),
                               time.monotonic() + float(timeout_s))
    send = transport or http_client_transport
    try:
        return send(prepared)
    except HttpError:
        raise
    except Exception as error:  # resets, timeouts, TLS, DNS: all mean "no answer"
        raise HttpError(f"{redact_url(clean)}: {type(error).__name__}: {redact_secrets(str(error))}") from None


def get_json(url: str, *, timeout_s: float, headers: Optional[Mapping[str, str]] = None,
             transport: Optional[Transport] = None) -> Any:
    """GET a 2xx JSON answer (HttpError otherwise)."""
    return request("GET", url, headers=headers, timeout_s=timeout_s, transport=transport).raise_for_status().json()


# ---- the default transport ------------------------------------------------------------------------------

def _goes_direct(host: str) -> bool:
    host = host.lower()
    return host in _DIRECT_HOSTS or host.startswith(_DIRECT_PREFIXES)


def _proxy_for(scheme: str, host: str) -> Optional[str]:
    import urllib.request  # only the proxy helpers; loaded on the first request, not at import

    if _goes_direct(host):
        return None
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return with_scheme(proxy)


class _Watchdog:
    """Shuts the connection's socket down at the deadline, so no read or write outlives it (slow drips too)."""

    def __init__(self, connection: Any, deadline: float) -> None:
        self._connection = connection
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self.fired = False

    def _fire(self) -> None:
        self.fired = True
        sock = getattr(self._connection, "sock", None)
        if sock is not None:
            import socket

            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def http_client_transport(prepared: PreparedRequest) -> Response:
    """Send ``prepared`` with http.client; the whole exchange ends by ``prepared.deadline``."""
    import http.client

    parts = urllib.parse.urlsplit(prepared.url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    headers = dict(prepared.headers)
    remaining = max(0.001, prepared.deadline - time.monotonic())
    proxy = _proxy_for(scheme, host)
    connection: http.client.HTTPConnection
    if proxy is None:
        connection = (http.client.HTTPSConnection(host, port, timeout=remaining) if scheme == "https"
                      else http.client.HTTPConnection(host, port, timeout=remaining))
    else:
        proxy_url, proxy_credentials = split_credentials(proxy)
        proxy_parts = urllib.parse.urlsplit(proxy_url)
        proxy_host, proxy_port = proxy_parts.hostname or "", proxy_parts.port or 8080
        proxy_headers = ({"Proxy-Authorization": basic_auth(*proxy_credentials)} if proxy_credentials else {})
        if scheme == "https":
            connection = http.client.HTTPSConnection(proxy_host, proxy_port, timeout=remaining)
            connection.set_tunnel(host, port, headers=proxy_headers)
        else:
            connection = http.client.HTTPConnection(proxy_host, proxy_port, timeout=remaining)
            target = urllib.parse.urlunsplit(("http", f"{host}:{port}", parts.path or "/", parts.query, ""))
            headers.update(proxy_headers)
    with _Watchdog(connection, prepared.deadline) as watchdog:
        try:
            connection.request(prepared.method, target, body=prepared.body, headers=headers)
            answer = connection.getresponse()
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() >= prepared.deadline:
                    raise TimeoutError
                chunk = answer.read(min(_CHUNK_BYTES, prepared.max_body_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > prepared.max_body_bytes:
                    raise HttpError(f"{redact_url(prepared.url)}: answer larger than {prepared.max_body_bytes} "
                                    "bytes", answer.status)
            if watchdog.fired:
                raise TimeoutError
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, b"".join(chunks))
        except HttpError:
            raise
        except Exception as error:  # the transport's failures all become HttpError below
            if watchdog.fired or isinstance(error, TimeoutError):
                raise HttpError(f"{redact_url(prepared.url)}: timed out (no complete answer within "
                                f"{prepared.timeout_s:g} s)") from None
            raise
        finally:
            connection.close()
