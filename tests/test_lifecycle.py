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


def wait_for(condition, timeout_s: float = 60.0) -> bool:
    """Poll ``condition`` until it holds (a checkpoint written, a marker file): no fixed sleep to tune."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


BUSY_ZYGOTE = """
import os, sys, time
from pathlib import Path
from codecarbon import OfflineEmissionsTracker  # imported once: every case is a fork of this process
from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.support import files

class SlowDelivery(BaseOutput):
    run_id = None
    def out(self, total, delta):
        self.run_id = total.run_id
        time.sleep(0.002)
    def live_out(self, total, delta):
        time.sleep(0.002)
    def exit(self):
        Path("stopped").write_text(str(self.run_id))

def say(text):
    os.write(1, (text + "\\n").encode())  # one write per line: the cases share this pipe

def busy_run(case, directory, state, mode):
    os.chdir(directory)
    os.environ["CODECARBON_STATE_DIR"] = state
    os.dup2(os.open("stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    if "slowcsv" in mode:  # every CSV write takes 20 ms, under the file's lock: the signal lands inside one
        real_write = files._write
        def slow_write(fd, data):
            time.sleep(0.02)
            return real_write(fd, data)
        files._write = slow_write
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.02, api_call_interval=1,
                                      force_cpu_power=50.0, force_ram_power=5.0,
                                      on_csv_write=mode.split("+")[0], output_handlers=[SlowDelivery()])
    tracker.start()
    tracker.start_task("t")
    say(f"started {case} {os.getpid()} {tracker.run_id}")
    while True:
        tracker.flush()

cases = int(sys.argv[1])
forked = {}
for _ in range(cases):
    case, directory, state, mode = sys.stdin.readline().split()
    pid = os.fork()
    if pid == 0:  # the case's process: it ends by the signal (or, for SIGINT, as Python ends on one)
        busy_run(case, directory, state, mode)
    forked[pid] = case
while forked:
    pid, status = os.wait()
    say(f"ended {forked.pop(pid)} {os.waitstatus_to_exitcode(status)}")
"""


class _Case:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.ended = threading.Event()
        self.pid = 0
        self.run_id = ""
        self.code: object = "hung"


def _read_zygote(stdout, cases: dict[str, _Case]) -> None:
    for line in stdout:
        word, name, *rest = line.split()
        case = cases[name]
        if word == "started":
            case.pid, case.run_id = int(rest[0]), rest[1]
            case.started.set()
        elif word == "ended":
            case.code = int(rest[0])
            case.ended.set()
            case.started.set()  # a case that ended before it started: its waiter stops waiting


def _signal_case(case: _Case, state: Path, csv_path: Path, signum: int, delay: float, twice: bool) -> None:
    """Once the run is busy and has its first checkpoint (a run younger than that is lost to any kill, by
    design), let ``delay`` of busy run pass, then signal it once or twice."""
    if not case.started.wait(60) or case.ended.is_set():
        return
    wait_for(lambda: checkpoints(state, csv_path) or case.ended.is_set())
    time.sleep(delay)
    os.kill(case.pid, signum)
    if twice:
        time.sleep(0.01)
        try:
            os.kill(case.pid, signum)
        except ProcessLookupError:
            pass
    if not case.ended.wait(40):
        os.kill(case.pid, signal.SIGKILL)


def _durations(path: Path, run_id: str) -> list[float]:
    rows = csv_rows(path) if path.exists() else []
    assert all(len(row) == len(rows[0]) for row in rows), "a row is cut"
    return [float(row[4]) for row in rows[1:] if row[2] == run_id]


CASES = [(signal.SIGTERM, d, False, "append") for d in (0.05, 0.2, 0.45, 0.8)] + \
        [(signal.SIGTERM, 0.3, False, "update"), (signal.SIGTERM, 0.25, True, "append"),
         (signal.SIGTERM, 0.6, True, "update")] + \
        [(signal.SIGINT, d, False, "append") for d in (0.1, 0.5)] + \
        [(signal.SIGINT, 0.35, False, "update"), (signal.SIGINT, 0.4, True, "append")] + \
        [(signal.SIGTERM, 0.3, False, "append+slowcsv"), (signal.SIGINT, 0.3, False, "append+slowcsv")]


@POSIX_ONLY
def test_signals_at_any_point_of_a_busy_run_end_it_promptly_with_its_row_or_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM/SIGINT, once or twice, land while the run writes its CSV, reads counters and delivers; then the
    next tracker on the CSV recovers what a second signal cut short, and never writes a run twice.

    The cases are forks of one process that imported codecarbon once (13 interpreters starting together were
    most of this test's time on a loaded machine), and each is signalled only once its run is busy."""
    from codecarbon.core.state import _read_checkpoint, recover_orphans
    from codecarbon.output_methods.file import FileOutput

    cases = {str(index): _Case() for index in range(len(CASES))}
    zygote = subprocess.Popen([sys.executable, "-c", textwrap.dedent(BUSY_ZYGOTE), str(len(CASES))], cwd=tmp_path,
                              env=child_env(tmp_path / "unused-state"), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert zygote.stdin is not None and zygote.stdout is not None
    reader = threading.Thread(target=_read_zygote, args=(zygote.stdout, cases), daemon=True)
    reader.start()
    threads = []
    try:
        for index, (signum, delay, twice, mode) in enumerate(CASES):
            directory, state = tmp_path / f"case{index}", tmp_path / f"state{index}"
            directory.mkdir()
            zygote.stdin.write(f"{index} {directory} {state} {mode}\n")
            zygote.stdin.flush()
            thread = threading.Thread(target=_signal_case, args=(cases[str(index)], state,
                                                                 directory / "emissions.csv", signum, delay, twice))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        zygote.wait(timeout=60)
    finally:
        for case in cases.values():
            if case.pid and not case.ended.is_set():
                os.kill(case.pid, signal.SIGKILL)
        if zygote.poll() is None:
            zygote.kill()
        zygote.communicate()
    for index, (signum, delay, twice, mode) in enumerate(CASES):
        directory, state, case = tmp_path / f"case{index}", tmp_path / f"state{index}", cases[str(index)]
        csv_path = directory / "emissions.csv"
        name = f"{signal.Signals(signum).name} at {delay} s{' twice' if twice else ''} ({mode})"
        stderr = (directory / "stderr.txt").read_text() if (directory / "stderr.txt").exists() else ""
        assert case.code != "hung", f"{name}: the process did not end"
        assert case.run_id, f"{name}: {stderr}"
        if signum == signal.SIGTERM:
            assert case.code == -signal.SIGTERM, f"{name}: ended with {case.code}: {stderr}"
        written = _durations(csv_path, case.run_id)
        kept = checkpoints(state, csv_path)
        assert [p.stem for p in kept] in ([], [case.run_id]), f"{name}: {kept}"
        if (directory / "stopped").exists():  # the exit hooks ran: the final row was written before them
            assert written and not kept, f"{name}: the checkpoint outlived the stop"
        assert kept or not twice or written, f"{name}: neither a row nor a checkpoint: {stderr}"
        monkeypatch.setenv("CODECARBON_STATE_DIR", str(state))
        newest = _read_checkpoint(kept[0], os.path.realpath(csv_path))["row"]["duration"] if kept else 0.0
        output = FileOutput(output_dir=str(directory), on_csv_write=mode.split("+")[0])
        recover_orphans(output.save_file_path, output.write_row)  # what the next tracker on this CSV does
        after = _durations(csv_path, case.run_id)
        assert checkpoints(state, csv_path) == [], f"{name}: a checkpoint was left after recovery"
        assert after and after[-1] == max(after) >= newest, f"{name}: an older total came last: {after}"
        if mode.startswith("update"):
            assert len(after) == 1, f"{name}: {after}"
        else:
            assert after[:len(written)] == written and len(after) - len(written) <= 1, f"{name}: {written} {after}"


SLOW_EXIT_HOOK = """
import time
from pathlib import Path
from codecarbon import OfflineEmissionsTracker
from codecarbon.output_methods.base_output import BaseOutput

class SlowExit(BaseOutput):
    def exit(self):
        Path("in-exit").write_text("")
        time.sleep(60)

tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.05, output_handlers=[SlowExit()])
tracker.start()
print("started", tracker.run_id, flush=True)
time.sleep(60)
"""


@POSIX_ONLY
def test_a_second_sigterm_during_the_exit_hooks_leaves_the_row_and_no_checkpoint(tmp_path: Path) -> None:
    """The row is in the CSV before any exit hook runs, and the checkpoint is gone with it: a second signal
    there must not leave both (the next tracker would write the run again)."""
    state = tmp_path / "state"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SLOW_EXIT_HOOK)], cwd=tmp_path,
                             env=child_env(state), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        run_id = child.stdout.readline().split()[1]
        assert wait_for(lambda: checkpoints(state, tmp_path / "emissions.csv"))
        child.send_signal(signal.SIGTERM)
        assert wait_for((tmp_path / "in-exit").exists)
        child.send_signal(signal.SIGTERM)  # the default disposition again: it ends the process at once
        child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == -signal.SIGTERM
    assert [row[2] for row in csv_rows(tmp_path / "emissions.csv")[1:]] == [run_id]
    assert checkpoints(state, tmp_path / "emissions.csv") == []


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
    wait_for(lambda: checkpoints(state, tmp_path / "emissions.csv"), 30)
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
