"""Builders of fake /sys and /proc trees laid out as the Linux kernel lays them out.

Powercap: zones are directories under ``devices/virtual/powercap/<provider>/`` (children nested inside their
parent), and ``class/powercap/`` holds a symlink per provider and per zone, as sysfs does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

DEFAULT_RANGE_UJ = 262_143_328_850


@dataclass
class FakeZone:
    directory: Path

    @property
    def energy_file(self) -> Path:
        return self.directory / "energy_uj"

    @property
    def value(self) -> int:
        return int(self.energy_file.read_text())

    def set(self, value: int) -> None:
        self.energy_file.write_text(f"{value}\n")

    def advance(self, microjoules: int) -> None:
        """Move the counter forward, wrapping through max_energy_range_uj like the hardware."""
        limit = int((self.directory / "max_energy_range_uj").read_text())
        self.set((self.value + microjoules) % (limit + 1))


class FakeSysfs:
    """A fake ``/sys`` (and helpers for a fake ``/proc``) rooted in a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sys = root / "sys"
        self.proc = root / "proc"
        (self.sys / "class" / "powercap").mkdir(parents=True, exist_ok=True)
        (self.sys / "devices" / "virtual" / "powercap").mkdir(parents=True, exist_ok=True)
        self.proc.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ powercap
    def add_zone(self, zone: str, name: str, energy_uj: int = 0, *,
                 max_range_uj: int = DEFAULT_RANGE_UJ, links: bool = True) -> FakeZone:
        """Add a zone such as ``intel-rapl:0`` or ``intel-rapl-mmio:0`` or ``intel-rapl:0:1`` (parent first)."""
        provider, ids = zone.split(":", 1)
        parts = ids.split(":")
        directory = self.sys / "devices" / "virtual" / "powercap" / provider
        for depth in range(1, len(parts) + 1):
            directory = directory / f"{provider}:{':'.join(parts[:depth])}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "name").write_text(f"{name}\n")
        (directory / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
        (directory / "enabled").write_text("1\n")
        (directory / "energy_uj").write_text(f"{energy_uj}\n")
        if links:
            classes = self.sys / "class" / "powercap"
            provider_link = classes / provider
            if not provider_link.exists():
                provider_link.symlink_to(self.sys / "devices" / "virtual" / "powercap" / provider)
            link = classes / zone
            if not link.exists():
                link.symlink_to(directory)
        return FakeZone(directory)

    # ------------------------------------------------------------------ /proc
    def write_cpuinfo(self, model: Optional[str], *, sockets: int = 1, cores_per_socket: int = 2,
                      threads_per_core: int = 2, arm: bool = False) -> None:
        blocks = []
        processor = 0
        for socket in range(sockets):
            for core in range(cores_per_socket):
                for _ in range(threads_per_core):
                    lines = [f"processor\t: {processor}"]
                    if arm:
                        lines += ["BogoMIPS\t: 50.00", "CPU implementer\t: 0x41", "CPU part\t: 0xd0c"]
                    else:
                        lines += ["vendor_id\t: GenuineIntel", "cpu family\t: 6"]
                        if model is not None:
                            lines.append(f"model name\t: {model}")
                        lines += [f"physical id\t: {socket}", f"core id\t\t: {core}",
                                  f"cpu cores\t: {cores_per_socket}"]
                    blocks.append("\n".join(lines))
                    processor += 1
        (self.proc / "cpuinfo").write_text("\n\n".join(blocks) + "\n\n")

    def write_meminfo(self, total_kib: int, available_kib: int) -> None:
        (self.proc / "meminfo").write_text(
            f"MemTotal:       {total_kib} kB\nMemFree:        {available_kib // 2} kB\n"
            f"MemAvailable:   {available_kib} kB\nBuffers:            100 kB\n")

    def write_stat(self, user: int, system: int, idle: int, *, nice: int = 0, iowait: int = 0) -> None:
        """``/proc/stat`` aggregate line in clock ticks (USER_HZ)."""
        (self.proc / "stat").write_text(
            f"cpu  {user} {nice} {system} {idle} {iowait} 0 0 0 0 0\n"
            f"cpu0 {user} {nice} {system} {idle} {iowait} 0 0 0 0 0\nintr 0\nctxt 0\n")

    # ------------------------------------------------------------------ cgroups
    def cgroup_v2(self, path: str = "/", *, cpu_max: str = "max", memory_max: str = "max",
                  usage_usec: int = 0, memory_current: int = 0) -> Path:
        (self.proc / "self").mkdir(exist_ok=True)
        (self.proc / "self" / "cgroup").write_text(f"0::{path}\n")
        mount = self.sys / "fs" / "cgroup"
        mount.mkdir(parents=True, exist_ok=True)
        (mount / "cgroup.controllers").write_text("cpu memory io pids\n")
        own = mount / path.lstrip("/")
        own.mkdir(parents=True, exist_ok=True)
        (own / "cpu.max").write_text(f"{cpu_max}\n")
        (own / "memory.max").write_text(f"{memory_max}\n")
        (own / "cpu.stat").write_text(f"usage_usec {usage_usec}\nuser_usec 0\nsystem_usec 0\n")
        (own / "memory.current").write_text(f"{memory_current}\n")
        return own

    def cgroup_v1(self, path: str = "/", *, quota_us: int = -1, period_us: int = 100_000,
                  limit_bytes: int = 9_223_372_036_854_771_712, usage_ns: int = 0, usage_bytes: int = 0) -> None:
        (self.proc / "self").mkdir(exist_ok=True)
        (self.proc / "self" / "cgroup").write_text(
            f"12:memory:{path}\n4:cpu,cpuacct:{path}\n1:name=systemd:{path}\n")
        mount = self.sys / "fs" / "cgroup"
        cpu = mount / "cpu,cpuacct" / path.lstrip("/")
        memory = mount / "memory" / path.lstrip("/")
        cpu.mkdir(parents=True, exist_ok=True)
        memory.mkdir(parents=True, exist_ok=True)
        (cpu / "cpu.cfs_quota_us").write_text(f"{quota_us}\n")
        (cpu / "cpu.cfs_period_us").write_text(f"{period_us}\n")
        (cpu / "cpuacct.usage").write_text(f"{usage_ns}\n")
        (memory / "memory.limit_in_bytes").write_text(f"{limit_bytes}\n")
        (memory / "memory.usage_in_bytes").write_text(f"{usage_bytes}\n")


def make_world_traversable(path: Path) -> None:
    """Let another user walk a tree (used with a dropped effective uid to provoke real PermissionErrors)."""
    for directory, _subdirs, files in os.walk(path):
        os.chmod(directory, 0o755)
        for name in files:
            full = os.path.join(directory, name)
            if not os.path.islink(full):
                os.chmod(full, 0o644)
