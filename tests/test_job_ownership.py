"""Choosing, on one host, which process of a job measures which device: locks that die with their holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codecarbon.core.job import detect_job
from codecarbon.hardware import HardwareOptions, SystemSeams, detect_hardware
from codecarbon.hardware.ownership import OwnedDevices, claim
from tests.fakes.fake_pynvml import FakeGpu, FakeNVML, fake_uuid
from tests.fakes.sysfs import FakeSysfs

REPO = Path(__file__).resolve().parents[1]
JOB_ENV = {"SLURM_JOB_ID": "77", "SLURM_PROCID": "0", "SLURM_NTASKS": "2"}


def machine(tmp_path: Path, gpus: int = 2):
    fake = FakeSysfs(tmp_path / "root")
    package = fake.add_zone("intel-rapl:0", "package-0", energy_uj=0)
    devices = [FakeGpu(uuid=fake_uuid(i)) for i in range(gpus)]
    hardware = detect_hardware(HardwareOptions(), SystemSeams(sysfs_root=fake.sys, nvml=FakeNVML(devices),
                                                              environ={}))
    return hardware, package, devices


def hold_in_child(state: Path, name: str) -> subprocess.Popen:
    """Another process of the job holding the lock on ``name`` (host.lock or a GPU's) until killed."""
    key = detect_job(JOB_ENV).host_key()
    code = ("import sys, time; from pathlib import Path; from codecarbon.hardware.ownership import OwnedLock;"
            f"lock = OwnedLock.acquire(Path({str(state / key / name)!r})); print('held' if lock else 'busy',"
            " flush=True); time.sleep(120)")
    (state / key).mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_outside_a_job_every_source_is_kept_and_the_row_says_nothing(tmp_path: Path) -> None:
    hardware, _, _ = machine(tmp_path)
    result = claim(hardware.sources, detect_job({}), tmp_path / "state")
    assert result.sources == hardware.sources and result.attribution == ""
    assert not (tmp_path / "state").exists()  # no state written for a lone process


def test_the_first_process_owns_the_host_and_all_the_gpus_it_sees(tmp_path: Path) -> None:
    hardware, _, _ = machine(tmp_path)
    result = claim(hardware.sources, detect_job(JOB_ENV), tmp_path / "state")
    assert result.attribution == "cpu=host;gpu=0+1;ram=host"
    assert result.sources == hardware.sources
    result.release()


def test_a_live_owner_elsewhere_leaves_this_process_nothing_and_a_dead_one_blocks_nobody(tmp_path: Path) -> None:
    hardware, _, _ = machine(tmp_path, gpus=0)
    state = tmp_path / "state"
    child = hold_in_child(state, "host.lock")
    try:
        result = claim(hardware.sources, detect_job(JOB_ENV), state)
        assert result.attribution == "cpu=none;gpu=none;ram=none" and result.sources == []
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    again = claim(hardware.sources, detect_job(JOB_ENV), state)  # the job re-launched: it chooses again
    assert again.attribution == "cpu=host;gpu=none;ram=host"
    again.release()


def test_a_gpu_owned_by_another_rank_is_left_out_of_this_processs_energy(tmp_path: Path) -> None:
    hardware, package, gpus = machine(tmp_path, gpus=2)
    state = tmp_path / "state"
    child = hold_in_child(state, f"gpu-{fake_uuid(1)}.lock")
    try:
        result = claim(hardware.sources, detect_job(JOB_ENV), state)
        assert result.attribution == "cpu=host;gpu=0;ram=host"
        (gpu_source,) = [s for s in result.sources if s.component == "gpu"]
        assert isinstance(gpu_source, OwnedDevices)
        gpu_source.open()
        gpus[0].advance(10.0)
        gpus[1].advance(1000.0)
        assert gpu_source.read_joules() == pytest.approx(10.0)
        result.release()
    finally:
        child.kill()
        child.communicate()


def child_can_take(state: Path, name: str) -> bool:
    key = detect_job(JOB_ENV).host_key()
    code = ("from pathlib import Path; from codecarbon.hardware.ownership import OwnedLock;"
            f"print(OwnedLock.acquire(Path({str(state / key / name)!r})) is not None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    return done.stdout.strip() == "True"


def test_trackers_of_one_process_share_its_ownership_until_the_last_releases(tmp_path: Path) -> None:
    hardware, _, _ = machine(tmp_path, gpus=1)
    state = tmp_path / "state"
    job = detect_job(JOB_ENV)
    first = claim(hardware.sources, job, state)
    second = claim(hardware.sources, job, state)
    assert first.attribution == second.attribution == "cpu=host;gpu=0;ram=host"
    first.release()
    assert not child_can_take(state, "host.lock")  # still held for the second tracker
    second.release()
    assert child_can_take(state, "host.lock")


def test_prepare_creates_the_lock_files_and_sweeps_old_free_folders_only(tmp_path: Path) -> None:
    from codecarbon.hardware.ownership import OwnedLock, prepare

    hardware, _, _ = machine(tmp_path, gpus=2)
    state = tmp_path / "state"
    old_free, old_busy, young = state / "old-free", state / "old-busy", state / "young"
    for folder in (old_free, old_busy, young):
        folder.mkdir(parents=True)
        (folder / "host.lock").write_text("")
    busy = OwnedLock.acquire(old_busy / "host.lock")
    for folder in (old_free, old_busy):
        os.utime(folder, (time.time() - 30 * 86400, time.time() - 30 * 86400))
    try:
        prepare(hardware.sources, detect_job(JOB_ENV), state)
        folder = state / detect_job(JOB_ENV).host_key()
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["election.lock", "host.lock", f"gpu-{fake_uuid(0)}.lock", f"gpu-{fake_uuid(1)}.lock"])
        assert not old_free.exists() and old_busy.exists() and young.exists()
    finally:
        assert busy is not None
        busy.release()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_does_not_inherit_its_parents_ownership(tmp_path: Path) -> None:
    hardware, _, _ = machine(tmp_path, gpus=0)
    state = tmp_path / "state"
    held = claim(hardware.sources, detect_job(JOB_ENV), state)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.write(write, claim(hardware.sources, detect_job(JOB_ENV), state).attribution.encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 200).decode() == "cpu=none;gpu=none;ram=none"
    os.close(read)
    held.release()


def test_an_unusable_state_directory_keeps_every_source_and_says_so(tmp_path: Path, codecarbon_log) -> None:
    hardware, _, _ = machine(tmp_path, gpus=0)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = claim(hardware.sources, detect_job(JOB_ENV), blocker)
    assert result.sources == hardware.sources and result.attribution == "cpu=all;gpu=all;ram=all"
    assert "more than once" in codecarbon_log.text


def test_the_election_keeps_one_small_file_per_device_in_the_jobs_folder(tmp_path: Path) -> None:
    hardware, _, _ = machine(tmp_path, gpus=2)
    result = claim(hardware.sources, detect_job(JOB_ENV), tmp_path / "state")
    assert len(list((tmp_path / "state" / detect_job(JOB_ENV).host_key()).iterdir())) == 4  # election, host, 2
    result.release()


def test_amd_gpus_are_owned_by_uuid_too(tmp_path: Path) -> None:
    from codecarbon.hardware.gpus import detect_gpus
    from tests.fakes.fake_amdsmi import FakeAmdGpu, FakeAmdSmi
    from tests.fakes.fake_pynvml import NVML_ERROR_DRIVER_NOT_LOADED

    uuids = [f"{i:02x}ff74a1-0000-1000-80e8-8bbdb8ff4e{i:02x}" for i in range(2)]
    gpus = [FakeAmdGpu(uuid=u, counter_resolution=1.0) for u in uuids]
    inventory = detect_gpus(None, environ={}, nvml=FakeNVML(init_error=NVML_ERROR_DRIVER_NOT_LOADED),
                            amdsmi=FakeAmdSmi(gpus))
    state = tmp_path / "state"
    child = hold_in_child(state, f"gpu-{uuids[0]}.lock")
    try:
        result = claim(inventory.sources, detect_job(JOB_ENV), state)
        assert result.attribution == "cpu=none;gpu=1;ram=none"
        (source,) = result.sources
        source.open()
        gpus[0].advance(500.0)
        gpus[1].advance(20.0)
        assert source.read_joules() == pytest.approx(20.0)
        result.release()
    finally:
        child.kill()
        child.communicate()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_ownership_released_at_stop_is_free_while_a_forked_child_lives(tmp_path: Path) -> None:
    """A DataLoader worker or a Pool process forked during a run must not keep the run's devices owned."""
    from tests.test_support_files import _ForkedChild

    hardware, _, _ = machine(tmp_path, gpus=1)
    state = tmp_path / "state"
    first = claim(hardware.sources, detect_job(JOB_ENV), state)
    assert first.attribution == "cpu=host;gpu=0;ram=host"
    child = _ForkedChild()
    try:
        first.release()  # the run's stop()
        assert child_can_take(state, "host.lock") and child_can_take(state, f"gpu-{fake_uuid(0)}.lock")
        second = claim(hardware.sources, detect_job(JOB_ENV), state)  # the job's next run in this process
        assert second.attribution == "cpu=host;gpu=0;ram=host"
        second.release()
    finally:
        child.close()


@pytest.mark.skipif(os.name == "nt", reason="symbolic links")
def test_job_lock_files_planted_as_links_are_never_followed(tmp_path: Path, codecarbon_log) -> None:
    from codecarbon.hardware.ownership import prepare

    hardware, _, _ = machine(tmp_path, gpus=1)
    state = tmp_path / "state"
    folder = state / detect_job(JOB_ENV).host_key()
    folder.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for name in ("election.lock", "host.lock", f"gpu-{fake_uuid(0)}.lock"):
        (folder / name).symlink_to(victim)
    prepare(hardware.sources, detect_job(JOB_ENV), state)
    result = claim(hardware.sources, detect_job(JOB_ENV), state)
    result.release()
    assert victim.read_text() == "precious"  # never opened for writing, never truncated to a pid
    assert all((folder / name).is_symlink() for name in ("host.lock", "election.lock"))
    assert result.attribution == "cpu=all;gpu=all;ram=all" and "more than once" in codecarbon_log.text


@pytest.mark.skipif(os.name == "nt", reason="symbolic links")
def test_a_jobs_folder_planted_as_a_link_is_refused(tmp_path: Path) -> None:
    hardware, _, _ = machine(tmp_path, gpus=0)
    state = tmp_path / "state"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    state.mkdir()
    (state / detect_job(JOB_ENV).host_key()).symlink_to(elsewhere)
    result = claim(hardware.sources, detect_job(JOB_ENV), state)
    assert result.attribution == "cpu=all;gpu=all;ram=all" and list(elsewhere.iterdir()) == []


def test_a_jobs_folder_swept_away_meanwhile_is_made_again(tmp_path: Path) -> None:
    from codecarbon.hardware.ownership import OwnedLock

    folder = tmp_path / "state" / "job"
    lock = OwnedLock.acquire(folder / "host.lock")
    assert lock is not None and (folder / "host.lock").is_file()
    lock.release()


def test_the_gpu_sources_declare_the_per_device_protocol_ownership_relies_on(tmp_path: Path) -> None:
    """NVML's and amdsmi's sources are PerDeviceSource, their devices GpuDevice; and any source that follows the
    protocol (a third vendor's) is split device by device the same way."""
    from codecarbon.hardware.amd import AmdGpuSource
    from codecarbon.hardware.base import EnergySource, GpuDevice, PerDeviceSource
    from tests.fakes.fake_amdsmi import FakeAmdGpu, FakeAmdSmi

    hardware, _, _ = machine(tmp_path, gpus=2)
    (nvidia,) = [s for s in hardware.sources if s.component == "gpu"]
    assert isinstance(nvidia, PerDeviceSource) and all(isinstance(d, GpuDevice) for d in nvidia.devices)
    smi = FakeAmdSmi([FakeAmdGpu(uuid="amd-0")])
    amd = detect_hardware(HardwareOptions(), SystemSeams(sysfs_root=tmp_path / "none", nvml=None, amdsmi=smi,
                                                         environ={}))
    (amd_source,) = [s for s in amd.sources if s.component == "gpu"]
    assert isinstance(amd_source, AmdGpuSource) and isinstance(amd_source, PerDeviceSource)

    class Board:
        def __init__(self, index: int) -> None:
            self.index, self.uuid, self.joules = index, f"board-{index}", 0.0

    class ThirdVendor(EnergySource):
        component = "gpu"
        method = "vendor-x"

        def __init__(self) -> None:
            self.boards = [Board(0), Board(1)]

        @property
        def devices(self) -> list[Board]:
            return self.boards

        def open(self) -> None:
            for board in self.boards:
                board.joules = 0.0

        def read_joules(self) -> float:
            for board in self.boards:
                board.joules += 10.0 * (board.index + 1)
            return sum(board.joules for board in self.boards)

    state = tmp_path / "state"
    child = hold_in_child(state, "gpu-board-1.lock")
    try:
        result = claim([ThirdVendor()], detect_job(JOB_ENV), state)
        assert result.attribution == "cpu=none;gpu=0;ram=none"
        (owned,) = result.sources
        owned.open()
        assert owned.read_joules() == pytest.approx(10.0)  # board 0 only; board 1 belongs to the other rank
        result.release()
    finally:
        child.kill()
        child.communicate()
