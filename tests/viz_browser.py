"""Headless Chromium (Debian's `chromium` package) for the tests of the views: the DOM after scripts ran, and a
screenshot. Network is cut off (every host name fails to resolve, a dead proxy), so a chart that needs a CDN
fails the test instead of passing on a connected machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

OFFLINE_FLAGS = ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=127.0.0.1:9",
                 "--proxy-bypass-list=127.0.0.1")


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    raise AssertionError  # unreachable


def _command(url: str, *extra: str, budget_ms: int) -> list[str]:
    command = [chromium_binary(), "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
               "--hide-scrollbars", f"--virtual-time-budget={budget_ms}", *OFFLINE_FLAGS, *extra, url]
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return command


def _profile(tmp_path: Path) -> str:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return f"--user-data-dir={profile}"


def dump_dom(url: str, tmp_path: Path, budget_ms: int = 15000, extra: tuple[str, ...] = ()) -> str:
    """The page's DOM once its scripts ran (virtual time lets timers and fetches finish)."""
    done = subprocess.run(_command(url, "--dump-dom", _profile(tmp_path), *extra, budget_ms=budget_ms),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(url: str, path: Path, tmp_path: Path, size: str = "1200,3200", budget_ms: int = 15000) -> Path:
    done = subprocess.run(_command(url, f"--screenshot={path}", f"--window-size={size}", _profile(tmp_path),
                                   budget_ms=budget_ms), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and path.is_file() and path.stat().st_size > 10_000, done.stderr[-2000:]
    return path


LAYOUT_SCRIPT = Path(__file__).with_name("viz_layout.js")


def measured_layout(page: Path, tmp_path: Path, budget_ms: int = 15000, width: int = 1200) -> tuple[dict, str]:
    """What Chromium drew, measured by `viz_layout.js` in a window ``width`` px wide (overlaps of the location
    chart's right axis, of the map's markers and labels, the run table's fit), and the DOM."""
    import html
    import json
    import re

    measured = tmp_path / f"measured-{page.name}"
    text = page.read_text(encoding="utf-8")
    measured.write_text(text.replace("</body>", f"<script>{LAYOUT_SCRIPT.read_text()}</script></body>"),
                        encoding="utf-8")
    dom = dump_dom(measured.as_uri(), tmp_path, budget_ms=budget_ms, extra=(f"--window-size={width},3400",))
    found = re.search(r'data-layout="([^"]*)"', dom)
    assert found, "the layout was not measured (charts not drawn?)"
    return json.loads(html.unescape(found.group(1))), dom
