"""cgroup limits (v1, v2, nested, namespaced), the process tree's CPU time, and share apportioning."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from codecarbon.hardware.attribution import (
    CpuClock,
    CpuShare,
    MemoryShare,
    ProcessTreeMeter,
    read_cgroup_limits,
    root_task_usage_file,
)
from codecarbon.hardware.cpu_estimate import CpuLoadModelSource
from codecarbon.hardware.process_share import ProcessShareSource
from codecarbon.hardware.rapl import RaplSource, discover_rapl
from tests.fakes.sysfs import FakeSysfs

BURN = "import time\nwhile time.process_time() < {seconds}: pass\n"


def test_no_cgroup_means_no_limits(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    limits = read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup")
    assert (limits.cpu_limit, limits.memory_limit_bytes) == (None, None)


def test_v2_limits_and_unlimited_values(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.cgroup_v2("/user.slice/job", cpu_max="150000 100000", memory_max="1073741824")
    limits = read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup")
    assert (limits.version, limits.cpu_limit, limits.memory_limit_bytes) == (2, 1.5, 1024 ** 3)
    fs.cgroup_v2("/user.slice/job", cpu_max="max 100000", memory_max="max")
    limits = read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup")
    assert (limits.cpu_limit, limits.memory_limit_bytes) == (None, None)


def test_v2_parent_limit_binds_the_child(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.cgroup_v2("/kubepods/pod1", cpu_max="max 100000")
    parent = fs.sys / "fs" / "cgroup" / "kubepods"
    (parent / "cpu.max").write_text("400000 100000\n")
    (parent / "memory.max").write_text(f"{8 * 1024 ** 3}\n")
    limits = read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup")
    assert (limits.cpu_limit, limits.memory_limit_bytes) == (4.0, 8 * 1024 ** 3)


def test_v2_inside_a_cgroup_namespace_reads_the_mount_root(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.cgroup_v2("/", cpu_max="50000 100000")
    (fs.proc / "self" / "cgroup").write_text("0::/../../host/path\n")
    assert read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup").cpu_limit == 0.5


def test_v1_limits(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.cgroup_v1("/docker/abc", quota_us=250_000, period_us=100_000, limit_bytes=3 * 1024 ** 3)
    limits = read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup")
    assert (limits.version, limits.cpu_limit, limits.memory_limit_bytes) == (1, 2.5, 3 * 1024 ** 3)
    fs.cgroup_v1("/docker/abc")  # quota -1, limit = the kernel's "unlimited" page-rounded 2**63
    limits = read_cgroup_limits(fs.proc, fs.sys / "fs" / "cgroup")
    assert (limits.cpu_limit, limits.memory_limit_bytes) == (None, None)


def test_tree_counts_live_and_reaped_children() -> None:
    meter = ProcessTreeMeter()
    meter.RESCAN_S = 0.0  # look for new descendants at every call
    meter.start()
    live = subprocess.Popen([sys.executable, "-c", BURN.format(seconds=0.3) + "print('burnt', flush=True)\n"
                             "import sys; sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert live.stdout.readline().strip() == b"burnt"  # the child has spent its CPU time
        assert meter.cpu_seconds_delta() >= 0.25  # /proc rounds each of user/system down to 10 ms ticks
        assert meter.rss_bytes() > psutil.Process().memory_info().rss
    finally:
        live.stdin.close()
        live.wait()
        live.stdout.close()
    subprocess.run([sys.executable, "-c", BURN.format(seconds=0.2)], check=True)  # exits and is reaped
    assert meter.cpu_seconds_delta() >= 0.15


# A child that burns CPU, reports the CPU time it spent in all (interpreter start-up included) once told to
# finish, and exits. Its parent reaps it, so its time reaches the parent's children_user/children_system.
REPORTING_CHILD = (BURN + "print('burnt', flush=True)\nimport sys; sys.stdin.read()\n"
                   "print(time.process_time(), flush=True)\n")


def _finish(child: subprocess.Popen) -> float:
    """Let a REPORTING_CHILD end, reap it, and return the CPU seconds it spent."""
    out, _ = child.communicate(b"")
    return float(out.split()[-1])


def test_a_finished_child_is_counted_once() -> None:
    """Seen alive, then reaped: its CPU seconds must not count again through the parent's children times."""
    meter = ProcessTreeMeter()
    meter.RESCAN_S = 0.0
    meter.start()
    own_before = sum(psutil.Process().cpu_times()[:2])
    counted = 0.0
    children = [subprocess.Popen([sys.executable, "-c", REPORTING_CHILD.format(seconds=0.4)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(2)]
    for child in children:
        assert child.stdout.readline().strip() == b"burnt"
    counted += meter.cpu_seconds_delta()  # both alive: counted from their own times
    burnt = sum(_finish(child) for child in children)  # exited and reaped by this process
    counted += meter.cpu_seconds_delta()
    counted += meter.cpu_seconds_delta()  # a later reading adds nothing more
    own = sum(psutil.Process().cpu_times()[:2]) - own_before
    assert burnt >= 0.8
    assert counted == pytest.approx(burnt + own, abs=0.06 + 0.05 * burnt)  # /proc rounds to 10 ms ticks


def test_a_reaped_subtree_is_counted_once() -> None:
    """A child that runs a grandchild: both seen alive, then both reaped in one interval (the grandchild by the
    child, the child by us). The credits go to the nearest live ancestor."""
    parent_code = (
        "import subprocess, sys, time\n"
        f"grandchild = subprocess.Popen([sys.executable, '-c', {REPORTING_CHILD.format(seconds=0.3)!r}],\n"
        "                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n"
        "assert grandchild.stdout.readline().strip() == b'burnt'\n"
        + BURN.format(seconds=0.2) +
        "print('burnt', flush=True)\n"
        "sys.stdin.read()\n"
        "out, _ = grandchild.communicate(b'')\n"
        "print(float(out.split()[-1]) + time.process_time(), flush=True)\n")
    meter = ProcessTreeMeter()
    meter.RESCAN_S = 0.0
    meter.start()
    own_before = sum(psutil.Process().cpu_times()[:2])
    child = subprocess.Popen([sys.executable, "-c", parent_code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout.readline().strip() == b"burnt"
    counted = meter.cpu_seconds_delta()
    assert counted >= 0.4  # the grandchild was seen and counted alive
    burnt = _finish(child)
    counted += meter.cpu_seconds_delta() + meter.cpu_seconds_delta()
    own = sum(psutil.Process().cpu_times()[:2]) - own_before
    assert counted == pytest.approx(burnt + own, abs=0.08 + 0.05 * burnt)


def test_a_child_never_seen_alive_is_still_counted() -> None:
    meter = ProcessTreeMeter()
    meter.start()
    own_before = sum(psutil.Process().cpu_times()[:2])
    child = subprocess.Popen([sys.executable, "-c", REPORTING_CHILD.format(seconds=0.3)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    child.stdout.readline()
    burnt = _finish(child)
    counted = meter.cpu_seconds_delta()
    own = sum(psutil.Process().cpu_times()[:2]) - own_before
    assert counted == pytest.approx(burnt + own, abs=0.06 + 0.05 * burnt)


class ScriptedTree:
    """Stands in for the process tree only (not the thing under test): CPU seconds per step, RSS."""

    def __init__(self, steps: list[float], rss: int = 0) -> None:
        self.steps = list(steps)
        self.rss = rss

    def start(self) -> None:
        return None

    def cpu_seconds_delta(self) -> float:
        return self.steps.pop(0)

    def rss_bytes(self) -> int:
        return self.rss


class MachineDuringRead(ScriptedTree):
    """A tree whose reading takes machine time: the fake /proc/stat moves while the tree is read."""

    def __init__(self, steps: list[float], fs: FakeSysfs, during: list[tuple[int, int]]) -> None:
        super().__init__(steps)
        self.fs, self.during = fs, list(during)

    def cpu_seconds_delta(self) -> float:
        user, idle = self.during.pop(0)
        self.fs.write_stat(user=user, system=0, idle=idle)
        return super().cpu_seconds_delta()


def test_rapl_energy_is_apportioned_by_cpu_time_share(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    hz = CpuClock(fs.proc)._hz
    fs.write_stat(user=0, system=0, idle=0)
    zone = fs.add_zone("intel-rapl:0", "package-0", 0)
    machine = RaplSource(discover_rapl(fs.sys).cpu_zones)
    source = ProcessShareSource(machine, CpuShare(ScriptedTree([2.0, 1.0]), CpuClock(fs.proc)))
    assert source.method == "rapl+process-share"
    source.open()
    zone.advance(100_000_000)                       # 100 J while the machine was busy 8 CPU-s, we 2
    fs.write_stat(user=int(6 * hz), system=int(2 * hz), idle=0)
    assert source.read_joules() == pytest.approx(25.0)
    zone.advance(40_000_000)                        # 40 J, machine 4 CPU-s, we 1
    fs.write_stat(user=int(10 * hz), system=int(2 * hz), idle=int(4 * hz))
    assert source.read_joules() == pytest.approx(35.0)


def test_model_energy_is_apportioned_the_same_way(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    hz = CpuClock(fs.proc)._hz
    fs.write_stat(user=0, system=0, idle=0)
    ticks = [0.0]
    clock = CpuClock(fs.proc, monotonic=lambda: ticks[0])
    source = ProcessShareSource(CpuLoadModelSource(100.0, clock), CpuShare(ScriptedTree([1.0]), clock))
    assert source.method == "tdp-model+process-share"
    source.open()
    fs.write_stat(user=int(4 * hz), system=0, idle=int(4 * hz))  # 50 % load, machine busy 4 CPU-s
    ticks[0] = 4.0
    assert source.read_joules() == pytest.approx(100 * (0.1 + 0.9 * 0.125) * 4 / 4)


def test_memory_share() -> None:
    share = MemoryShare(ScriptedTree([], rss=256 * 1024 ** 2), 1024 ** 3)
    assert share.step() == 0.25
    assert MemoryShare(ScriptedTree([], rss=4 * 1024 ** 3), 1024 ** 3).step() == 1.0


def test_a_near_idle_tick_keeps_the_last_share_until_the_machine_did_enough(tmp_path: Path) -> None:
    """One 10 ms jump of the tree against no (or a few ms of) machine time is not a share: the deltas wait."""
    fs = FakeSysfs(tmp_path)
    hz = CpuClock(fs.proc)._hz
    fs.write_stat(user=0, system=0, idle=0)
    share = CpuShare(ScriptedTree([0.01, 0.01, 0.02, 0.01]), CpuClock(fs.proc))
    share.start()
    assert share.step() == 0.0  # machine busy 0, tree 10 ms: the old rule said 1.0
    fs.write_stat(user=int(0.05 * hz), system=0, idle=0)
    assert share.step() == 0.0  # 50 ms of tick-sampled machine time is still below the window's minimum
    fs.write_stat(user=int(0.2 * hz), system=0, idle=0)
    assert share.step() == pytest.approx(0.04 / 0.2)  # the whole window: 40 ms of 200 ms
    assert share.step() == pytest.approx(0.2)  # nothing more on the machine: the last share holds


def test_the_tree_is_read_inside_the_machines_interval(tmp_path: Path) -> None:
    """The machine's counter is read after the tree: the tree's time is part of the busy time it is divided by."""
    fs = FakeSysfs(tmp_path)
    hz = int(CpuClock(fs.proc)._hz)
    fs.write_stat(user=0, system=0, idle=0)
    tree = MachineDuringRead([1.0, 1.0], fs, during=[(4 * hz, 0), (6 * hz, 2 * hz)])
    share = CpuShare(tree, CpuClock(fs.proc))
    share.start()
    fs.write_stat(user=3 * hz, system=0, idle=0)  # others ran 3 CPU-s; the tree's 1 s lands while it is read
    assert share.step() == pytest.approx(1.0 / 4.0)
    # the next window opens before the previous tree reading: [3 s, 6 s], so the 1 s read inside it counts too
    assert share.step() == pytest.approx(1.0 / 3.0)


def test_only_the_real_root_cpuacct_is_the_machines_task_time(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    fs.cgroup_v1("/docker/abc", usage_ns=5)
    cgroups = fs.sys / "fs" / "cgroup"
    mount = cgroups / "cpu,cpuacct"
    assert root_task_usage_file(cgroups) is None  # nothing at the mount's root
    (mount / "cpuacct.usage").write_text("123456789\n")
    assert root_task_usage_file(cgroups) is None  # a cgroup namespace's root: no release_agent there
    (mount / "release_agent").write_text("\n")
    assert root_task_usage_file(cgroups) == mount / "cpuacct.usage"
    share = CpuShare.for_machine(ProcessTreeMeter(), CpuClock(fs.proc), (cgroups,))
    if sys.platform.startswith("linux"):
        assert share.min_busy_s == CpuShare.MIN_BUSY_PRECISE_S  # process clocks against a ns counter


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process CPU clocks are Linux's")
def test_a_live_childs_time_comes_from_its_process_clock_not_ticks() -> None:
    meter = ProcessTreeMeter()
    meter.RESCAN_S = 0.0
    assert meter.precise
    code = BURN.format(seconds=0.25) + "print(time.process_time(), flush=True)\nimport sys; sys.stdin.read()\n"
    meter.start()
    own_before = time.process_time()
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        burnt = float(child.stdout.readline())
        counted = meter.cpu_seconds_delta()
        own = time.process_time() - own_before
    finally:
        child.communicate(b"")
    assert counted == pytest.approx(burnt + own, abs=0.003)  # ticks would be up to 20 ms short


@pytest.mark.skipif(root_task_usage_file(Path("/sys/fs/cgroup")) is None,
                    reason="no machine task-time counter (root cgroup v1 cpuacct) on this host")
def test_real_processes_shares_never_sum_above_one_under_load() -> None:
    """Three real busy processes, each with its own share, while two more burners load the machine: in every
    short tick the shares add up to at most the machine."""
    spin = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end: pass\n"
    burners = [subprocess.Popen([sys.executable, "-c", spin.format(s=8)]) for _ in range(2)]
    workers = [subprocess.Popen([sys.executable, "-c", spin.format(s=8)]) for _ in range(3)]
    try:
        clock = CpuClock()
        shares = [CpuShare.for_machine(ProcessTreeMeter(p.pid), clock) for p in workers]
        assert {s.min_busy_s for s in shares} == {CpuShare.MIN_BUSY_PRECISE_S}
        for share in shares:
            share.start()
        sums = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            time.sleep(0.02)
            sums.append(sum(share.step() for share in shares))
    finally:
        for process in burners + workers:
            process.kill()
            process.wait()
    assert len(sums) > 20 and max(sums) > 0.1  # the workers were seen working
    assert max(sums) <= 1.0 + 1e-3, sums
