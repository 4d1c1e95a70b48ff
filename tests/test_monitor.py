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


def _read_until(fd: int, marker: bytes, seconds: float) -> bytes:
    out = b""
    deadline = time.monotonic() + seconds
    while marker not in out and time.monotonic() < deadline:
        out += _read_for(fd, 0.2)
    return out


def _reap(pid: int, seconds: float) -> int:
    """The child's wait status; a child still running after ``seconds`` is killed (the test then fails on it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def test_on_a_terminal_one_line_is_redrawn_in_place_and_ctrl_c_prints_the_summary(cwd: Path, home: Path):
    pid, fd = pty.fork()
    if pid == 0:  # the child: the monitor, its stdout a pseudo-terminal
        os.chdir(cwd)
        os.execve(sys.executable, MONITOR, _env(home))
    try:
        # on a loaded machine the start can take seconds: the live lines are counted from the monitor's first words
        started = _read_until(fd, b"press Ctrl+C", 60)
        live = started + _read_for(fd, 4.5)
        os.kill(pid, signal.SIGINT)  # what Ctrl+C sends
        rest = _read_for(fd, 60)  # until the monitor closes the terminal (its end), read all it writes
    finally:
        status = _reap(pid, 30)
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
    assert text == "1:02:05  CPU 45.2 W GPU 1.50 kW RAM 6.0 W (= 1.55 kW)  1.5 kWh  42.5 g CO2eq"


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


# ---------------------------------------------------------------------------------- monitor -- CMD: signals, stdout
CHILD = """
import os, pathlib, signal, sys, time
marker = pathlib.Path(sys.argv[1])
seen = []
for name in sys.argv[2:]:
    signal.signal(getattr(signal, name), lambda signum, frame: seen.append(signum))
marker.write_text(f"ready {os.getpid()}")
deadline = time.monotonic() + 60
while not seen and time.monotonic() < deadline:
    time.sleep(0.05)
time.sleep(0.5)  # a second copy of the signal, if one were sent, would arrive meanwhile
marker.write_text(",".join(signal.Signals(s).name for s in seen))
sys.exit(40 + len(seen))
"""


def _start_monitor(cwd: Path, home: Path, marker: Path, *handled: str, **popen) -> subprocess.Popen:
    """The monitor in a session of its own (no controlling terminal: nothing else sends the command signals)."""
    environment = dict(_env(home), PATH=os.environ.get("PATH", "/usr/bin:/bin"))
    options = dict(stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    options.update(popen)
    return subprocess.Popen([*MONITOR, "--", sys.executable, "-c", CHILD, str(marker), *handled], cwd=cwd,
                            env=environment, start_new_session=True, **options)


def _wait_ready(marker: Path, process: subprocess.Popen) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        text = marker.read_text() if marker.exists() else ""
        if text.startswith("ready "):
            return int(text.split()[1])
        time.sleep(0.05)
    raise AssertionError(f"the command never started: {process.stderr.read() if process.stderr else ''}")


def _finish(process: subprocess.Popen, timeout: float = 60) -> str:
    try:
        _, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return err or ""


def _one_row(cwd: Path) -> dict[str, str]:
    with open(cwd / "emissions.csv", newline="") as stream:
        (row,) = list(csv.DictReader(stream))
    return row


@pytest.mark.parametrize("name", ["SIGHUP", "SIGUSR1", "SIGUSR2", "SIGINT", "SIGQUIT", "SIGTERM"])
def test_signals_to_the_monitor_reach_the_command_once_and_the_row_is_written(cwd: Path, home: Path, name: str):
    marker = cwd.parent / "marker"
    process = _start_monitor(cwd, home, marker, name)
    _wait_ready(marker, process)
    process.send_signal(getattr(signal, name))
    err = _finish(process)
    assert process.returncode == 41, err  # the command's own exit status: it saw the signal exactly once
    assert marker.read_text() == name
    assert _one_row(cwd)["tracking_mode"] == "process"


def test_a_command_killed_by_a_forwarded_hangup_leaves_no_orphan_and_a_row(cwd: Path, home: Path):
    marker = cwd.parent / "marker"
    process = _start_monitor(cwd, home, marker)  # the command keeps the default dispositions
    child = _wait_ready(marker, process)
    process.send_signal(signal.SIGHUP)
    err = _finish(process)
    assert process.returncode == 128 + signal.SIGHUP, err  # what a shell reports for a command killed by SIGHUP
    assert marker.read_text().startswith("ready")  # it died by the signal, as it would have without the monitor
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    assert float(_one_row(cwd)["duration"]) > 0


EXIT_3 = [sys.executable, "-c", "import sys, time; time.sleep(0.5); sys.exit(3)"]


def test_the_exit_status_survives_a_closed_stdout(cwd: Path, home: Path):
    """`codecarbon monitor -- CMD | head -0`: the reader is gone before the report is printed."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = subprocess.Popen([*MONITOR, "--", *EXIT_3], cwd=cwd, env=dict(_env(home)), stdout=write_end,
                                   stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    finally:
        os.close(write_end)
    err = _finish(process)
    assert process.returncode == 3, err
    assert "Traceback" not in err
    _one_row(cwd)


def test_the_exit_status_survives_a_full_stdout(cwd: Path, home: Path):
    """A reader that stopped reading: the report is given up after a bound, the command's status returned."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b"x" * 65536)
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)
    try:
        process = subprocess.Popen([*MONITOR, "--", *EXIT_3], cwd=cwd, env=dict(_env(home)), stdout=write_end,
                                   stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        os.close(write_end)
        err = _finish(process, timeout=90)
    finally:
        os.close(read_end)
    assert process.returncode == 3, err
    _one_row(cwd)


def test_the_report_and_the_live_line_of_a_short_run_read_without_e_notation(cwd: Path, home: Path) -> None:
    """One second of a light command is micrograms and microwatt-hours: scaled units, never ``1.03e-05 g``."""
    import re

    from codecarbon import OfflineEmissionsTracker
    from codecarbon.cli.monitor import plan_monitor, report_text

    plan = plan_monitor(measure_power_secs=None, api_call_interval=None, api=False, offline=True,
                        country_iso_code="FRA", region=None, project_name=None, log_level="error",
                        process_mode=True, prometheus_port=None, prometheus_host=None)
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", force_cpu_power=1.0, force_ram_power=0.1,
                                      log_level="error")
    tracker.start()
    tracker.stop()
    text = report_text(tracker, plan)
    figures = text.split("  csv:")[0]
    assert not re.search(r"\de[-+]?\d", figures), text
    assert re.search(r"emissions: [\d.]+ (ng|µg) CO2eq\n", text), text
    assert re.search(r"energy:    [\d.]+ (nWh|µWh|mWh) \(CPU [\d.]+ (nWh|µWh|mWh), GPU 0 Wh, RAM ", text), text
    assert live_text(1.0, {"cpu": 1.0}, 2.8e-7, 1.6e-8) == "0:00:01  CPU 1.0 W GPU 0.0 W RAM 0.0 W (= 1.0 W)  " \
        "280 µWh  16 µg CO2eq"
