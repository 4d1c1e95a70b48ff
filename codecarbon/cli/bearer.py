"""Where the login's bearer token may go: an API the user chose, reached over https (or plain http on this machine).

A token is a key to the user's account, so two rules hold before any command attaches it:

- **Transport.** Only ``https://``, or ``http://`` to this machine (127.0.0.0/8, ::1, localhost: a local test API).
  Nothing overrides this: over plain http anybody on the path reads the token.
- **Whose choice.** ``api_endpoint`` may come from ``./.codecarbon.config``, the working directory's file: a cloned
  repository can ship one, and running ``codecarbon init`` or ``test-api`` inside it must not hand the token to
  whatever API it names. The token goes to CodeCarbon's own API, to an endpoint the user set themselves (the
  ``--api-endpoint`` argument, ``CODECARBON_API_ENDPOINT``, ``~/.codecarbon.config``), or to the API origin the
  login remembers (the one it was checked against when the user logged in). Anything else gets one warning that
  says how to confirm it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

#: credentials.json key: the API origin the login was checked against (see cli/auth.py)
REMEMBERED_ORIGIN_KEY = "api_origin"
ARGUMENT = "argument"


@dataclass(frozen=True)
class BearerTarget:
    """An API endpoint and whether the login token may be attached to requests to it (``refusal`` says why not)."""

    endpoint: str
    source: str
    refusal: str | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def origin(url: str) -> str:
    """``scheme://host:port`` in lower case, with the scheme's default port written out."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or (443 if scheme == 'https' else 80)}"


def on_this_machine(host: str) -> bool:
    host = host.lower().strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def transport_refusal(url: str) -> str | None:
    """Why a token must not travel to ``url`` (None when it may: https, or http to this machine)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return None
    if scheme == "http" and parts.hostname and on_this_machine(parts.hostname):
        return None
    return (f"your login token is only sent over https:// (plain http:// only to this machine); "
            f"{_shown(url)} would carry it in clear")


def _shown(url: str) -> str:
    from codecarbon.support.http import redact_url

    return redact_url(url)


def _user_chosen(source: str, home_config: Path) -> bool:
    if source in (ARGUMENT, "default") or source.upper().startswith("CODECARBON_"):
        return True
    try:
        return os.path.samefile(source, home_config)
    except OSError:
        return os.path.abspath(source) == os.path.abspath(home_config)


def bearer_target(endpoint: str, source: str, *, remembered: Iterable[str] = (),
                  home_config: Path | None = None, default_endpoint: str | None = None) -> BearerTarget:
    """Decide whether the login token may go to ``endpoint``, which came from ``source`` (a Settings source:
    "argument", "default", a CODECARBON_* variable or a config file's path)."""
    from codecarbon.core.config import CONFIG_FILE_NAME
    from codecarbon.core.parameters import DEFAULT_API_ENDPOINT

    refusal = transport_refusal(endpoint)
    if refusal is not None:
        return BearerTarget(endpoint, source, refusal)
    home = home_config if home_config is not None else Path(os.path.expanduser("~")) / CONFIG_FILE_NAME
    trusted = {origin(default_endpoint or DEFAULT_API_ENDPOINT)} | {origin(o) for o in remembered if o}
    if _user_chosen(source, home) or origin(endpoint) in trusted:
        return BearerTarget(endpoint, source)
    shown = _shown(endpoint)
    return BearerTarget(endpoint, source, (
        f"your login token is not sent to {shown}: api_endpoint comes from {source}, a folder's own config "
        f"(a cloned repository can set it). If you trust that API, confirm it: pass --api-endpoint {shown}, set "
        f"CODECARBON_API_ENDPOINT, or set api_endpoint in {home}"))
