"""`codecarbon monitor`'s live line: redrawn in place on a (pseudo-)terminal, plain lines in a pipe, the summary
on Ctrl+C, and a drawing that never holds up the sampling."""

from __future__ import annotations

import csv
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from codecarbon.cli.monitor import LiveLine, live_text
from tests.fakes.servers import recording_server

REPO = Path(__file__).resolve().parents[1]
MONITOR = [sys.executable, "-m", "codecarbon.cli.main", "monitor", "--country-iso-code", "FRA",
           "--measure-power-secs", "0.5", "--log-level", "error"]


def _env(home: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(home)}


def _read_for(fd: int, seconds: float) -> bytes:
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    return out


def test_on_a_terminal_one_line_is_redrawn_in_place_and_ctrl_c_prints_the_summary(cwd: Path, home: Path):
    pid, fd = pty.fork()
    if pid == 0:  # the child: the monitor, its stdout a pseudo-terminal
        os.chdir(cwd)
        os.execve(sys.executable, MONITOR, _env(home))
    try:
        live = _read_for(fd, 4.5)
        os.kill(pid, signal.SIGINT)  # what Ctrl+C sends
        rest = _read_for(fd, 15)
    finally:
        _, status = os.waitpid(pid, 0)
    text = (live + rest).decode()
    assert os.waitstatus_to_exitcode(status) == 0, text
    redraws = text.split("\r\x1b[2K")[1:]
    assert len(redraws) >= 3, text  # the same line, rewritten every second
    for line in redraws[:-1]:
        assert "\n" not in line and "CPU " in line and "RAM " in line and "g CO2eq" in line
    assert redraws[0].startswith("0:00:0")
    summary = text[text.index("codecarbon report"):]
    assert "emissions:" in summary and "intensity: 56 g/kWh" in summary
    assert (cwd / "emissions.csv").is_file()


def test_in_a_pipe_a_plain_line_every_n_seconds(cwd: Path, home: Path):
    process = subprocess.Popen(MONITOR + ["--every", "0.5"], cwd=cwd, env=_env(home), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(3.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "\r" not in out and "\x1b" not in out
    live = [line for line in out.splitlines() if line.startswith("0:00:")]
    assert len(live) >= 3, out
    assert all("W (= " in line and line.endswith("g CO2eq") for line in live)
    assert "codecarbon report" in out


def test_a_blocked_terminal_does_not_hold_up_the_sampling(cwd: Path):
    from codecarbon import OfflineEmissionsTracker

    class StuckStream:
        """A terminal that stops accepting output (a paused pager, a full pipe): write blocks."""

        def __init__(self) -> None:
            self.release = threading.Event()
            self.writes = 0

        def write(self, text: str) -> int:
            self.writes += 1
            self.release.wait(30)
            return len(text)

        def flush(self) -> None:
            pass

    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.1, log_level="error",
                                      output_methods=[])
    tracker.start()
    stream = StuckStream()
    line = LiveLine(tracker, stream, every_s=0.05, in_place=True)
    line.start()
    try:
        deadline = time.monotonic() + 10
        while stream.writes == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stream.writes == 1  # the drawing thread is now stuck in write()
        ticks_before = tracker._sampler.read().ticks
        time.sleep(1.2)
        ticks_after = tracker._sampler.read().ticks
        assert ticks_after - ticks_before >= 6  # the sampler kept its 0.1 s pace meanwhile
    finally:
        stream.release.set()
        line.stop()
        tracker.stop()
    assert tracker.final_emissions_data is not None and tracker.final_emissions_data.duration > 1


def test_live_text_reads_like_a_status_line():
    text = live_text(3725.0, {"cpu": 45.25, "gpu": 1500.0, "ram": 6.0}, 1.5, 0.0425)
    assert text == "1:02:05  CPU 45.2 W GPU 1.50 kW RAM 6.0 W (= 1.55 kW)  1.500 kWh  42.5 g CO2eq"


# ------------------------------------------------------------------------------------------------- --no-api
def _run_monitor(cwd: Path, home: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    environment = dict(_env(home), PATH=os.environ.get("PATH", "/usr/bin:/bin"))
    return subprocess.run([*MONITOR, *args], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


SLEEPER = [sys.executable, "-c", "import time; time.sleep(1.5)"]


@pytest.mark.parametrize("config_line", ["output_methods = csv,api", "save_to_api = true"])
def test_no_api_posts_nothing_even_when_the_config_lists_the_api(cwd: Path, home: Path, config_line: str):
    with recording_server() as api:
        (cwd / ".codecarbon.config").write_text(f"[codecarbon]\n{config_line}\nexperiment_id = exp-1\n"
                                                f"api_endpoint = {api.url}\n")
        done = _run_monitor(cwd, home, "--no-api", "--", *SLEEPER)
        assert done.returncode == 0, done.stderr
        assert api.attempts == []
        (control,) = [_run_monitor(cwd, home, "--", *SLEEPER)]  # the same config without --no-api does post
        assert control.returncode == 0, control.stderr
        assert [r.path for r in api.received()][:2] == ["/runs", "/emissions"]
    with open(cwd / "emissions.csv", newline="") as stream:
        assert len(list(csv.DictReader(stream))) == 2
