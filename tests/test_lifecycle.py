"""Process exit, signals and fork (core/lifecycle.py), driven through real child processes."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from codecarbon.support.statedir import key_for_path

REPO = Path(__file__).resolve().parents[1]
POSIX_ONLY = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and POSIX signals")


def child_env(state: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), CODECARBON_STATE_DIR=str(state))


def csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def checkpoints(state: Path, csv_path: Path) -> list[Path]:
    folder = state / "runs" / key_for_path(csv_path)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


BUSY_CHILD = """
import os, sys, time
from pathlib import Path
from codecarbon import OfflineEmissionsTracker
from codecarbon.output_methods.base_output import BaseOutput

class SlowDelivery(BaseOutput):
    run_id = None
    def out(self, total, delta):
        self.run_id = total.run_id
        time.sleep(0.002)
    def live_out(self, total, delta):
        time.sleep(0.002)
    def exit(self):
        Path("stopped").write_text(str(self.run_id))

if len(sys.argv) > 2:  # every CSV write takes 20 ms, under the file's lock: the signal lands inside one
    from codecarbon.support import files
    real_write = files._write
    def slow_write(fd, data):
        time.sleep(0.02)
        return real_write(fd, data)
    files._write = slow_write

tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.02, api_call_interval=1,
                                  force_cpu_power=50.0, force_ram_power=5.0, on_csv_write=sys.argv[1],
                                  output_handlers=[SlowDelivery()])
tracker.start()
tracker.start_task("t")
print("started", tracker.run_id, flush=True)
while True:
    tracker.flush()
"""


def _signal_child(directory: Path, state: Path, mode: str, signum: int, delay: float, twice: bool,
                  results: dict) -> None:
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(BUSY_CHILD), *mode.split("+")], cwd=directory,
                             env=child_env(state), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        run_id = line[1] if len(line) == 2 else None
        time.sleep(delay)
        child.send_signal(signum)
        if twice:
            time.sleep(0.01)
            child.send_signal(signum)
        try:
            _, stderr = child.communicate(timeout=40)
            results[directory.name] = (run_id, child.returncode, stderr)
        except subprocess.TimeoutExpired:
            results[directory.name] = (run_id, "hung", "")
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()


CASES = [(signal.SIGTERM, d, False, "append") for d in (0.05, 0.2, 0.45, 0.8)] + \
        [(signal.SIGTERM, 0.3, False, "update"), (signal.SIGTERM, 0.25, True, "append"),
         (signal.SIGTERM, 0.6, True, "update")] + \
        [(signal.SIGINT, d, False, "append") for d in (0.1, 0.5)] + \
        [(signal.SIGINT, 0.35, False, "update"), (signal.SIGINT, 0.4, True, "append")] + \
        [(signal.SIGTERM, 0.3, False, "append+slowcsv"), (signal.SIGINT, 0.3, False, "append+slowcsv")]


@POSIX_ONLY
def test_signals_at_any_point_of_a_busy_run_end_it_promptly_with_its_row_or_checkpoint(tmp_path: Path) -> None:
    """SIGTERM/SIGINT, once or twice, land while the run writes its CSV, reads counters and delivers."""
    results: dict = {}
    threads = []
    for index, (signum, delay, twice, mode) in enumerate(CASES):
        directory = tmp_path / f"case{index}"
        directory.mkdir()
        thread = threading.Thread(target=_signal_child, args=(directory, tmp_path / f"state{index}", mode,
                                                              signum, delay, twice, results))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    for index, (signum, delay, twice, mode) in enumerate(CASES):
        directory = tmp_path / f"case{index}"
        run_id, code, stderr = results[directory.name]
        case = f"{signal.Signals(signum).name} at {delay} s{' twice' if twice else ''} ({mode})"
        assert code != "hung", f"{case}: the process did not end"
        assert run_id, f"{case}: {stderr}"
        if signum == signal.SIGTERM:
            assert code == -signal.SIGTERM, f"{case}: ended with {code}: {stderr}"
        rows = csv_rows(directory / "emissions.csv")
        assert all(len(row) == len(rows[0]) for row in rows), f"{case}: a row is cut"
        stopped = (directory / "stopped").exists()
        kept = [p.stem for p in checkpoints(tmp_path / f"state{index}", directory / "emissions.csv")]
        assert stopped or kept == [run_id], f"{case}: neither the final row nor a checkpoint: {stderr}"
        if stopped:
            assert any(row[2] == run_id for row in rows[1:])
            assert kept == [], f"{case}: the checkpoint outlived the stop"


@POSIX_ONLY
def test_sigterm_when_idle_writes_the_row_and_ends_by_the_signal(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        from codecarbon import OfflineEmissionsTracker
        tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=5)
        tracker.start()
        print("started", flush=True)
        import time
        time.sleep(60)
    """)], cwd=tmp_path, env=child_env(tmp_path / "state"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    assert child.stdout is not None and child.stdout.readline().startswith("started")
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGTERM
    assert len(csv_rows(tmp_path / "emissions.csv")) == 2


@POSIX_ONLY
def test_a_users_own_sigterm_handler_is_left_alone(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import os, signal, time
        signal.signal(signal.SIGTERM, lambda s, f: print("user handler", flush=True))
        from codecarbon import OfflineEmissionsTracker
        tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=5)
        tracker.start()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        tracker.stop()
        print("alive")
    """)], cwd=tmp_path, env=child_env(tmp_path / "state"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["user", "handler", "alive"]


FORK_CHILD = """
import multiprocessing, os, signal, sys, time
from pathlib import Path
from codecarbon import OfflineEmissionsTracker
from codecarbon.output_methods.base_output import BaseOutput

class Calls(BaseOutput):
    def _note(self, hook):
        with open(f"calls-{os.getpid()}", "a") as handle:
            handle.write(hook + "\\n")
    def out(self, total, delta): self._note("out")
    def live_out(self, total, delta): self._note("live_out")
    def exit(self): self._note("exit")

def work(x):
    time.sleep(0.05)
    return x * x

def checkpoint_files():
    root = Path(os.environ["CODECARBON_STATE_DIR"]) / "runs"
    return sorted(p.name for p in root.rglob("*.json"))

tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.05, api_call_interval=1,
                                  force_cpu_power=50.0, output_handlers=[Calls()])
tracker.start()
deadline = time.monotonic() + 20
while not checkpoint_files() and time.monotonic() < deadline:
    time.sleep(0.05)
print("checkpoint", checkpoint_files(), flush=True)

pid = os.fork()
if pid == 0:  # a child doing what a careless child would: flush, stop, exit normally (atexit runs)
    import threading
    assert not any(t.name == "codecarbon-sampler" for t in threading.enumerate())
    tracker.flush()
    tracker.start_task("x")
    tracker.stop()
    time.sleep(0.2)
    sys.exit(0)
os.waitpid(pid, 0)
print("after fork", checkpoint_files(), flush=True)

pid = os.fork()
if pid == 0:  # a child ended by SIGTERM (what Pool.terminate does to its workers)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    os._exit(3)
_, status = os.waitpid(pid, 0)
print("sigterm child", os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, flush=True)

with multiprocessing.get_context("fork").Pool(3) as pool:
    print("pool", sum(pool.map(work, range(12))), flush=True)
print("after pool", checkpoint_files(), flush=True)
time.sleep(0.2)
tracker.stop()
print("after stop", checkpoint_files(), flush=True)
"""


@POSIX_ONLY
def test_forked_children_and_a_pool_never_act_for_the_parents_run(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(FORK_CHILD)], cwd=tmp_path,
                            env=child_env(state), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    def said(prefix: str) -> str:
        return next(line for line in result.stdout.splitlines() if line.startswith(prefix + " "))[len(prefix) + 1:]

    first = said("checkpoint")
    assert first != "[]"
    assert said("after fork") == first  # a child that flushed, stopped and exited left the parent's checkpoint
    assert said("sigterm child") == "True"
    assert said("pool") == str(sum(x * x for x in range(12)))
    assert said("after pool") == first  # intact until the parent stops
    assert said("after stop") == "[]"
    rows = csv_rows(tmp_path / "emissions.csv")
    assert len(rows) == 2  # header + exactly one row for the run
    calls = sorted(p.name for p in tmp_path.glob("calls-*"))
    assert len(calls) == 1, f"outputs were called from children: {calls}"
    parent_calls = (tmp_path / calls[0]).read_text().split()
    assert parent_calls[-2:] == ["out", "exit"] and parent_calls.count("out") == 1


KILLED_RUN = """
from codecarbon import OfflineEmissionsTracker
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.05, project_name="killed")
tracker.start()
print("started", tracker.run_id, flush=True)
import time
while True:
    time.sleep(0.05)
"""

STARTER = """
import sys, time
from codecarbon import OfflineEmissionsTracker
go = float(sys.argv[1])
while time.time() < go:
    time.sleep(0.001)
t = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=5, project_name="next")
t.start(); t.stop()
"""


@POSIX_ONLY
def test_a_killed_run_is_recovered_exactly_once_by_trackers_starting_together(tmp_path: Path) -> None:
    state = tmp_path / "state"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED_RUN)], cwd=tmp_path,
                             env=child_env(state), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    run_id = child.stdout.readline().split()[1]
    deadline = time.monotonic() + 30
    while not checkpoints(state, tmp_path / "emissions.csv") and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert [p.stem for p in checkpoints(state, tmp_path / "emissions.csv")] == [run_id]

    go = time.time() + 4.0  # all import first, then start at the same instant
    starters = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(STARTER), str(go)], cwd=tmp_path,
                                 env=child_env(state), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(4)]
    for starter in starters:
        _, stderr = starter.communicate(timeout=60)
        assert starter.returncode == 0, stderr
    rows = csv_rows(tmp_path / "emissions.csv")
    projects = sorted(row[1] for row in rows[1:])
    assert projects == ["killed", "next", "next", "next", "next"]
    assert [row[2] for row in rows[1:]].count(run_id) == 1
    assert checkpoints(state, tmp_path / "emissions.csv") == []
