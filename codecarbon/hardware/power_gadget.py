"""CPU package energy from Intel Power Gadget (Windows and Intel Macs; discontinued by Intel, still in use).

Power Gadget's ``PowerLog`` (``PowerLog3.0.exe`` on Windows) samples the RAPL counters for a given duration
and writes a CSV log whose ``Cumulative Processor Energy_<package>(Joules)`` columns, and the summary lines
at its end, give the energy of each package over that run. A background thread runs PowerLog back to back
in short chunks and adds each chunk's energy, so a reading is cumulative joules since open(), behind by at
most one chunk. The process runner is a seam: tests hand it recorded CSV text.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Optional

from codecarbon.external.logger import log_once, logger
from codecarbon.hardware.base import EnergySource
from codecarbon.hardware.powermetrics import CommandRunner, SubprocessRunner

METHOD = "power-gadget"
DEFAULT_CHUNK_S = 2
_SUMMARY = re.compile(r"^\s*Cumulative Processor Energy_(\d+)\s*\(Joules\)\s*=\s*([0-9.eE+-]+)\s*$")
_COLUMN = re.compile(r"^\s*Cumulative Processor Energy_(\d+)\s*\(Joules\)\s*$")
_MAX_FAILURES = 3


def parse_powerlog(text: str) -> Optional[float]:
    """Joules of all packages over one PowerLog run: the summary lines when present, else the last row."""
    import csv
    import io

    summary: dict[str, float] = {}
    for line in text.splitlines():
        match = _SUMMARY.match(line)
        if match:
            summary[match.group(1)] = float(match.group(2))
    if summary:
        return sum(summary.values())
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if not rows:
        return None
    header = rows[0]
    columns = [i for i, name in enumerate(header) if _COLUMN.match(name)]
    if not columns:
        return None
    for row in reversed(rows[1:]):
        if len(row) < len(header):
            continue
        try:
            return sum(float(row[i]) for i in columns)
        except ValueError:
            continue
    return None


def powerlog_command(binary: str, duration_s: int, log_path: str) -> list[str]:
    return [binary, "-resolution", "100", "-duration", str(int(duration_s)), "-file", log_path]


class PowerGadgetSource(EnergySource):
    """Cumulative CPU package energy measured by Intel Power Gadget's PowerLog."""

    component = "cpu"
    method = METHOD

    def __init__(self, binary: str, runner: Optional[CommandRunner] = None, *,
                 chunk_s: int = DEFAULT_CHUNK_S) -> None:
        if not isinstance(chunk_s, int) or isinstance(chunk_s, bool) or chunk_s < 1:
            raise ValueError(f"chunk_s: expected a whole number of seconds >= 1; got {chunk_s!r}")
        self.binary = binary
        self._runner = runner or SubprocessRunner()
        self._chunk_s = chunk_s
        self._lock = threading.Lock()
        self._total = 0.0
        self._baseline = 0.0
        self._failures = 0
        self.chunks = 0
        self._stop = threading.Event()
        self._stop.set()
        self._thread: Optional[threading.Thread] = None

    def collect_once(self, stop: Optional[threading.Event] = None) -> Optional[float]:
        """Run PowerLog for one chunk and add its energy; the joules added, or None when the run failed.

        A chunk that ends after ``stop`` was set (the source was closed meanwhile) is not counted.
        """
        import secrets

        from codecarbon.support.statedir import state_dir

        path = ""
        try:  # in our private state directory: a shared temp folder would let others plant the name first
            path = str(state_dir("powerlog") / f"powerlog-{secrets.token_hex(12)}.csv")  # PowerLog creates it
            code, output = self._runner.run(powerlog_command(self.binary, self._chunk_s, path),
                                            timeout=self._chunk_s + 30.0)
            text = ""
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            joules = parse_powerlog(text) if code == 0 else None
        except Exception as error:  # the vendor tool may fail in any way; the reading is then skipped
            code, output, joules = -1, str(error), None
        finally:
            if path:
                try:
                    os.remove(path)
                except OSError:
                    pass
        if joules is None:
            self._failures += 1
            log_once("power-gadget-run", logging.WARNING, "Intel Power Gadget's PowerLog gave no energy (status %s: "
                     "%s); CPU energy from it may be incomplete", code, (output or "").strip()[:200])
            return None
        self._failures = 0
        if stop is not None and stop.is_set():
            return None
        with self._lock:
            self._total += max(0.0, joules)
            self.chunks += 1
        return joules

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.collect_once(stop)
            if self._failures >= _MAX_FAILURES:
                log_once("power-gadget-stop", logging.WARNING, "Intel Power Gadget failed %d times in a row; it is "
                         "no longer read", _MAX_FAILURES)
                return

    def open(self) -> None:
        with self._lock:
            self._baseline = self._total
        if self._thread is not None and self._thread.is_alive() and not self._stop.is_set():
            return
        self._failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(self._stop,), name="codecarbon-power-gadget",
                                        daemon=True)
        self._thread.start()

    def read_joules(self) -> float:
        with self._lock:
            return max(0.0, self._total - self._baseline)

    def close(self) -> None:
        """Stop after the chunk in progress (not waited for: stop() must stay quick)."""
        self._stop.set()

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait for the background loop to end (tests; a loop ends after close() or repeated failures)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()


def _candidates(platform: str, environ: Mapping[str, str], which: Callable[[str], Optional[str]]) -> list[str]:
    found: list[Optional[str]] = []
    if platform == "darwin":
        found += ["/Applications/Intel Power Gadget/PowerLog", which("PowerLog")]
    elif platform == "win32":
        install = environ.get("IPG_Dir") or environ.get("IPG_DIR")
        if install:
            found.append(os.path.join(install, "PowerLog3.0.exe"))
        found += [r"C:\Program Files\Intel\Power Gadget 3.0\PowerLog3.0.exe", which("PowerLog3.0.exe")]
    return [path for path in found if path]


def detect_power_gadget(*, runner: Optional[CommandRunner] = None, platform: Optional[str] = None,
                        environ: Optional[Mapping[str, str]] = None, candidates: Optional[Sequence[str]] = None,
                        chunk_s: int = DEFAULT_CHUNK_S) -> list[EnergySource]:
    """A CPU source when Intel Power Gadget's PowerLog is installed (Windows, macOS); [] otherwise."""
    platform = platform or sys.platform
    if candidates is None:
        if platform not in ("darwin", "win32"):
            return []
        candidates = _candidates(platform, os.environ if environ is None else environ, shutil.which)
    for path in candidates:
        if os.path.isfile(path):
            logger.debug("Intel Power Gadget found at %s", path)
            return [PowerGadgetSource(path, runner, chunk_s=chunk_s)]
    return []
