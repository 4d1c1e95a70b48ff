"""Point the online tracker's location lookups at a closed port on 127.0.0.1, so they fail at once, offline."""

from __future__ import annotations

import socket

import pytest


def closed_local_url() -> str:
    """An http:// base URL on 127.0.0.1 where nothing listens (every request is refused immediately)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def no_geolocation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Geolocation and cloud metadata requests go nowhere: the online tracker then uses the world average."""
    from codecarbon.intensity import geolocation

    base = closed_local_url()
    monkeypatch.setattr(geolocation, "GEOJS_URL", f"{base}/geo.json")
    monkeypatch.setattr(geolocation, "IPINFO_URL", f"{base}/json")
    monkeypatch.setattr(geolocation, "METADATA_BASE", base)
