"""One total for the job at stop() over an existing torch.distributed group: through the group's store, bounded,
never a collective. A fake ``torch.distributed`` (threads as ranks, one store following TCPStore's API) drives
the real gathering code here; the real torch (CPU, gloo) test runs where torch is installed."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest

from codecarbon.core.gather import gather_job_totals, initialised_distributed
from tests.test_output_records import make_record

REPO = Path(__file__).resolve().parents[1]


class Store:
    """The calls of c10d's TCPStore the gathering uses: set, get, check, delete_key (values as bytes)."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def set(self, key: str, value: str | bytes) -> None:
        with self.lock:
            self.values[key] = value.encode() if isinstance(value, str) else value

    def get(self, key: str) -> bytes:
        with self.lock:
            return self.values[key]

    def check(self, keys: list[str]) -> bool:
        with self.lock:
            return all(k in self.values for k in keys)

    def delete_key(self, key: str) -> bool:
        with self.lock:
            return self.values.pop(key, None) is not None


def fake_distributed(rank: int, world: int, store: Store) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        is_available=lambda: True, is_initialized=lambda: True, get_rank=lambda: rank,
        get_world_size=lambda: world,
        distributed_c10d=types.SimpleNamespace(_get_default_store=lambda: store))


def record(node: str, cpu: float, gpu: float):
    return make_record(node_name=node, cpu_energy=cpu, gpu_energy=gpu, ram_energy=0.0,
                       energy_consumed=cpu + gpu, emissions=(cpu + gpu) * 0.05, duration=10.0)


def test_rank_0_sums_every_rank_by_node() -> None:
    store = Store()
    records = {0: record("a", 1.0, 2.0), 1: record("a", 0.0, 3.0), 2: record("b", 4.0, 1.0)}
    for rank in (1, 2):  # the other ranks stop first and hand over their totals
        assert gather_job_totals(records[rank], 2.0, fake_distributed(rank, 3, store)) is None
    job = gather_job_totals(records[0], 2.0, fake_distributed(0, 3, store))
    assert job is not None and job["ranks_reported"] == [0, 1, 2] and job["missing_ranks"] == []
    assert job["total"]["cpu_energy"] == pytest.approx(5.0) and job["total"]["gpu_energy"] == pytest.approx(6.0)
    assert job["nodes"]["a"]["gpu_energy"] == pytest.approx(5.0) and job["nodes"]["b"]["cpu_energy"] == 4.0
    assert job["total"]["emissions"] == pytest.approx(11.0 * 0.05)
    # two ranks side by side for 10 s on node a: the node ran 10 s, not 20 process-seconds
    assert job["nodes"]["a"]["duration"] == pytest.approx(10.0) and job["total"]["duration"] == pytest.approx(10.0)
    assert store.values == {}  # rank 0 leaves the group's store as it found it


def test_the_gathered_totals_are_the_reports() -> None:
    """One definition of a job's totals: what rank 0 gathers equals what `codecarbon report` computes from the
    same processes' rows."""
    from codecarbon.viz.reading import Run, jobs

    store = Store()
    records = {0: record("a", 1.0, 2.0), 1: record("a", 0.5, 3.0), 2: record("b", 4.0, 1.0)}
    records[1] = dataclasses.replace(records[1], timestamp="2025-03-01T12:00:30")  # ends 30 s after rank 0
    for rank in (1, 2):
        gather_job_totals(records[rank], 2.0, fake_distributed(rank, 3, store))
    gathered = gather_job_totals(records[0], 2.0, fake_distributed(0, 3, store))
    assert gathered is not None
    rows = [Run(values={**r.__dict__, "job_id": "j", "scheduler": "slurm"}, source="") for r in records.values()]
    (reported,) = jobs(rows)
    assert set(reported["nodes"]) == set(gathered["nodes"]) == {"a", "b"}
    for node in ("a", "b"):
        assert reported["nodes"][node] == pytest.approx(gathered["nodes"][node])
    assert reported["total"] == pytest.approx(gathered["total"])
    assert gathered["nodes"]["a"]["duration"] == pytest.approx(40.0)  # from 12:00:00 - 10 s to 12:00:30


def test_a_rank_that_never_stops_is_reported_missing_after_the_bound() -> None:
    store = Store()
    gather_job_totals(record("a", 1.0, 0.0), 2.0, fake_distributed(1, 3, store))
    job = gather_job_totals(record("a", 2.0, 0.0), 0.2, fake_distributed(0, 3, store))
    assert job is not None and job["missing_ranks"] == [2] and job["ranks_reported"] == [0, 1]
    assert job["total"]["cpu_energy"] == pytest.approx(3.0)


def test_ranks_arriving_while_rank_0_waits_are_counted() -> None:
    store = Store()
    late = threading.Timer(0.1, gather_job_totals, (record("b", 7.0, 0.0), 2.0, fake_distributed(1, 2, store)))
    late.start()
    job = gather_job_totals(record("a", 1.0, 0.0), 2.0, fake_distributed(0, 2, store))
    late.join()
    assert job is not None and job["total"]["cpu_energy"] == pytest.approx(8.0)


def test_without_torch_distributed_nothing_is_gathered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch.distributed", raising=False)
    assert initialised_distributed() is None
    assert gather_job_totals(record("a", 1.0, 0.0), 2.0) is None


def test_an_uninitialised_group_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.SimpleNamespace(is_available=lambda: True, is_initialized=lambda: False)
    monkeypatch.setitem(sys.modules, "torch.distributed", module)
    assert initialised_distributed() is None


def test_the_tracker_gathers_at_stop_on_rank_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from codecarbon import OfflineEmissionsTracker
    from codecarbon.hardware import SystemSeams
    from tests.fakes.fake_pynvml import FakeNVML
    from tests.fakes.sysfs import FakeSysfs

    store = Store()
    monkeypatch.setitem(sys.modules, "torch.distributed", fake_distributed(0, 2, store))
    gather_job_totals(record("other", 1.0, 0.0), 2.0, fake_distributed(1, 2, store))
    for name, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "TORCHELASTIC_RUN_ID": "r1",
                        "CODECARBON_STATE_DIR": str(tmp_path / "state")}.items():
        monkeypatch.setenv(name, value)
    fake = FakeSysfs(tmp_path / "root")
    package = fake.add_zone("intel-rapl:0", "package-0", energy_uj=0)

    class RankTracker(OfflineEmissionsTracker):
        _system_seams = SystemSeams(sysfs_root=fake.sys, nvml=FakeNVML([]), environ={})

    tracker = RankTracker(country_iso_code="FRA", measure_power_secs=999)
    tracker.start()
    package.advance(3_600_000)  # 3.6 J
    tracker.stop()
    assert tracker.job_total is not None and tracker.job_total["ranks_reported"] == [0, 1]
    assert tracker.job_total["total"]["cpu_energy"] == pytest.approx(1.0 + 3.6 / 3.6e6)
    assert set(tracker.job_total["nodes"]) == {"other", socket.gethostname()}


WORKER = r"""
import os, sys, datetime
import torch.distributed as dist
from codecarbon import OfflineEmissionsTracker
dist.init_process_group("gloo", init_method=sys.argv[1], rank=int(os.environ["RANK"]),
                        world_size=int(os.environ["WORLD_SIZE"]), timeout=datetime.timedelta(seconds=60))
tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=999, output_dir=sys.argv[2])
tracker.start()
tracker.stop()
if dist.get_rank() == 0:
    print("REPORTED", tracker.job_total["ranks_reported"], flush=True)
dist.barrier()
dist.destroy_process_group()
"""


def test_real_torch_distributed_gloo(tmp_path: Path) -> None:
    pytest.importorskip("torch.distributed", reason="torch is not installed (too big for CI); skipped cleanly")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    processes = []
    for rank in range(2):
        env = {**os.environ, "PYTHONPATH": str(REPO), "RANK": str(rank), "LOCAL_RANK": str(rank),
               "WORLD_SIZE": "2", "TORCHELASTIC_RUN_ID": "gloo-test", "CODECARBON_STATE_DIR": str(tmp_path)}
        processes.append(subprocess.Popen([sys.executable, "-c", WORKER, f"tcp://127.0.0.1:{port}",
                                           str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert "REPORTED [0, 1]" in outputs[0]
