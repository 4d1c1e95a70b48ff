"""What happens across processes: offline means no sockets, kills and crashes lose no run, locks never go stale."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, **kwargs)


def spawn_python(code: str, cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


AUDIT = """
import sys
events = []
def audit(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto",
                 "socket.bind") or (event == "socket.__new__" and args[1] != 1):
        events.append((event, repr(args)[:120]))
sys.addaudithook(audit)
"""


def test_offline_tracker_and_offline_decorator_open_no_network_connection(isolated_environment: Path) -> None:
    Path(".codecarbon.config").write_text("[codecarbon]\nelectricitymaps_api_token=secret-token\n")
    result = run_python(AUDIT + """
from codecarbon import OfflineEmissionsTracker, track_emissions
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.1, api_call_interval=1)
tracker.start()
import time
deadline = time.monotonic() + 0.6
while time.monotonic() < deadline:
    sum(i for i in range(10000))
tracker.stop()
time.sleep(0.5)  # time for any background refresh to try the network

@track_emissions(offline=True, country_iso_code="USA", region="texas", measure_power_secs=0.1)
def f():
    return 1
f()
print("EVENTS", events)
""", isolated_environment)
    assert result.returncode == 0, result.stderr
    assert "EVENTS []" in result.stdout, result.stdout
    assert len(csv_rows(isolated_environment / "emissions.csv")) == 2


def test_a_killed_run_is_recovered_by_the_next_tracker(isolated_environment: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(state))
    child = spawn_python("""
from codecarbon import OfflineEmissionsTracker
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.2, project_name="killed")
tracker.start()
print("started", tracker.run_id, flush=True)
import time
while True:
    time.sleep(0.05)
""", isolated_environment)
    run_id = child.stdout.readline().split()[1]
    from codecarbon.support.statedir import key_for_path

    checkpoint = state / "runs" / key_for_path(isolated_environment / "emissions.csv") / f"{run_id}.json"
    deadline = time.monotonic() + 30
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert checkpoint.exists()
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert not (isolated_environment / "emissions.csv").exists()

    result = run_python("""
from codecarbon import OfflineEmissionsTracker
t = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.2, project_name="next")
t.start(); t.stop()
""", isolated_environment)
    assert result.returncode == 0, result.stderr
    rows = csv_rows(isolated_environment / "emissions.csv")
    assert [r["project_name"] for r in rows] == ["killed", "next"]
    assert rows[0]["run_id"] == run_id and float(rows[0]["duration"]) > 0
    assert not checkpoint.exists()
    assert sorted(p.name for p in isolated_environment.iterdir()) == ["emissions.csv"]  # nothing of ours there


def test_sigterm_writes_the_row_and_the_process_still_ends_by_the_signal(isolated_environment: Path) -> None:
    child = spawn_python("""
from codecarbon import OfflineEmissionsTracker
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=5)
tracker.start()
print("started", flush=True)
import time
time.sleep(60)
""", isolated_environment)
    assert child.stdout.readline().startswith("started")
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGTERM
    assert len(csv_rows(isolated_environment / "emissions.csv")) == 1


def test_normal_exit_without_stop_still_writes_the_row(isolated_environment: Path) -> None:
    result = run_python("""
from codecarbon import OfflineEmissionsTracker
OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=5).start()
""", isolated_environment)
    assert result.returncode == 0, result.stderr
    assert len(csv_rows(isolated_environment / "emissions.csv")) == 1


def test_the_machine_lock_dies_with_its_process(isolated_environment: Path, tmp_path: Path) -> None:
    lock_file = tmp_path / "cc.lock"
    holder = spawn_python(f"""
from codecarbon.lock import Lock
lock = Lock({str(lock_file)!r}); lock.acquire()
print("held", flush=True)
import time; time.sleep(60)
""", isolated_environment)
    assert holder.stdout.readline().startswith("held")
    from codecarbon.lock import Lock, LockError

    with pytest.raises(LockError, match=str(holder.pid)):
        Lock(str(lock_file)).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=30)
    lock = Lock(str(lock_file))
    lock.acquire()
    assert lock.held
    lock.release()
