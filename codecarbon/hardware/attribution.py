"""Who used the machine: CPU-time clocks, container (cgroup) limits and a process tree's share.

Estimates and process-mode apportioning both need the same few facts: how much CPU time the machine (or the
container we run in) spent busy, how much it could have spent, and how much of that the tracked process tree
took. They live here so CPU and RAM sources compute shares the same way.

Process-mode attribution rule: the machine's energy is split in proportion to CPU time consumed,
``share = Δ(tree CPU seconds) / Δ(machine busy CPU seconds)``. Shares of all processes then add up to what the
machine drew, so the energy a tracked job is charged never exceeds what was measured and is never invented from
idle capacity. RAM uses the tree's resident memory over the memory available (machine or container limit).

Three things keep the ratio honest (a share above its true value is energy counted twice across processes):

* One clock for both sides. On Linux each member's CPU time is its process CPU clock
  (``clock_gettime`` on the pid's ``CPUCLOCK_SCHED``: the scheduler's nanoseconds for the whole thread group,
  exited threads included), and the machine's busy time is the same scheduler accounting summed over every task:
  the root cgroup v1 ``cpuacct.usage`` (ns), or the container's own cgroup usage when that is the busy time the
  estimate uses. A process's 10 ms tick jump against 15 ms of machine time cannot happen then. Where no such
  machine counter is visible (cgroup v2 only: its root ``cpu.stat`` and /proc/stat are tick-sampled), the
  clock's busy time is used and only the minimum below protects the ratio.
* A minimum window. Deltas are carried forward until the machine's busy time over the window reaches
  ``MIN_BUSY_S`` (a few ms for the precise counters, ten USER_HZ ticks for tick-sampled ones); until then the
  last computed share (0 before the first) applies. A near-idle tick thus never yields a share from a handful of
  rounding units, and ``busy <= 0`` is simply "not enough yet", never "the tree took everything".
* Containment. Each tick reads the machine, then the tree, then the machine again: the window's machine time runs
  from the first reading of the tick that opened it to the last reading of the tick that closes it, so the
  tree's interval always lies inside the machine's and its time is part of the machine's busy time.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, NamedTuple, Optional

from codecarbon.support.record import Record

#: /proc/stat readings shared by every CpuClock within this many seconds (its counters tick at 100 Hz anyway):
#: the CPU estimate and the utilisation meter both read the machine's CPU time in the same tick.
_PROC_STAT_REUSE_S = 0.002

#: Limits at or above this are the kernel's way of saying "no limit" (v1 writes 2**63 rounded to pages).
_UNLIMITED_BYTES = 1 << 60


class CgroupLimits(Record):
    """What the container we run in may use; ``None`` means not limited (or not in a cgroup we can read)."""

    __slots__ = ("version", "cpu_limit", "memory_limit_bytes", "cpu_usage_file", "memory_usage_file",
                 "machine_usage_file")

    def __init__(self, version: Optional[int] = None, cpu_limit: Optional[float] = None,
                 memory_limit_bytes: Optional[int] = None, cpu_usage_file: Optional[Path] = None,
                 memory_usage_file: Optional[Path] = None, machine_usage_file: Optional[Path] = None) -> None:
        self.version: Final = version  # 1, 2 or None
        self.cpu_limit: Final = cpu_limit  # CPUs (quota / period), fractional allowed
        self.memory_limit_bytes: Final = memory_limit_bytes
        self.cpu_usage_file: Final = cpu_usage_file  # v2 cpu.stat (usage_usec) or v1 cpuacct.usage (ns)
        self.memory_usage_file: Final = memory_usage_file  # v2 memory.current or v1 memory.usage_in_bytes
        #: the *root* cgroup's v2 cpu.stat when we can see it: the whole machine's busy time, see machine_usage_file
        self.machine_usage_file: Final = machine_usage_file


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


def machine_usage_file(cgroup_root: Path) -> Optional[Path]:
    """The root cgroup's ``cpu.stat`` (cgroup v2, unified or hybrid mount), or None when the mount we see is not
    the root (a container's own cgroup namespace) or the kernel is too old to keep root statistics.

    Its ``usage_usec`` is user + nice + system + irq + softirq + steal summed over every CPU -- the busy time
    /proc/stat gives -- in microseconds instead of 10 ms ticks, and far cheaper to read: the kernel formats one
    short line instead of every CPU's counters and every interrupt's. The root is the v2 cgroup without
    ``cgroup.type`` and ``cpu.max``: both exist on every other cgroup.
    """
    for mount in (cgroup_root, cgroup_root / "unified"):
        if not (mount / "cgroup.controllers").exists() or (mount / "cgroup.type").exists() \
                or (mount / "cpu.max").exists():
            continue
        first = (_read_text(mount / "cpu.stat") or "").split("\n", 1)[0].split()
        if len(first) == 2 and first[0] == "usage_usec" and first[1].isdigit():
            return mount / "cpu.stat"
    return None


def root_task_usage_file(cgroup_root: Path) -> Optional[Path]:
    """The root cgroup v1 ``cpuacct.usage``: nanoseconds every task on the machine ran, charged by the scheduler
    as it charges each task's own clock -- the machine counter the process CPU clocks add up to. Only the real
    root has ``release_agent`` (a cgroup namespace's root does not), so a container never mistakes its own
    usage for the machine's. None when cgroup v1 cpuacct is not mounted (v2-only hosts)."""
    for name in ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"):
        mount = cgroup_root / name
        usage = mount / "cpuacct.usage"
        if (mount / "release_agent").exists() and (_read_text(usage) or "").strip().isdigit():
            return usage
    return None


def read_cgroup_limits(proc_root: Path = Path("/proc"), cgroup_root: Path = Path("/sys/fs/cgroup")) -> CgroupLimits:
    """Read our CPU quota and memory limit, cgroup v2 first, then v1. Never raises; cgroups are Linux's."""
    if not sys.platform.startswith("linux"):
        return CgroupLimits()
    limits = _read_cgroup_limits(proc_root, cgroup_root)
    machine = machine_usage_file(cgroup_root)
    return limits._replaced(machine_usage_file=machine) if machine is not None else limits


def _read_cgroup_limits(proc_root: Path, cgroup_root: Path) -> CgroupLimits:
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


# --------------------------------------------------------------------------------------------- CPU clocks

class CpuTimes(NamedTuple):
    """Cumulative CPU seconds: busy (all CPUs), capacity (CPUs × elapsed) and the wall clock of the reading.
    A named tuple: the sampling thread builds one or two every tick."""

    busy_s: float
    capacity_s: float
    wall_s: float


class _ProcStat:
    """The machine's busy and total CPU seconds from the first line of one ``/proc/stat``."""

    def __init__(self, path: Path, reuse_s: float) -> None:
        from codecarbon.hardware._linux import clock_ticks_per_second, kernel_file

        self._file = kernel_file(path, 256)  # the aggregate line comes first; the kernel builds the rest anyway
        self._hz = clock_ticks_per_second()
        self._reuse_s = reuse_s
        self._at = -1.0
        self._last = (0.0, 0.0)

    def read(self) -> tuple[float, float]:
        from codecarbon.hardware._linux import parse_stat_cpu_line

        now = time.monotonic()
        if self._reuse_s and 0.0 <= now - self._at < self._reuse_s:
            return self._last
        busy, total = parse_stat_cpu_line(self._file.read())
        self._last = (busy / self._hz, total / self._hz)
        self._at = now
        return self._last


class _RootUsage:
    """The machine's busy CPU seconds from the root cgroup's ``cpu.stat`` (see ``machine_usage_file``)."""

    def __init__(self, path: Path, reuse_s: float) -> None:
        from codecarbon.hardware._linux import kernel_file

        self._file = kernel_file(path, 64)  # "usage_usec N" is the first line
        self._reuse_s = reuse_s
        self._at = -1.0
        self._last = 0.0

    def read(self) -> float:
        now = time.monotonic()
        if self._reuse_s and 0.0 <= now - self._at < self._reuse_s:
            return self._last
        data = self._file.read()
        self._last = int(data[11:data.index(b"\n")]) / 1e6
        self._at = now
        return self._last


_real_proc_stat: Optional[_ProcStat] = None
_real_root_usage: dict[str, _RootUsage] = {}


def _root_usage_for(path: Path) -> _RootUsage:
    """Like /proc/stat: the kernel's file is shared by every clock within a tick; a fake tree's is not."""
    text = str(path)
    if not text.startswith("/sys/"):
        return _RootUsage(path, 0.0)
    found = _real_root_usage.get(text)
    if found is None:
        found = _real_root_usage.setdefault(text, _RootUsage(path, _PROC_STAT_REUSE_S))
    return found


def _proc_stat_for(proc_root: Path) -> _ProcStat:
    """The real /proc/stat is shared by every clock (one read per tick serves them all); a fake tree's is not."""
    global _real_proc_stat
    if str(proc_root) != "/proc":
        return _ProcStat(proc_root / "stat", 0.0)
    if _real_proc_stat is None:
        _real_proc_stat = _ProcStat(proc_root / "stat", _PROC_STAT_REUSE_S)
    return _real_proc_stat


def _psutil_busy_and_total() -> tuple[float, float]:
    """The machine's CPU seconds where there is no /proc/stat, each OS's fields summed its own way."""
    import psutil

    times = psutil.cpu_times()
    if sys.platform.startswith("win"):
        from codecarbon.hardware import _windows

        return _windows.busy_and_total_seconds(times)
    if sys.platform == "darwin":
        from codecarbon.hardware import _macos

        return _macos.busy_and_total_seconds(times)
    idle = getattr(times, "idle", 0.0) + getattr(times, "iowait", 0.0)
    total = sum(times)
    if hasattr(times, "guest"):  # Linux counts guest time inside user as well
        total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return total - idle, total


class CpuClock:
    """Machine or container CPU time, read without blocking; differences of two readings give the load.

    On Linux the first line of ``<proc_root>/stat`` (one ``pread`` on a descriptor kept open); elsewhere
    ``psutil.cpu_times()``. Inside a container with a CPU quota, busy time is the cgroup's own usage and
    capacity is quota × elapsed time, so the load is relative to the CPUs the container may use.
    """

    def __init__(self, proc_root: Path = Path("/proc"), limits: Optional[CgroupLimits] = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        linux = sys.platform.startswith("linux")
        self._limits = limits if limits is not None and limits.cpu_limit and limits.cpu_usage_file else None
        self._monotonic = monotonic
        self._proc_stat = _proc_stat_for(Path(proc_root)) if linux else None
        self._hz = self._proc_stat._hz if self._proc_stat is not None else 100.0
        self._cgroup = None
        self._cgroup_usec = False
        self._machine: Optional[_RootUsage] = None
        self._online_cpus = 1.0
        if self._limits is not None and self._limits.cpu_usage_file is not None:
            from codecarbon.hardware._linux import kernel_file

            self._cgroup = kernel_file(self._limits.cpu_usage_file, 64)  # usage_usec is cpu.stat's first line
            self._cgroup_usec = self._limits.cpu_usage_file.name == "cpu.stat"
        elif linux and limits is not None and limits.machine_usage_file is not None:
            from codecarbon.hardware._linux import online_cpus

            cpus = online_cpus()
            if cpus:
                self._machine = _root_usage_for(limits.machine_usage_file)
                self._online_cpus = float(cpus)

    @property
    def busy_is_task_time(self) -> bool:
        """True when busy time is a cgroup's own usage: the scheduler's task time, as precise as a process clock."""
        return self._cgroup is not None

    def read(self) -> CpuTimes:
        now = self._monotonic()
        if self._cgroup is not None:
            busy = self._cgroup_busy()
            if busy is not None:
                return CpuTimes(busy, now * float(self._limits.cpu_limit or 1.0) if self._limits else now, now)
        if self._machine is not None:  # every online CPU accrues one second per second, busy or idle
            try:
                return CpuTimes(self._machine.read(), now * self._online_cpus, now)
            except (OSError, ValueError):
                self._machine = None  # /proc/stat from now on
        if self._proc_stat is not None:
            try:
                busy, total = self._proc_stat.read()
                return CpuTimes(busy, total, now)
            except (OSError, ValueError):
                pass
        busy, total = _psutil_busy_and_total()
        return CpuTimes(busy, total, now)

    def _cgroup_busy(self) -> Optional[float]:
        assert self._cgroup is not None
        try:
            data = self._cgroup.read()
            if self._cgroup_usec:  # v2 cpu.stat: "usage_usec N" first
                for line in data.split(b"\n"):
                    if line.startswith(b"usage_usec"):
                        return int(line.split()[1]) / 1e6
                return None
            return int(data.strip()) / 1e9  # v1 cpuacct.usage: nanoseconds
        except (OSError, ValueError, IndexError):
            return None


def load_fraction(before: CpuTimes, after: CpuTimes) -> float:
    """Busy fraction of the available CPU capacity between two readings, in [0, 1]."""
    capacity = after.capacity_s - before.capacity_s
    if capacity <= 0:
        return 0.0
    return min(1.0, max(0.0, (after.busy_s - before.busy_s) / capacity))


# ------------------------------------------------------------------------------------ the process tree

def _process_clock_id(pid: int) -> int:
    """Linux's CPU-clock id for a whole process (``CPUCLOCK_SCHED`` of the thread group; see clock_getcpuclockid):
    reading it is one system call, needs no permission on the pid, and gives the scheduler's nanoseconds."""
    return ((~pid) << 3) | 2


def _process_cpu_s(pid: int) -> Optional[float]:
    """Seconds the process ``pid`` (every thread, exited ones included) has run; None when it cannot be read."""
    try:
        return time.clock_gettime_ns(_process_clock_id(pid)) / 1e9
    except (OSError, OverflowError, AttributeError):
        return None


def _precise_clocks_work() -> bool:
    """Process CPU clocks are Linux's; check once that this kernel answers for our own pid."""
    return sys.platform.startswith("linux") and _process_cpu_s(os.getpid()) is not None


class _Seen:
    """One tree member's CPU seconds at its last reading: its own and those of its reaped children."""

    __slots__ = ("own_s", "children_s", "ppid")

    def __init__(self, own_s: float, children_s: float, ppid: int) -> None:
        self.own_s = own_s
        self.children_s = children_s
        self.ppid = ppid

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
    #: between scans is counted through its reaper's children times. Not slower: time that arrives late lands
    #: in one tick, where the share is capped at the machine's busy time, so late is partly lost energy.
    RESCAN_S = 1.0
    #: readings a credit waits for its ancestor's children times to rise (the reap may land between our reads)
    CREDIT_READINGS = 2

    def __init__(self, pid: Optional[int] = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        import psutil

        self._psutil = psutil
        self._root = psutil.Process(pid if pid is not None else os.getpid())
        self._own_key: Optional[tuple[int, float]] = None
        if self._root.pid == os.getpid():
            try:
                self._own_key = (self._root.pid, self._root.create_time())
            except psutil.Error:
                self._own_key = None
        self._last: dict[tuple[int, float], _Seen] = {}
        self._credits: dict[tuple[int, float], list[float]] = {}  # key -> [seconds, readings left]
        self._monotonic = monotonic
        self._children: list = []
        self._scanned_at: Optional[float] = None
        #: own CPU time from the process clocks (ns, same accounting as the machine's task time) instead of
        #: /proc/<pid>/stat's 10 ms ticks; children's reaped time only exists in ticks and stays so
        self.precise = _precise_clocks_work()

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
        members = self._members(rescan)
        if self._own_key is not None:  # the tracked root is this process: os.times() is one cheap system call
            t = os.times()
            own = time.process_time() if self.precise else t.user + t.system
            seen[self._own_key] = _Seen(own, t.children_user + t.children_system, -1)
            members = members[1:]
        for proc in members:
            try:
                with proc.oneshot():
                    t = proc.cpu_times()
                    key = (proc.pid, proc.create_time())
                    ppid = proc.ppid()
                own_s = t.user + t.system
                if self.precise:
                    clock_s = _process_cpu_s(proc.pid)
                    if clock_s is None:  # ended (or a zombie) since its /proc entry was read
                        raise self._psutil.ZombieProcess(proc.pid)
                    own_s = clock_s
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
            seen[key] = _Seen(own_s, getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0), ppid)
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


class TaskTimeCounter:
    """A machine-wide task-time counter (root ``cpuacct.usage``, ns) read with one ``pread`` per call."""

    def __init__(self, path: Path) -> None:
        from codecarbon.hardware._linux import kernel_file

        self._file = kernel_file(path, 32)

    def read(self) -> float:
        return int(self._file.read()) / 1e9


class CpuShare:
    """The tree's share of the machine's busy CPU time, tick by tick (see the module docstring).

    ``machine`` is a precise task-time counter for the whole machine (``TaskTimeCounter``) or None to use the
    clock's busy time; ``for_machine`` picks it. The window's minimum busy time follows the machine side's
    resolution."""

    #: minimum machine busy seconds per window: precise counters (ns/µs) vs tick-sampled ones (USER_HZ)
    MIN_BUSY_PRECISE_S = 0.005
    MIN_BUSY_TICKS_S = 0.1

    def __init__(self, tree: ProcessTreeMeter, clock: CpuClock, machine: Optional[TaskTimeCounter] = None) -> None:
        self._tree = tree
        self._clock = clock
        self._machine = machine
        precise = getattr(tree, "precise", False) and (machine is not None or clock.busy_is_task_time)
        self.min_busy_s = self.MIN_BUSY_PRECISE_S if precise else self.MIN_BUSY_TICKS_S
        self._window_start: Optional[float] = None  # machine busy at the opening of the window
        self._window_process = 0.0
        self._share = 0.0

    @classmethod
    def for_machine(cls, tree: ProcessTreeMeter, clock: CpuClock,
                    cgroup_roots: tuple[Path, ...] = (Path("/sys/fs/cgroup"),)) -> CpuShare:
        """The share against the most precise machine counter consistent with ``clock``: the clock itself when it
        counts a container's task time, else the first root ``cpuacct.usage`` found under ``cgroup_roots``."""
        if not clock.busy_is_task_time and getattr(tree, "precise", False) and sys.platform.startswith("linux"):
            for root in cgroup_roots:
                path = root_task_usage_file(root)
                if path is None:
                    continue
                counter = TaskTimeCounter(path)
                try:
                    counter.read()
                except (OSError, ValueError):
                    continue
                return cls(tree, clock, counter)
        return cls(tree, clock)

    def _busy_s(self) -> float:
        if self._machine is not None:
            try:
                return self._machine.read()
            except (OSError, ValueError):  # gone: the clock from now on (a new window, its units differ)
                self._machine = None
                self.min_busy_s = self.MIN_BUSY_TICKS_S
                self._window_start = None
        return self._clock.read().busy_s

    def start(self) -> None:
        self._window_start = self._busy_s()  # before the tree: the tree's interval starts inside the machine's
        self._tree.start()
        self._window_process = 0.0
        self._share = 0.0

    def step(self) -> float:
        """Share in [0, 1] for the time since the previous step."""
        opening = self._busy_s()  # the next window's start, read before this tree reading
        process = self._tree.cpu_seconds_delta()
        closing = self._busy_s()  # after the tree reading: its interval ends inside the machine's
        start, self._window_start = self._window_start, None
        if start is None or closing < start:  # no baseline (or a counter reset): begin a window here
            self._window_start, self._window_process = opening, 0.0
            return self._share
        self._window_process += process
        busy = closing - start
        if busy < self.min_busy_s:  # not enough machine time to divide by: keep the window open
            self._window_start = start
            return self._share
        self._share = min(1.0, max(0.0, self._window_process / busy))
        self._window_start, self._window_process = opening, 0.0
        return self._share


class MemoryShare:
    """The tree's resident memory over the memory available to us (machine or container limit)."""

    def __init__(self, tree: ProcessTreeMeter, total_bytes: int) -> None:
        self._tree = tree
        self._total = max(1, int(total_bytes))

    def start(self) -> None:
        return None

    def step(self) -> float:
        return min(1.0, self._tree.rss_bytes() / self._total)
