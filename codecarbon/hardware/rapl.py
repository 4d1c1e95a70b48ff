"""Linux RAPL energy counters through the powercap sysfs interface.

Zones live under ``<sysfs>/class/powercap`` (links) and ``<sysfs>/devices/virtual/powercap`` (the tree), from
two providers: ``intel-rapl`` (MSR) and ``intel-rapl-mmio``. A zone ``intel-rapl:0`` ("package-0") has children
``intel-rapl:0:0`` ("core", "uncore", "dram"); a parent already includes its power-plane children, so only one
level is ever summed: per socket the package zone (or the platform ``psys`` zone when preferred), DRAM zones
as a separate RAM source.

One counter seen twice is counted once: the MMIO view of a package repeats the MSR one (same zone name), and
some AMD multi-die parts expose one package counter per die that all mirror the same register. Those are
suspected when readings at ``open()`` agree, then confirmed (or told apart) by their first deltas.

Counters wrap at ``max_energy_range_uj``. A backwards step is counted as exactly one wrap, so the source asks
the sampler (``max_read_gap_s``) to read it at least every half of range / maximum power (the zone's
``constraint_0_max_power_uw`` or 500 W, whichever is more): the smallest range seen in practice (≈262 kJ) is
then read every 262 s at the latest, whatever ``measure_power_secs`` says.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from codecarbon.external.logger import log_once, logger
from codecarbon.hardware.base import Component, EnergySource

_ZONE_NAME = re.compile(r"^(intel-rapl(?:-mmio)?):(\d+(?::\d+)*)$")
_PROVIDERS = ("intel-rapl", "intel-rapl-mmio")

#: Open values of two package counters closer than this are suspected to be one counter (µJ). Reading two
#: views of one register microseconds apart can straddle an update (≈1 ms of energy).
_MIRROR_OPEN_TOLERANCE_UJ = 1_000_000

REMEDY = (
    "RAPL energy files exist under {root} but this user cannot read them (energy_uj is root-only since "
    "Linux 5.10, a mitigation of the PLATYPUS power side channel). To measure CPU energy instead of "
    "estimating it, make them readable: `sudo chmod -R a+r /sys/class/powercap/intel-rapl "
    "/sys/class/powercap/intel-rapl-mmio` (until reboot), or permanently with a udev rule, e.g. "
    "/etc/udev/rules.d/99-rapl.rules containing "
    "`SUBSYSTEM==\"powercap\", ACTION==\"add\", RUN+=\"/bin/chmod a+r /sys%p/energy_uj\"`. "
    "Falling back to the TDP estimate."
)


@dataclass(frozen=True)
class RaplZone:
    """One powercap zone: where it is, what it is, and its counter's range."""

    path: Path
    provider: str
    zone_id: str
    name: str
    max_range_uj: Optional[int]
    readable: bool

    @property
    def top_level(self) -> bool:
        return ":" not in self.zone_id

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.zone_id} ({self.name})"


@dataclass
class RaplDiscovery:
    """What the powercap tree offers: the zones to count for the CPU and for DRAM, and what went wrong."""

    cpu_zones: list[RaplZone] = field(default_factory=list)
    cpu_method: str = "rapl"
    dram_zones: list[RaplZone] = field(default_factory=list)
    unreadable: bool = False
    root: Optional[Path] = None
    notes: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return bool(self.cpu_zones)


def _read_int(path: Path) -> Optional[int]:
    try:
        return int(path.read_bytes().strip())
    except (OSError, ValueError):
        return None


def _is_readable(path: Path) -> bool:
    """Whether ``energy_uj`` can be read: actually reading it is the only honest test (root reads anyway)."""
    try:
        with open(path, "rb") as handle:
            handle.read(32)
        return True
    except OSError:
        return False


def _zone_dirs(sysfs_root: Path) -> list[tuple[str, str, Path]]:
    """Every (provider, zone id, directory) under the class links and the device tree, each once."""
    found: dict[tuple[int, int], tuple[str, str, Path]] = {}

    def visit(directory: Path, depth: int) -> None:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return
        for entry in entries:
            match = _ZONE_NAME.match(entry.name)
            if match and entry.is_dir():
                info = entry.stat()  # follows the class/ links: one identity per zone directory
                real = (info.st_dev, info.st_ino)
                if real not in found:
                    found[real] = (match.group(1), match.group(2), Path(entry.path))
                if depth < 4:
                    visit(Path(entry.path), depth + 1)
            elif entry.name in _PROVIDERS and entry.is_dir() and depth == 0:
                visit(Path(entry.path), depth + 1)

    for base in (sysfs_root / "class" / "powercap", sysfs_root / "devices" / "virtual" / "powercap"):
        visit(base, 0)
    return sorted(found.values(), key=lambda item: (item[0], [int(p) for p in item[1].split(":")]))


def _load_zone(provider: str, zone_id: str, directory: Path) -> Optional[RaplZone]:
    energy = directory / "energy_uj"
    if not energy.exists():
        return None
    try:
        name = (directory / "name").read_text().strip()
    except OSError:
        name = ""
    return RaplZone(directory, provider, zone_id, name, _read_int(directory / "max_energy_range_uj"),
                    _is_readable(energy))


#: A zone's power when powercap does not say (no ``constraint_0_max_power_uw``): more than any one socket draws.
ASSUMED_MAX_ZONE_POWER_W = 500.0
#: A counter whose range is unknown is read at least this often.
UNKNOWN_RANGE_GAP_S = 60.0


def zone_wrap_seconds(zone: RaplZone) -> float:
    """Seconds for ``zone``'s counter to go round once at its maximum power (range / power)."""
    if not zone.max_range_uj:
        return 2 * UNKNOWN_RANGE_GAP_S
    stated = _read_int(zone.path / "constraint_0_max_power_uw") or 0  # a zone may say more than the assumption
    watts = max(ASSUMED_MAX_ZONE_POWER_W, stated / 1e6)
    return zone.max_range_uj / 1e6 / watts


def _one_per_name(zones: list[RaplZone]) -> list[RaplZone]:
    """The MMIO view of a package repeats the MSR one under the same name: keep one, MSR first."""
    chosen: dict[str, RaplZone] = {}
    for zone in sorted(zones, key=lambda z: (z.provider != "intel-rapl", z.zone_id)):
        chosen.setdefault(zone.name or zone.label, zone)
    return sorted(chosen.values(), key=lambda z: (z.provider, z.zone_id))


def discover_rapl(sysfs_root: Path = Path("/sys"), *, prefer_psys: bool = False,
                  include_dram: bool = False) -> RaplDiscovery:
    """Find the zones to read. Never raises; an absent tree is simply not usable."""
    zones = [z for z in (_load_zone(*item) for item in _zone_dirs(sysfs_root)) if z is not None]
    result = RaplDiscovery(root=sysfs_root / "class" / "powercap")
    if not zones:
        return result
    packages = [z for z in zones if z.top_level and z.name.startswith("package")]
    psys = [z for z in zones if z.top_level and z.name == "psys"]
    dram = [z for z in zones if z.name == "dram"]
    main = packages + psys
    if main and not any(z.readable for z in main):
        result.unreadable = True
        result.notes.append("cpu: RAPL zones present but not readable by this user")
        return result
    packages = _one_per_name([z for z in packages if z.readable])
    psys = _one_per_name([z for z in psys if z.readable])
    if psys and (prefer_psys or not packages):
        result.cpu_zones, result.cpu_method = psys, "rapl-psys"
    else:
        result.cpu_zones, result.cpu_method = packages, "rapl"
    if include_dram:
        result.dram_zones = _one_per_name([z for z in dram if z.readable])
        if not result.dram_zones:
            result.notes.append("ram: rapl_include_dram is set but no readable RAPL DRAM zone was found")
    if result.cpu_zones:
        result.notes.append(f"cpu: {result.cpu_method} from " + ", ".join(z.label for z in result.cpu_zones))
    if result.dram_zones:
        result.notes.append("ram: rapl-dram from " + ", ".join(z.label for z in result.dram_zones))
    return result


def warn_unreadable(discovery: RaplDiscovery) -> None:
    """Say once per process why RAPL is not used and how to fix it."""
    log_once("rapl-unreadable", logging.WARNING, REMEDY.format(root=discovery.root))


class _Counter:
    """One open ``energy_uj`` file, read with a single pread per tick, turned into cumulative µJ."""

    __slots__ = ("zone", "fd", "last_raw", "total_uj", "alive")

    def __init__(self, zone: RaplZone) -> None:
        self.zone = zone
        self.fd = os.open(zone.path / "energy_uj", os.O_RDONLY)
        self.last_raw = self._raw()
        self.total_uj = 0
        self.alive = True

    def _raw(self) -> int:
        return int(os.pread(self.fd, 32, 0))

    def advance(self) -> int:
        """Read the counter; return the µJ since the previous read (one wrap at most, see module doc)."""
        if not self.alive:
            return 0
        try:
            raw = self._raw()
        except (OSError, ValueError) as error:
            self.alive = False
            log_once(f"rapl-read-{self.zone.path}", logging.WARNING,
                     "stopped reading RAPL zone %s (%s); its energy so far is kept", self.zone.label, error)
            return 0
        previous, self.last_raw = self.last_raw, raw
        if raw >= previous:
            step = raw - previous
        elif self.zone.max_range_uj:
            step = self.zone.max_range_uj + 1 - previous + raw
        else:
            log_once(f"rapl-wrap-{self.zone.path}", logging.WARNING,
                     "RAPL zone %s went backwards and its max_energy_range_uj is unknown; that step is skipped",
                     self.zone.label)
            step = 0
        self.total_uj += step
        return step

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class _Group:
    """Counters suspected to mirror one register; counted once while their readings move in lockstep."""

    def __init__(self, counters: list[_Counter]) -> None:
        self.counters = counters
        self.state = "pending" if len(counters) > 1 else "single"

    def advance(self) -> None:
        for counter in self.counters:
            counter.advance()
        if self.state != "pending":
            return
        totals = [c.total_uj for c in self.counters]
        lead = max(totals)
        if any(abs(t - lead) > _MIRROR_OPEN_TOLERANCE_UJ // 2 + lead // 50 for t in totals):
            self.state = "independent"
            logger.debug("RAPL zones %s move independently: all counted",
                         ", ".join(c.zone.label for c in self.counters))
        elif min(totals) > 0:
            self.state = "mirror"
            log_once("rapl-mirror-" + ",".join(str(c.zone.path) for c in self.counters), logging.INFO,
                     "RAPL zones %s mirror one counter; counted once",
                     ", ".join(c.zone.label for c in self.counters))
            for duplicate in self.counters[1:]:
                duplicate.close()
            self.counters = self.counters[:1]

    def total_uj(self) -> int:
        if self.state == "independent":
            return sum(c.total_uj for c in self.counters)
        return self.counters[0].total_uj


class RaplSource(EnergySource):
    """Cumulative energy of a set of RAPL zones (packages, psys or DRAM) since ``open()``."""

    def __init__(self, zones: list[RaplZone], *, component: Component = "cpu", method: str = "rapl") -> None:
        if not zones:
            raise ValueError("zones: expected at least one RAPL zone")
        self.zones = list(zones)
        self.component = component
        self.method = method
        self._groups: list[_Group] = []

    def open(self) -> None:
        self.close()
        counters: list[_Counter] = []
        for zone in self.zones:
            try:
                counters.append(_Counter(zone))
            except (OSError, ValueError) as error:
                log_once(f"rapl-open-{zone.path}", logging.WARNING, "cannot read RAPL zone %s: %s",
                         zone.label, error)
        self._groups = self._group_mirrors(counters)

    @staticmethod
    def _group_mirrors(counters: list[_Counter]) -> list[_Group]:
        groups: list[list[_Counter]] = []
        for counter in counters:
            for group in groups:
                if abs(group[0].last_raw - counter.last_raw) <= _MIRROR_OPEN_TOLERANCE_UJ:
                    group.append(counter)
                    break
            else:
                groups.append([counter])
        return [_Group(g) for g in groups]

    def read_joules(self) -> float:
        total = 0
        for group in self._groups:
            group.advance()
            total += group.total_uj()
        return total / 1e6

    def max_read_gap_s(self) -> Optional[float]:
        """Half the time the fastest-wrapping zone takes to wrap at its maximum power: a backwards step is
        counted as one wrap, so two reads must never be a whole range apart."""
        gaps = [zone_wrap_seconds(zone) / 2 for zone in self.zones]
        return min(gaps) if gaps else None

    def close(self) -> None:
        for group in self._groups:
            for counter in group.counters:
                counter.close()
        self._groups = []
