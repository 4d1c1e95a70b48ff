"""Who used the machine: CPU-time clocks, container (cgroup) limits and a process tree's share.

Estimates and process-mode apportioning both need the same few facts: how much CPU time the machine (or the
container we run in) spent busy, how much it could have spent, and how much of that the tracked process tree
took. They live here so CPU and RAM sources compute shares the same way.

Process-mode attribution rule: in each tick the machine's energy is split in proportion to CPU time consumed,
``share = Δ(tree CPU seconds) / Δ(machine busy CPU seconds)``. Shares of all processes then add up to what the
machine drew, so the energy a tracked job is charged never exceeds what was measured and is never invented from
idle capacity. RAM uses the tree's resident memory over the memory available (machine or container limit).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

_OPEN_FILES: dict = {}


def _pread_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a procfs/sysfs file through a descriptor kept open (no open/close per tick)."""
    if not str(path).startswith("/proc/"):  # only the kernel's own files are regenerated in place
        with open(path, "rb") as handle:
            return handle.read(size)
    fd = _OPEN_FILES.get(path)
    if fd is None:
        fd = _OPEN_FILES[path] = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, size, 0)
    except OSError:
        _OPEN_FILES.pop(path, None)
        os.close(fd)
        raise


#: /proc/stat readings shared by every CpuClock within this many seconds (its counters tick at 100 Hz anyway).
_PROC_STAT_REUSE_S = 0.002
_PROC_STAT_CACHE: dict = {}

#: Limits at or above this are the kernel's way of saying "no limit" (v1 writes 2**63 rounded to pages).
_UNLIMITED_BYTES = 1 << 60


@dataclass(frozen=True)
class CgroupLimits:
    """What the container we run in may use; ``None`` means not limited (or not in a cgroup we can read)."""

    version: Optional[int] = None            # 1, 2 or None
    cpu_limit: Optional[float] = None        # CPUs (quota / period), fractional allowed
    memory_limit_bytes: Optional[int] = None
    cpu_usage_file: Optional[Path] = None    # v2 cpu.stat (usage_usec) or v1 cpuacct.usage (ns)
    memory_usage_file: Optional[Path] = None  # v2 memory.current or v1 memory.usage_in_bytes


def _read_text(path: Path) -> Optional[str]:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _membership(proc_root: Path) -> tuple[Optional[str], dict[str, str]]:
    """Our cgroup paths from /proc/self/cgroup: the v2 path and the v1 path per controller."""
    text = _read_text(proc_root / "self" / "cgroup") or ""
    unified: Optional[str] = None
    per_controller: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            unified = path
        for controller in controllers.split(","):
            if controller:
                per_controller[controller] = path
    return unified, per_controller


def _own_dir(mount: Path, path: str) -> Optional[Path]:
    """The directory of our cgroup under a mount: the full path on the host view, the mount itself inside a
    cgroup namespace (where /proc/self/cgroup says "/" or a path that does not exist under the mount)."""
    candidate = mount / path.lstrip("/")
    if candidate.is_dir():
        return candidate
    return mount if mount.is_dir() else None


def _ancestors(directory: Path, mount: Path) -> list[Path]:
    """``directory`` and its parents up to the mount: a limit set on a parent binds us too."""
    chain = [directory]
    while directory != mount and mount in directory.parents:
        directory = directory.parent
        chain.append(directory)
    return chain


def _min_limit(values: list[Optional[float]]) -> Optional[float]:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _v2_cpu_limit(text: Optional[str]) -> Optional[float]:
    if not text:
        return None
    fields = text.split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        quota, period = int(fields[0]), int(fields[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _bytes_limit(text: Optional[str]) -> Optional[float]:
    if not text or text.strip() == "max":
        return None
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return float(value) if 0 < value < _UNLIMITED_BYTES else None


def read_cgroup_limits(proc_root: Path = Path("/proc"), cgroup_root: Path = Path("/sys/fs/cgroup")) -> CgroupLimits:
    """Read our CPU quota and memory limit, cgroup v2 first, then v1. Never raises."""
    unified, per_controller = _membership(proc_root)
    if unified is not None and (cgroup_root / "cgroup.controllers").exists():
        own = _own_dir(cgroup_root, unified)
        if own is not None:
            chain = _ancestors(own, cgroup_root)
            cpu = _min_limit([_v2_cpu_limit(_read_text(d / "cpu.max")) for d in chain])
            mem = _min_limit([_bytes_limit(_read_text(d / "memory.max")) for d in chain])
            return CgroupLimits(2, cpu, int(mem) if mem else None,
                                own / "cpu.stat" if (own / "cpu.stat").exists() else None,
                                own / "memory.current" if (own / "memory.current").exists() else None)
    if not per_controller:
        return CgroupLimits()
    cpu_limit: Optional[float] = None
    cpu_usage: Optional[Path] = None
    for mount_name in ("cpu,cpuacct", "cpu", "cpuacct"):
        mount = cgroup_root / mount_name
        own = _own_dir(mount, per_controller.get("cpu", per_controller.get("cpuacct", "/")))
        if own is None:
            continue
        if cpu_limit is None:
            quotas = []
            for d in _ancestors(own, mount):
                quota, period = _read_text(d / "cpu.cfs_quota_us"), _read_text(d / "cpu.cfs_period_us")
                if quota and period and quota.strip().lstrip("-").isdigit() and period.strip().isdigit():
                    q, p = int(quota), int(period)
                    quotas.append(q / p if q > 0 and p > 0 else None)
            cpu_limit = _min_limit(quotas)
        if cpu_usage is None and (own / "cpuacct.usage").exists():
            cpu_usage = own / "cpuacct.usage"
    memory_limit: Optional[float] = None
    memory_usage: Optional[Path] = None
    mount = cgroup_root / "memory"
    own = _own_dir(mount, per_controller.get("memory", "/"))
    if own is not None:
        memory_limit = _min_limit([_bytes_limit(_read_text(d / "memory.limit_in_bytes"))
                                   for d in _ancestors(own, mount)])
        if (own / "memory.usage_in_bytes").exists():
            memory_usage = own / "memory.usage_in_bytes"
    return CgroupLimits(1, cpu_limit, int(memory_limit) if memory_limit else None, cpu_usage, memory_usage)


def read_cgroup_memory_used(limits: CgroupLimits) -> Optional[int]:
    """Bytes the container uses now, or None when not limited/readable."""
    if limits.memory_limit_bytes is None or limits.memory_usage_file is None:
        return None
    text = _read_text(limits.memory_usage_file)
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------- CPU clocks

@dataclass(frozen=True)
class CpuTimes:
    """Cumulative CPU seconds: busy (all CPUs), capacity (CPUs × elapsed) and the wall clock of the reading."""

    busy_s: float
    capacity_s: float
    wall_s: float


class CpuClock:
    """Machine or container CPU time, read without blocking; differences of two readings give the load.

    On Linux the first line of ``<proc_root>/stat`` (one small read); elsewhere ``psutil.cpu_times()``. Inside a
    container with a CPU quota, busy time is the cgroup's own usage and capacity is quota × elapsed time, so the
    load is relative to the CPUs the container may use.
    """

    def __init__(self, proc_root: Path = Path("/proc"), limits: Optional[CgroupLimits] = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._stat = proc_root / "stat"
        self._limits = limits if limits is not None and limits.cpu_limit and limits.cpu_usage_file else None
        self._monotonic = monotonic
        self._hz = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
        self._use_proc = sys.platform.startswith("linux") or self._stat.exists()

    @property
    def container_cpus(self) -> Optional[float]:
        return self._limits.cpu_limit if self._limits else None

    def read(self) -> CpuTimes:
        now = self._monotonic()
        if self._limits is not None:
            busy = self._cgroup_busy()
            if busy is not None:
                return CpuTimes(busy, now * float(self._limits.cpu_limit or 1.0), now)
        if self._use_proc:
            busy, total = self._proc_stat()
        else:
            busy, total = self._psutil_times()
        return CpuTimes(busy, total, now)

    def _cgroup_busy(self) -> Optional[float]:
        assert self._limits is not None and self._limits.cpu_usage_file is not None
        text = _read_text(self._limits.cpu_usage_file)
        if not text:
            return None
        try:
            if self._limits.cpu_usage_file.name == "cpu.stat":
                for line in text.splitlines():
                    if line.startswith("usage_usec"):
                        return int(line.split()[1]) / 1e6
                return None
            return int(text.strip()) / 1e9
        except (ValueError, IndexError):
            return None

    def _proc_stat(self) -> tuple[float, float]:
        # The CPU estimate and the utilisation meter both read the machine's CPU time in the same tick:
        # one read of /proc/stat serves every clock for a couple of milliseconds.
        now = self._monotonic()
        cached = _PROC_STAT_CACHE.get(self._stat) if str(self._stat) == "/proc/stat" else None
        if cached is not None and 0.0 <= now - cached[0] < _PROC_STAT_REUSE_S:
            return cached[1], cached[2]
        try:
            first = _pread_head(self._stat, 512).split(b"\n", 1)[0]
        except OSError:
            return self._psutil_times()
        fields = [int(x) for x in first.split()[1:]]
        fields += [0] * (8 - len(fields))
        user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
        busy = user + nice + system + irq + softirq + steal  # guest time is already inside user/nice
        result = busy / self._hz, (busy + idle + iowait) / self._hz
        _PROC_STAT_CACHE[self._stat] = (now, *result)
        return result

    @staticmethod
    def _psutil_times() -> tuple[float, float]:
        import psutil

        times = psutil.cpu_times()
        idle = getattr(times, "idle", 0.0) + getattr(times, "iowait", 0.0)
        total = sum(times)
        if hasattr(times, "guest"):  # Linux counts guest time inside user as well
            total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
        return total - idle, total


def load_fraction(before: CpuTimes, after: CpuTimes) -> float:
    """Busy fraction of the available CPU capacity between two readings, in [0, 1]."""
    capacity = after.capacity_s - before.capacity_s
    if capacity <= 0:
        return 0.0
    return min(1.0, max(0.0, (after.busy_s - before.busy_s) / capacity))


# ------------------------------------------------------------------------------------ the process tree

@dataclass
class _Seen:
    """One tree member's CPU seconds at its last reading: its own and those of its reaped children."""

    own_s: float
    children_s: float
    ppid: int

    @property
    def total_s(self) -> float:
        return self.own_s + self.children_s


class ProcessTreeMeter:
    """CPU time and memory of a process and all its descendants, each CPU second counted once.

    Every member is read per call, keyed by (pid, creation time) so a reused pid never subtracts from another
    process. Work of children the tree reaps reaches us through the reaper's ``children_user`` /
    ``children_system`` -- which is how a child that started and ended between two readings is still counted.
    But a child we *did* see alive was already counted up to its last reading: when it is reaped, its time shows
    up a second time in its parent's children times. So each member that vanishes leaves a credit of the seconds
    already counted for it on its nearest live ancestor, and that ancestor's next rise in children times is
    counted net of the credit. Without that, every finished child would count twice (``monitor -- CMD``: the
    whole command). A credit that no rise claims within two readings (a child auto-reaped with SIGCHLD ignored,
    which charges nobody) lapses, so it cannot swallow later work.
    """

    #: Finding descendants scans every pid on the machine (milliseconds); the list is refreshed at most this
    #: often. A child found late still counts all its CPU time (a new key counts in full), and one that exits
    #: between scans is counted through its reaper's children times.
    RESCAN_S = 1.0
    #: readings a credit waits for its ancestor's children times to rise (the reap may land between our reads)
    CREDIT_READINGS = 2

    def __init__(self, pid: Optional[int] = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        import psutil

        self._psutil = psutil
        self._root = psutil.Process(pid if pid is not None else os.getpid())
        self._last: dict[tuple[int, float], _Seen] = {}
        self._credits: dict[tuple[int, float], list[float]] = {}  # key -> [seconds, readings left]
        self._monotonic = monotonic
        self._children: list = []
        self._scanned_at: Optional[float] = None

    def _members(self, rescan: bool = False) -> list:
        now = self._monotonic()
        if rescan or self._scanned_at is None or now - self._scanned_at >= self.RESCAN_S:
            try:
                self._children = self._root.children(recursive=True)
            except self._psutil.Error:
                self._children = []
            self._scanned_at = now
        return [self._root] + self._children

    def _read_members(self, rescan: bool) -> tuple[dict[tuple[int, float], _Seen], set[tuple[int, float]]]:
        """This reading of every member, and the keys known to have ended (their pid is gone)."""
        seen: dict[tuple[int, float], _Seen] = {}
        ended: set[tuple[int, float]] = set()
        by_pid = {key[0]: key for key in self._last}
        for proc in self._members(rescan):
            try:
                with proc.oneshot():
                    t = proc.cpu_times()
                    key = (proc.pid, proc.create_time())
                    ppid = proc.ppid()
            except self._psutil.ZombieProcess:  # not reaped yet: its time has not moved to the parent
                known = by_pid.get(proc.pid)
                if known is not None:
                    seen[known] = self._last[known]
                continue
            except self._psutil.NoSuchProcess:
                known = by_pid.get(proc.pid)
                if known is not None:
                    ended.add(known)
                continue
            except self._psutil.Error:  # access denied for a moment: keep what we had, count nothing new
                known = by_pid.get(proc.pid)
                if known is not None:
                    seen[known] = self._last[known]
                continue
            seen[key] = _Seen(t.user + t.system, getattr(t, "children_user", 0.0)
                              + getattr(t, "children_system", 0.0), ppid)
        for key in self._last.keys() - seen.keys() - ended:  # left the listing: ended, or re-parented away
            if not self._still_running(key):
                ended.add(key)
        return seen, ended

    def _still_running(self, key: tuple[int, float]) -> bool:
        try:
            return self._psutil.Process(key[0]).create_time() == key[1]
        except self._psutil.Error:
            return False

    def _leave_credits(self, seen: dict[tuple[int, float], _Seen], ended: set[tuple[int, float]]) -> None:
        """Each ended member's counted seconds become a credit on its nearest live ancestor."""
        live_by_pid = {key[0]: key for key in seen}
        last_by_pid = {key[0]: key for key in self._last}
        for key in ended:
            previous = self._last.get(key)
            if previous is None:
                continue
            ppid, hops = previous.ppid, 0
            while ppid not in live_by_pid and ppid in last_by_pid and hops < 64:  # the parent ended too
                ppid, hops = self._last[last_by_pid[ppid]].ppid, hops + 1
            heir = live_by_pid.get(ppid)
            if heir is not None:
                credit = self._credits.setdefault(heir, [0.0, 0.0])
                credit[0] += previous.total_s
                credit[1] = self.CREDIT_READINGS

    def start(self) -> None:
        """Take the baseline: time already spent before tracking is not counted."""
        self._last, _ = self._read_members(rescan=True)
        self._credits = {}

    def cpu_seconds_delta(self) -> float:
        """CPU seconds the tree spent since the previous call (or ``start``)."""
        seen, ended = self._read_members(rescan=False)
        self._leave_credits(seen, ended)
        delta = 0.0
        for key, now in seen.items():
            previous = self._last.get(key)
            if previous is None:  # new to us: everything it and its reaped children spent is new
                delta += now.total_s
                continue
            delta += max(0.0, now.own_s - previous.own_s)
            rise = max(0.0, now.children_s - previous.children_s)
            credit = self._credits.get(key)
            if credit is not None and rise > 0:
                claimed = min(rise, credit[0])
                credit[0] -= claimed
                rise -= claimed
            delta += rise
        for key in list(self._credits):
            credit = self._credits[key]
            credit[1] -= 1
            if credit[0] <= 0 or credit[1] <= 0 or key not in seen:
                del self._credits[key]
        self._last = seen
        return delta

    def rss_bytes(self) -> int:
        """Resident memory of the tree (shared pages counted in each process: an upper bound)."""
        total = 0
        for proc in self._members():
            try:
                total += proc.memory_info().rss
            except self._psutil.Error:
                continue
        return total


class CpuShare:
    """The tree's share of the machine's busy CPU time, tick by tick (see the module docstring)."""

    def __init__(self, tree: ProcessTreeMeter, clock: CpuClock) -> None:
        self._tree = tree
        self._clock = clock
        self._last: Optional[CpuTimes] = None

    def start(self) -> None:
        self._tree.start()
        self._last = self._clock.read()

    def step(self) -> float:
        """Share in [0, 1] for the time since the previous step."""
        now = self._clock.read()
        process = self._tree.cpu_seconds_delta()
        last, self._last = self._last, now
        if last is None:
            return 0.0
        busy = now.busy_s - last.busy_s
        if busy <= 0:
            return 1.0 if process > 0 else 0.0
        return min(1.0, max(0.0, process / busy))


class MemoryShare:
    """The tree's resident memory over the memory available to us (machine or container limit)."""

    def __init__(self, tree: ProcessTreeMeter, total_bytes: int) -> None:
        self._tree = tree
        self._total = max(1, int(total_bytes))

    def start(self) -> None:
        return None

    def step(self) -> float:
        return min(1.0, self._tree.rss_bytes() / self._total)
