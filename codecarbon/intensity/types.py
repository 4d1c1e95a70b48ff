"""The figure the tracker multiplies energy by, with where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Intensity:
    """gCO2eq per kWh; `source` names the figure's origin (a key of the table's sources block, "forced" or
    "electricitymaps"); `year` is the year the figure describes, when known."""

    g_co2e_per_kwh: float
    source: str
    year: Optional[int]

    @property
    def kg_per_kwh(self) -> float:
        return self.g_co2e_per_kwh / 1000.0
