"""The record every output receives: one finished window of a run (or of a task)."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, fields, replace
from typing import Any, Optional

# the column tuples live in ``columns`` (no dataclass to build for the CSV output's import); importable here too
from codecarbon.output_methods.columns import CSV_COLUMNS, EXTRA_COLUMNS, JOB_COLUMNS  # noqa: F401

# Fields that are differences between two cumulative readings (the rest describe the run).
_ADDITIVE = ("duration", "emissions", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
             "water_consumed")


class _Record:
    """What both record types offer their readers: the fields in column order, and JSON."""

    @property
    def values(self) -> OrderedDict[str, Any]:
        """Fields in column order (the 38, then our extras)."""
        return OrderedDict((f.name, getattr(self, f.name)) for f in fields(self))  # type: ignore[arg-type]

    def toJSON(self) -> str:  # noqa: N802 - name kept from CodeCarbon
        return json.dumps(self.values, sort_keys=True, indent=4, default=str)

    def summary_rows(self) -> list[tuple[str, str]]:
        """(label, text) pairs a person reads: what the notebook table and the plain-text view show."""
        from codecarbon.viz.text import energy_text, mass_text  # 440 ng, 7.85 µWh: never e-notation

        v = self.values
        energy = " / ".join(energy_text(v[c + "_energy"]) for c in ("cpu", "gpu", "ram"))
        intensity = v.get("carbon_intensity")
        place = v.get("cloud_region") or v.get("region") or ""
        place = f"{v.get('country_name') or v.get('country_iso_code') or '?'}" + (f" / {place}" if place else "")
        rows = [("emissions", f"{mass_text(v['emissions'])} CO2eq"),
                ("energy", f"{energy_text(v['energy_consumed'])} (CPU / GPU / RAM: {energy})"),
                ("duration", f"{v['duration']:.1f} s"),
                ("intensity", (f"{intensity:.0f} g/kWh" if intensity is not None else "?")
                 + (f" ({v['intensity_source']})" if v.get("intensity_source") else "")),
                ("location", place)]
        measured = ", ".join(f"{c}: {v[c + '_measure']}" for c in ("cpu", "gpu", "ram") if v.get(c + "_measure"))
        if measured:
            rows.append(("measured by", measured))
        return rows

    def _repr_html_(self) -> str:
        """A small table under a notebook cell (IPython calls this)."""
        import html

        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                        f"{html.escape(t)}</td></tr>" for k, t in self.summary_rows())
        name = getattr(self, "task_name", None) or str(self.values.get("run_id", ""))[:8]
        return (f"<table class='codecarbon-summary'><caption style='text-align:left'>codecarbon "
                f"{html.escape(type(self).__name__)} {html.escape(name)}</caption>{cells}</table>")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Plain text in IPython's terminal and text/plain outputs (``repr()`` stays the dataclass one)."""
        printer.text(f"{type(self).__name__}(" + ", ".join(f"{k}: {t}" for k, t in self.summary_rows()) + ")")


@dataclass
class EmissionsData(_Record):
    """One window of measurement. Units: s, kg CO2eq, kg/s, W (window mean), kWh, L, GB, %."""

    _repr_pretty_ = _Record._repr_pretty_  # IPython looks here before the generated __repr__

    timestamp: str
    project_name: str
    run_id: str
    experiment_id: str
    duration: float
    emissions: float
    emissions_rate: float
    cpu_power: float
    gpu_power: float
    ram_power: float
    cpu_energy: float
    gpu_energy: float
    ram_energy: float
    energy_consumed: float
    water_consumed: float
    country_name: Optional[str]
    country_iso_code: Optional[str]
    region: Optional[str]
    cloud_provider: Optional[str]
    cloud_region: Optional[str]
    os: str
    python_version: str
    codecarbon_version: str
    cpu_count: Optional[int]
    cpu_model: Optional[str]
    gpu_count: int
    gpu_model: str
    longitude: Optional[float]
    latitude: Optional[float]
    ram_total_size: float
    tracking_mode: str
    cpu_utilization_percent: float = 0.0
    gpu_utilization_percent: float = 0.0
    ram_utilization_percent: float = 0.0
    ram_used_gb: float = 0.0
    on_cloud: str = "N"
    pue: float = 1.0
    wue: float = 0.0
    cpu_measure: str = ""
    gpu_measure: str = ""
    ram_measure: str = ""
    carbon_intensity: Optional[float] = None
    intensity_source: str = ""
    scheduler: str = ""
    job_id: str = ""
    job_name: str = ""
    job_user: str = ""
    job_account: str = ""
    job_partition: str = ""
    node_name: str = ""
    rank: str = ""
    local_rank: str = ""
    world_size: str = ""
    attribution: str = ""

    def compute_delta_emission(self, previous: EmissionsData) -> EmissionsData:
        """This record minus an earlier one of the same run: the window between them."""
        changes = {name: getattr(self, name) - getattr(previous, name) for name in _ADDITIVE}
        seconds = changes["duration"]
        changes["emissions_rate"] = changes["emissions"] / seconds if seconds > 0 else 0.0
        hours = seconds / 3600.0
        if hours > 0:
            for component in ("cpu", "gpu", "ram"):
                changes[f"{component}_power"] = changes[f"{component}_energy"] / hours * 1000.0
        return replace(self, **changes)


@dataclass
class TaskEmissionsData(_Record):
    """One task's window: ``task_name`` first, then the run fields minus ``experiment_id``."""

    _repr_pretty_ = _Record._repr_pretty_

    task_name: str
    timestamp: str
    project_name: str
    run_id: str
    duration: float
    emissions: float
    emissions_rate: float
    cpu_power: float
    gpu_power: float
    ram_power: float
    cpu_energy: float
    gpu_energy: float
    ram_energy: float
    energy_consumed: float
    water_consumed: float
    country_name: Optional[str]
    country_iso_code: Optional[str]
    region: Optional[str]
    cloud_provider: Optional[str]
    cloud_region: Optional[str]
    os: str
    python_version: str
    codecarbon_version: str
    cpu_count: Optional[int]
    cpu_model: Optional[str]
    gpu_count: int
    gpu_model: str
    longitude: Optional[float]
    latitude: Optional[float]
    ram_total_size: float
    tracking_mode: str
    cpu_utilization_percent: float = 0.0
    gpu_utilization_percent: float = 0.0
    ram_utilization_percent: float = 0.0
    ram_used_gb: float = 0.0
    on_cloud: str = "N"
    pue: float = 1.0
    wue: float = 0.0
    cpu_measure: str = ""
    gpu_measure: str = ""
    ram_measure: str = ""
    carbon_intensity: Optional[float] = None
    intensity_source: str = ""
    scheduler: str = ""
    job_id: str = ""
    job_name: str = ""
    job_user: str = ""
    job_account: str = ""
    job_partition: str = ""
    node_name: str = ""
    rank: str = ""
    local_rank: str = ""
    world_size: str = ""
    attribution: str = ""

    @classmethod
    def from_emissions(cls, task_name: str, data: EmissionsData) -> TaskEmissionsData:
        own = {f.name for f in fields(cls)}
        return cls(task_name=task_name, **{k: v for k, v in data.values.items() if k in own})
