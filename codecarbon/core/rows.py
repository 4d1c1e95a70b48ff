"""Row building: pure functions from what a run knows (settings, hardware, location, job) and a window's figures
to the columns of an ``EmissionsData``.

Kept apart from the tracker so the same columns come out of every path (stop, flush, live rows, tasks,
checkpoints) and can be tested without running a tracker."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Optional

from codecarbon._version import __version__
from codecarbon.support.files import escape_unencodable


@functools.lru_cache(maxsize=1)
def platform_facts() -> tuple[str, str]:
    """The ``os`` and ``python_version`` columns, in ``platform.platform()``'s format.

    On Linux it is composed from uname and the C library's own version string: ``platform.platform()`` runs
    ``uname -p`` in a subprocess for a field it then drops. The Python version is the first word of
    ``sys.version``, which is what ``platform.python_version()`` parses (without importing ``platform``)."""
    python_version = sys.version.split()[0]
    if sys.platform.startswith("linux") and hasattr(os, "confstr"):
        uname = os.uname()
        try:
            libc = (os.confstr("CS_GNU_LIBC_VERSION") or "").split()
        except (ValueError, OSError):
            libc = []
        suffix = f"-with-{libc[0]}{libc[1]}" if len(libc) == 2 else ""
        return f"{uname.sysname}-{uname.release}-{uname.machine}{suffix}", python_version
    import platform

    return platform.platform(), python_version


@functools.lru_cache(maxsize=1)
def row_order() -> tuple[str, ...]:
    """EmissionsData's columns in order: a checkpoint's row is built in it without building the record."""
    import dataclasses

    from codecarbon.output_methods.emissions_data import EmissionsData

    return tuple(f.name for f in dataclasses.fields(EmissionsData))


def round1(value: Optional[float]) -> Optional[float]:
    """Coordinates are written to one decimal (about 10 km): enough for a grid, not a street."""
    return None if value is None else round(value, 1)


def intensity_label(intensity: Any) -> str:
    """The ``intensity_source`` column: the source, with its year where it has one."""
    return intensity.source + (f" {intensity.year}" if intensity.year else "")


def static_columns(settings: Any, hardware: Any, location: Any, intensity: Any, job_columns: Mapping[str, str],
                   run_id: Any) -> dict[str, Any]:
    """The columns that describe the run rather than a window: the same for every row of a run while the
    location, the intensity's source, the hardware and the job's attribution stay the same."""
    os_name, python_version = platform_facts()
    s = settings
    columns = dict(
        project_name=s.project_name, run_id=str(run_id), experiment_id=str(s.experiment_id),
        country_name=location.country_name, country_iso_code=location.country_iso_code,
        region=location.region, cloud_provider=location.cloud_provider or "",
        cloud_region=location.cloud_region or "", os=os_name, python_version=python_version,
        codecarbon_version=__version__, cpu_count=hardware.cpu_count, cpu_model=hardware.cpu_model,
        gpu_count=hardware.gpu_count, gpu_model=hardware.gpu_model,
        longitude=round1(location.longitude), latitude=round1(location.latitude),
        ram_total_size=hardware.ram_total_size, tracking_mode=s.tracking_mode,
        on_cloud=location.on_cloud, pue=s.pue, wue=s.wue,
        cpu_measure=hardware.measure_label("cpu"), gpu_measure=hardware.measure_label("gpu"),
        ram_measure=hardware.measure_label("ram"),
        intensity_source=intensity_label(intensity),
        **job_columns,
    )
    # text that UTF-8 cannot hold (a job variable's stray byte) is escaped once here, for every output
    return {name: escape_unencodable(value, name) if isinstance(value, str) else value
            for name, value in columns.items()}


def changing_columns(window: Any, end_wall: float, wue: float, fallback_g_per_kwh: float) -> dict[str, Any]:
    """The columns a window's figures give (the ones a tick's checkpoint record carries).

    ``carbon_intensity`` is the energy-weighted intensity the window was actually charged at; a window with no
    energy shows the intensity of the moment (``fallback_g_per_kwh``)."""
    energy = window.energy_consumed
    duration = window.duration
    return dict(
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(end_wall)),
        duration=duration, emissions=window.emissions_kg,
        emissions_rate=window.emissions_kg / duration if duration > 0 else 0.0,
        cpu_power=window.power_w["cpu"], gpu_power=window.power_w["gpu"], ram_power=window.power_w["ram"],
        cpu_energy=window.energy_kwh["cpu"], gpu_energy=window.energy_kwh["gpu"],
        ram_energy=window.energy_kwh["ram"], energy_consumed=energy, water_consumed=energy * wue,
        cpu_utilization_percent=window.cpu_utilization_percent,
        gpu_utilization_percent=window.gpu_utilization_percent,
        ram_utilization_percent=window.ram_utilization_percent, ram_used_gb=window.ram_used_gb,
        carbon_intensity=(window.emissions_kg * 1000.0 / energy) if energy > 0 else fallback_g_per_kwh,
    )
