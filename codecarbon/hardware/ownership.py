"""Which process of a job measures which device of a host, so that the job's rows add up to the host's energy.

In a job of many processes every process sees the host's CPU package and RAM, and often every GPU. Measured by
each, the host would be counted N times. The rule, per job and per host:

* the CPU and the RAM are measured by one process, the host owner (machine mode); in process mode each process
  measures its own share of them, which never overlaps;
* each GPU (known by its UUID) is measured by exactly one of the processes that see it: a process that sees
  only its own GPUs (``CUDA_VISIBLE_DEVICES``) measures those; where every process sees every GPU, the first
  process to choose takes them all. In process mode, GPUs measured as the process's share are kept by each.

Owners are chosen on the host itself, with advisory locks (the package's one lock, ``support.files.FileLock``:
``flock``, never through a planted link, dropped by forked children) on files in the per-user state directory,
under a folder named for the job. A lock dies with its process, so a dead rank never blocks anybody and a
re-launched job chooses again. A short election lock makes one process's choice atomic; waiting for it is bounded,
and without it the per-device locks still guarantee that no device has two owners.

Each row says what its process measured in the ``attribution`` column (see ``attribution_text``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from codecarbon.external.logger import logger
from codecarbon.hardware.base import EnergySource, GpuDevice, PerDeviceSource
from codecarbon.support import files
from codecarbon.support.errors import LockingUnavailable  # defined in the error tree, importable here

__all__ = ["Claim", "LockingUnavailable", "OwnedDevices", "OwnedLock", "attribution_text", "claim", "prepare",
           "sweep"]

ELECTION_WAIT_S = 1.0  # the longest one process waits for another's choice to finish


# ------------------------------------------------------------------------------------------------ locks
class _Held:
    """A machine lock this process holds, and how many of its trackers share it."""

    __slots__ = ("lock", "pid", "count")

    def __init__(self, lock: files.FileLock, pid: int, count: int = 1) -> None:
        self.lock = lock
        self.pid = pid
        self.count = count


_held: dict[str, _Held] = {}  # lock path -> the lock this process holds (several trackers may share it)
_held_lock = threading.Lock()


class OwnedLock:
    """Ownership of what a lock file names, held through the package's one lock (``support.files.FileLock``):
    exclusive between processes, shared by the trackers of one process, never inherited by a forked child."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key = str(path)
        self._released = False

    @classmethod
    def acquire(cls, path: Path) -> Optional[OwnedLock]:
        """The lock when nobody else holds it (this process's other trackers share it), else None.

        ``LockingUnavailable`` where the file system cannot lock; ``SymlinkRefused`` for a link planted at
        ``path`` (never followed)."""
        key = str(path)
        with _held_lock:
            held = _held.get(key)
            if held is not None and held.pid == os.getpid() and held.lock.held:
                held.count += 1
                return cls(path)
            _held.pop(key, None)  # inherited through fork: the parent's, not ours (the child closed its copy)
            lock = files.FileLock(path)
            try:
                got = lock.acquire(blocking=False)
            except FileNotFoundError:  # the job's folder was swept meanwhile: make it again, once
                from codecarbon.support.statedir import ensure_private_dir

                ensure_private_dir(path.parent, "the job's lock folder")
                got = lock.acquire(blocking=False)
            if not got:
                return None
            lock.note_holder()
            _held[key] = _Held(lock, os.getpid())
            return cls(path)

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        with _held_lock:
            held = _held.get(self._key)
            if held is None or held.pid != os.getpid():
                return
            held.count -= 1
            if held.count > 0:
                return
            del _held[self._key]
            held.lock.release()  # the file stays for the job's next run; sweep() removes old jobs' folders


class _Election:
    """Held for the few microseconds of one process's choice, so that choice is atomic (bounded wait)."""

    def __init__(self, directory: Path) -> None:
        self._lock = files.FileLock(directory / "election.lock")

    def __enter__(self) -> _Election:
        try:
            self._lock.acquire(timeout_s=ELECTION_WAIT_S)
        except files.LockTimeout:
            logger.debug("another process holds the election lock; device locks alone decide")
        except OSError as error:  # no locking here, or a planted link: the device locks will say so
            logger.debug("election lock unavailable (%s); device locks alone decide", error)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._lock.release()


# ------------------------------------------------------------------------------------------------ GPUs
def _devices(source: EnergySource) -> Optional[list[GpuDevice]]:
    """The devices of a per-device GPU source (``hardware.base.PerDeviceSource``: NVML, amdsmi), or None for a
    source without them."""
    if not isinstance(source, PerDeviceSource):
        return None
    return list(source.devices)


def device_key(device: GpuDevice) -> str:
    """A GPU's identity on the host: its UUID (the index only where the UUID could not be read)."""
    return str(device.uuid or "") or f"index-{device.index}"


def _file_name(key: str) -> str:
    return "gpu-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in key) + ".lock"


class OwnedDevices(EnergySource):
    """The part of a GPU source's energy that comes from the devices this process owns."""

    def __init__(self, source: EnergySource, keys: set[str]) -> None:
        self.source = source
        self.keys = set(keys)
        self.component = source.component
        self.method = source.method

    def _owned(self) -> list[GpuDevice]:
        return [d for d in _devices(self.source) or [] if device_key(d) in self.keys]

    def open(self) -> None:
        self.source.open()

    def read_joules(self) -> float:
        self.source.read_joules()  # advances every device's running total
        return float(sum(d.joules for d in self._owned()))

    def utilization_percent(self) -> Optional[float]:
        return self.source.utilization_percent()

    def max_read_gap_s(self) -> Optional[float]:
        return self.source.max_read_gap_s()

    def close(self) -> None:
        self.source.close()


# ------------------------------------------------------------------------------------------------ claim
class Claim:
    """What this process measures: the sources to sample and the row's ``attribution`` text."""

    __slots__ = ("sources", "attribution", "locks", "gpu_indices")

    def __init__(self, sources: list[EnergySource], attribution: str, locks: Optional[list[OwnedLock]] = None,
                 gpu_indices: Optional[list[int]] = None) -> None:
        self.sources = sources
        self.attribution = attribution
        self.locks: list[OwnedLock] = locks if locks is not None else []
        self.gpu_indices: list[int] = gpu_indices if gpu_indices is not None else []

    def release(self) -> None:
        """Give up ownership (at stop): a later run of the job chooses again."""
        for lock in self.locks:
            lock.release()
        self.locks.clear()


def attribution_text(cpu: str, gpu: str, ram: str) -> str:
    """``cpu=<c>;gpu=<g>;ram=<r>``: host | none | process | all for CPU and RAM; the host indices of the GPUs
    measured joined by ``+`` (e.g. ``0+1``), or none | process | all, for the GPUs."""
    return f"cpu={cpu};gpu={gpu};ram={ram}"


def _default_state_dir() -> Path:
    from codecarbon.support.statedir import jobs_dir

    return jobs_dir()


def _job_folder(base: Path, job: Any) -> Path:
    """The job's folder of lock files: a plain directory of ours, never a link planted in its place."""
    from codecarbon.support.statedir import ensure_private_dir

    return ensure_private_dir(base / job.host_key(), "the job's lock folder")


SWEEP_AFTER_S = 7 * 24 * 3600  # a job's folder untouched this long, with no lock held in it, is removed
SWEEP_LIMIT = 16  # folders looked at per sweep, so one start never pays for years of old jobs


def _lock_names(sources: Sequence[EnergySource]) -> list[str]:
    names = ["election.lock", "host.lock"]
    for source in sources:
        if source.component == "gpu":
            names += [_file_name(device_key(d)) for d in _devices(source) or []]
    return names


def prepare(sources: Sequence[EnergySource], job: Any, state_dir: Optional[Path] = None) -> None:
    """Off the user's thread (the tracker's warm-up): create the job's folder and lock files, so that start()
    only opens and locks them; then sweep old jobs' folders. Never raises."""
    if not getattr(job, "in_job", False):
        return
    try:
        base = Path(state_dir) if state_dir is not None else _default_state_dir()
        folder = _job_folder(base, job)
        for name in _lock_names(sources):
            fd, _created = files.open_append(folder / name, 0o600)  # never through a planted link
            os.close(fd)
        sweep(base, keep=folder)
    except Exception as error:  # a warm-up nicety: start() does the real claim and reports
        logger.debug("could not prepare the job's lock files: %s", error)


def sweep(base: Path, keep: Optional[Path] = None, max_age_s: float = SWEEP_AFTER_S) -> int:
    """Remove old jobs' folders whose locks nobody holds; returns how many were removed."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(base))
    except OSError:
        return 0
    looked = 0
    for entry in entries:
        if looked >= SWEEP_LIMIT:
            break
        try:
            if not entry.is_dir(follow_symlinks=False) or (keep is not None and entry.path == str(keep)) or \
                    now - entry.stat(follow_symlinks=False).st_mtime < max_age_s:
                continue
        except OSError:
            continue
        looked += 1
        if _remove_if_free(Path(entry.path)):
            removed += 1
    return removed


def _remove_if_free(folder: Path) -> bool:
    try:
        for path in folder.iterdir():
            lock = files.FileLock(path)
            if not lock.acquire(blocking=False):
                return False  # a process of that job still runs
            try:
                os.unlink(path)  # while locked: a late claimant notices and locks a new file
            finally:
                lock.release()
        folder.rmdir()
        return True
    except OSError:
        return False


def claim(sources: Sequence[EnergySource], job: Any, state_dir: Optional[Path] = None, *,
          tracking_mode: str = "machine", enabled: bool = True) -> Claim:
    """Choose, on this host, which of ``sources`` this process of ``job`` (a core.job.JobInfo) measures.

    Outside a job every source is kept and the attribution is empty. With ``enabled`` False (setting
    ``device_ownership="off"``) every source is kept and the attribution says ``all``. Never raises: when the
    state directory cannot be used, every source is kept and the log says why."""
    sources = list(sources)
    if not getattr(job, "in_job", False):
        return Claim(sources, "")
    if not enabled:
        return Claim(sources, attribution_text("all", "all", "all"))
    try:
        directory = _job_folder(Path(state_dir) if state_dir is not None else _default_state_dir(), job)
        with _Election(directory):
            return _choose(sources, directory, tracking_mode)
    except Exception as error:  # never raises (see the docstring): without an election every source is kept
        logger.warning("could not choose device owners for this job (%s): this process measures every device "
                       "it sees, so the job's rows may count this host more than once", error)
        return Claim(sources, attribution_text("all", "all", "all"))


def _choose(sources: list[EnergySource], directory: Path, tracking_mode: str) -> Claim:
    locks: list[OwnedLock] = []
    try:
        return _choose_locked(sources, directory, tracking_mode, locks)
    except BaseException:
        for lock in locks:  # a half-made choice owns nothing
            lock.release()
        raise


def _choose_locked(sources: list[EnergySource], directory: Path, tracking_mode: str,
                   locks: list[OwnedLock]) -> Claim:
    process_mode = tracking_mode == "process"
    kept: list[EnergySource] = []
    host_lock: Optional[OwnedLock] = None
    device_less = [s for s in sources if s.component != "gpu" or _devices(s) is None]
    if any(s.component == "gpu" or not process_mode for s in device_less):
        host_lock = OwnedLock.acquire(directory / "host.lock")
        if host_lock is not None:
            locks.append(host_lock)
    gpu_label: list[int] = []
    gpu_process = False
    for source in sources:
        if source.component != "gpu":
            if process_mode or host_lock is not None:
                kept.append(source)
            continue
        devices = _devices(source) if source.component == "gpu" else None
        if devices is None:  # a GPU without devices of its own (Apple's, through powermetrics): a host device
            if host_lock is not None:
                kept.append(source)
            continue
        if process_mode and "process-share" in source.method:
            kept.append(source)  # each process's share of each GPU: never overlapping
            gpu_process = True
            continue
        owned: set[str] = set()
        for device in sorted(devices, key=lambda d: d.index):
            lock = OwnedLock.acquire(directory / _file_name(device_key(device)))
            if lock is not None:
                locks.append(lock)
                owned.add(device_key(device))
                gpu_label.append(int(device.index))
        if owned and len(owned) == len(devices):
            kept.append(source)
        elif owned:
            kept.append(OwnedDevices(source, owned))
    if process_mode:
        cpu = ram = "process"
    else:
        cpu = ram = "host" if host_lock is not None else "none"
    if not any(s.component == "cpu" for s in sources):
        cpu = "none"
    if not any(s.component == "ram" for s in sources):
        ram = "none"
    gpu = "+".join(str(i) for i in sorted(gpu_label)) if gpu_label else ("process" if gpu_process else "none")
    if gpu_process and gpu_label:
        gpu = f"process+{gpu}"
    return Claim(kept, attribution_text(cpu, gpu, ram), locks, sorted(gpu_label))
