"""Apple CPU and GPU energy from macOS ``powermetrics``, run through ``sudo -n`` only.

powermetrics needs root. We never prompt for a password: ``sudo -n`` fails at once when the user has no
password-less rule for it, and then this source is simply unavailable (logged once, with the remedy).

When allowed, one long-lived ``sudo -n powermetrics --samplers cpu_power,gpu_power -i <ms> -f plist`` process
runs in the background for as long as a source is open. Each sample is a plist document (samples are separated
by NUL bytes) that reports the energy of the sampled interval (``cpu_energy``/``gpu_energy``, mJ) or, on some
releases and Intel Macs, the power (mW, W) and the interval's length (``elapsed_ns``); a reader thread adds
the samples up, so a source's reading is cumulative joules like every other source.

The process runner is a seam (``CommandRunner``): tests drive the parser and integrator with recorded output.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any, Optional, Protocol

from codecarbon.external.logger import log_once, logger
from codecarbon.hardware.base import EnergySource

METHOD = "powermetrics"
DEFAULT_INTERVAL_MS = 1000
REMEDY = ("allow it without a password: run `sudo visudo -f /etc/sudoers.d/codecarbon` and add the line "
          "`<your user name> ALL = (root) NOPASSWD: /usr/bin/powermetrics`")


class RunningProcess(Protocol):
    """What we need of a started process (``subprocess.Popen`` has all of it)."""

    stdout: Optional[IO[bytes]]

    def poll(self) -> Optional[int]: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: Optional[float] = None) -> int: ...


class CommandRunner(Protocol):
    """Runs commands: to completion (``run``) or in the background with a byte stream on stdout (``start``)."""

    def run(self, argv: Sequence[str], timeout: float) -> tuple[int, str]: ...

    def start(self, argv: Sequence[str]) -> RunningProcess: ...


class SubprocessRunner:
    """The real runner: no shell, no stdin (so nothing can ever wait on a password prompt)."""

    def run(self, argv: Sequence[str], timeout: float) -> tuple[int, str]:
        import subprocess

        try:
            done = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return 124, f"{argv[0]} timed out after {timeout} s"
        except OSError as error:
            return 127, str(error)
        return done.returncode, done.stdout.decode("utf-8", "replace")

    def start(self, argv: Sequence[str]) -> RunningProcess:
        import subprocess

        return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)


def powermetrics_command(interval_ms: int) -> list[str]:
    return ["sudo", "-n", "powermetrics", "--samplers", "cpu_power,gpu_power", "-i", str(int(interval_ms)),
            "-f", "plist"]


# ------------------------------------------------------------------------------------------ parsing samples

class PlistStream:
    """Splits powermetrics' plist output into samples; a sample may arrive across several reads."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[dict]:
        self._pending += data
        *complete, self._pending = self._pending.split(b"\0")
        return [s for s in (_load(chunk) for chunk in complete) if s is not None]

    def flush(self) -> list[dict]:
        """The last sample when the stream ended without a trailing NUL."""
        chunk, self._pending = self._pending, b""
        sample = _load(chunk)
        return [sample] if sample is not None else []


def _load(chunk: bytes) -> Optional[dict]:
    import plistlib  # imported on first use: it pulls in the XML parser

    chunk = chunk.strip()
    if not chunk:
        return None
    try:
        sample = plistlib.loads(chunk)
    except Exception as error:  # plistlib raises several kinds on a cut sample; each is skipped
        log_once("powermetrics-bad-sample", logging.DEBUG, "Skipping a powermetrics sample that is not a plist: %s",
                 error)
        return None
    return sample if isinstance(sample, dict) else None


def _number(table: Any, key: str) -> Optional[float]:
    if isinstance(table, dict):
        value = table.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def sample_energy(sample: dict) -> tuple[float, float]:
    """(CPU joules, GPU joules) of one sample's interval; energy fields first, power × elapsed otherwise."""
    elapsed_s = (_number(sample, "elapsed_ns") or 0.0) / 1e9
    processor = sample.get("processor", {})
    gpu = sample.get("gpu", {})

    cpu_j = 0.0
    if (value := _number(processor, "cpu_energy")) is not None:
        cpu_j = value / 1000.0
    elif (value := _number(processor, "cpu_power")) is not None:
        cpu_j = value / 1000.0 * elapsed_s
    elif (value := _number(processor, "package_joules")) is not None:  # Intel Macs
        cpu_j = value
    elif (value := _number(processor, "package_watts")) is not None:
        cpu_j = value * elapsed_s

    gpu_j = 0.0
    for table in (processor, gpu):
        if (value := _number(table, "gpu_energy")) is not None:
            gpu_j = value / 1000.0
            break
    else:
        for table in (processor, gpu):
            if (value := _number(table, "gpu_power")) is not None:
                gpu_j = value / 1000.0 * elapsed_s
                break
    return cpu_j, gpu_j


# ------------------------------------------------------------------------------------- the background session

class PowermetricsSession:
    """One powermetrics process shared by the CPU and GPU sources, running while either is open."""

    def __init__(self, runner: CommandRunner, interval_ms: int = DEFAULT_INTERVAL_MS) -> None:
        self._runner = runner
        self._interval_ms = interval_ms
        self._lock = threading.Lock()
        self._users = 0
        self._process: Optional[RunningProcess] = None
        self._reader: Optional[threading.Thread] = None
        self._stopping = False
        self.cpu_joules = 0.0
        self.gpu_joules = 0.0
        self.samples = 0

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._process is not None:
                return
            self._stopping = False
            try:
                process = self._runner.start(powermetrics_command(self._interval_ms))
            except Exception as error:  # sudo/powermetrics may fail in many ways; the CPU falls back
                log_once("powermetrics-start", logging.WARNING, "powermetrics could not be started (%s); Apple "
                         "CPU/GPU energy is not measured", error)
                return
            self._process = process
            self._reader = threading.Thread(target=self._read, args=(process,), name="codecarbon-powermetrics",
                                            daemon=True)
            self._reader.start()

    def release(self) -> None:
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users or self._process is None:
                return
            process, reader = self._process, self._reader
            self._process, self._reader, self._stopping = None, None, True
        _stop(process)
        if reader is not None:
            reader.join(timeout=2.0)

    def totals(self) -> tuple[float, float]:
        with self._lock:
            return self.cpu_joules, self.gpu_joules

    def wait_for_end_of_output(self, timeout: float = 10.0) -> bool:
        """Wait until the reader has consumed everything the process wrote (tests with finite output)."""
        reader = self._reader
        if reader is None:
            return True
        reader.join(timeout)
        return not reader.is_alive()

    def _add(self, samples: list[dict]) -> None:
        for sample in samples:
            cpu_j, gpu_j = sample_energy(sample)
            with self._lock:
                self.cpu_joules += cpu_j
                self.gpu_joules += gpu_j
                self.samples += 1

    def _read(self, process: RunningProcess) -> None:
        stream = PlistStream()
        out = process.stdout
        try:
            if out is not None:
                read = getattr(out, "read1", out.read)
                while True:
                    data = read(65536)
                    if not data:
                        break
                    self._add(stream.feed(data))
                self._add(stream.flush())
        except Exception as error:  # never raise from the background thread
            log_once("powermetrics-read", logging.WARNING, "Reading powermetrics failed (%s); Apple CPU/GPU "
                     "energy stops here", error)
            return
        code = process.poll()
        if not self._stopping and code not in (None, 0):
            log_once("powermetrics-exit", logging.WARNING, "powermetrics exited with status %s; Apple CPU/GPU "
                     "energy stops here. If it needs a password, %s", code, REMEDY)


def _stop(process: RunningProcess) -> None:
    try:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=2.0)
            except Exception:  # it would not end in time (or is gone): kill it
                process.kill()
    except Exception as error:  # stopping a helper process never fails a stop()
        logger.debug("stopping powermetrics failed: %s", error)


class PowermetricsSource(EnergySource):
    """The CPU or the GPU half of the powermetrics session, as cumulative joules since open()."""

    method = METHOD

    def __init__(self, session: PowermetricsSession, component: str) -> None:
        if component not in ("cpu", "gpu"):
            raise ValueError(f"component: expected 'cpu' or 'gpu'; got {component!r}")
        self.component = component  # type: ignore[assignment]
        self.session = session
        self._baseline = 0.0
        self._open = False

    def _total(self) -> float:
        cpu_j, gpu_j = self.session.totals()
        return cpu_j if self.component == "cpu" else gpu_j

    def open(self) -> None:
        if not self._open:
            self.session.acquire()
            self._open = True
        self._baseline = self._total()

    def read_joules(self) -> float:
        return max(0.0, self._total() - self._baseline)

    def close(self) -> None:
        if self._open:
            self._open = False
            self.session.release()


def detect_powermetrics(*, runner: Optional[CommandRunner] = None, platform: Optional[str] = None,
                        interval_ms: int = DEFAULT_INTERVAL_MS) -> list[EnergySource]:
    """A CPU and a GPU source when powermetrics may run without a password on this Mac; [] otherwise."""
    if (platform or sys.platform) != "darwin":
        return []
    if not isinstance(interval_ms, int) or isinstance(interval_ms, bool) or interval_ms < 100:
        raise ValueError(f"interval_ms: expected an int of at least 100 ms; got {interval_ms!r}")
    runner = runner or SubprocessRunner()
    code, output = runner.run(["sudo", "-n", "-l", "powermetrics"], timeout=10.0)
    if code != 0:
        lines = (output or "").strip().splitlines()
        reason = lines[0] if lines else f"exit status {code}"
        log_once("powermetrics-sudo", logging.WARNING,
                 "powermetrics needs root and sudo will not run it without a password (%s); Apple CPU/GPU power "
                 "is estimated instead of measured. To measure it, %s", reason, REMEDY)
        return []
    session = PowermetricsSession(runner, interval_ms)
    return [PowermetricsSource(session, "cpu"), PowermetricsSource(session, "gpu")]
