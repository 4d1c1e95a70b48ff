"""How the views write figures and untrusted text for people: scaled units, plain numbers, safe cells.

Why one module: every view (terminal, markdown, CSV, HTML, charts, carbonboard) shows the same figures, and the
CSV files they read may come from anyone. Figures are scaled to a unit that keeps them readable (12.3 µWh, never
1.23e-05 Wh); text taken from a file is cleaned for where it goes (a terminal, a markdown table, a spreadsheet).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

#: Units of energy (in kWh), mass (in kg) and distance (in km), each 1000 times the next.
ENERGY_UNITS: tuple[tuple[str, float], ...] = (("MWh", 1e3), ("kWh", 1.0), ("Wh", 1e-3), ("mWh", 1e-6),
                                               ("µWh", 1e-9), ("nWh", 1e-12))
MASS_UNITS: tuple[tuple[str, float], ...] = (("t", 1e3), ("kg", 1.0), ("g", 1e-3), ("mg", 1e-6), ("µg", 1e-9),
                                             ("ng", 1e-12))
DISTANCE_UNITS: tuple[tuple[str, float], ...] = (("km", 1.0), ("m", 1e-3), ("cm", 1e-5), ("mm", 1e-6),
                                                 ("µm", 1e-9), ("nm", 1e-12))


def plain(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant figures in positional notation: 0.000642, 1230, never 6.42e-04."""
    if not math.isfinite(value):
        return "?"
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(float(f"{value:.{digits - 1}e}"))))  # after rounding: 999.6 -> 1000
    decimals = max(0, digits - 1 - exponent)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def scaled(value: float, units: Sequence[tuple[str, float]], zero: str, digits: int = 3) -> str:
    """``value`` (in the unit whose factor is 1) in the largest unit it reaches at least 1 of, after rounding.

    Zero is written ``0 {zero}``; below the smallest unit, plainly in that unit; a negative value keeps its sign."""
    if not math.isfinite(value):
        return "?"
    if value == 0:
        return f"0 {zero}"
    size = abs(value)
    for name, factor in units:
        shown = float(f"{size / factor:.{digits - 1}e}")  # rounded as it will be printed
        if shown >= 1:
            return f"{'-' if value < 0 else ''}{plain(size / factor, digits)} {name}"
    name, factor = units[-1]
    return f"{'-' if value < 0 else ''}{plain(size / factor, digits)} {name}"


def energy_text(kwh: float) -> str:
    """kWh with a readable unit: 12.3 Wh, 4.56 kWh, 7.8 MWh, 3.2 µWh."""
    return scaled(kwh, ENERGY_UNITS, "Wh")


def mass_text(kg: float) -> str:
    """kg CO2eq with a readable unit: 3.2 mg, 4.5 g, 1.2 kg, 3.4 t, 10.5 µg."""
    return scaled(kg, MASS_UNITS, "g")


def distance_text(km: float) -> str:
    """km with a readable unit: 3.26 cm, 12 m, 4.5 km."""
    return scaled(km, DISTANCE_UNITS, "km")


def duration_text(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def chart_unit(largest: float, units: Sequence[tuple[str, float]]) -> tuple[str, float]:
    """(unit name, factor) that shows a chart whose largest value is ``largest`` without tiny tick labels."""
    size = abs(largest) if math.isfinite(largest) else 0.0
    for name, factor in units:
        if size / factor >= 1:
            return name, factor
    if size == 0:
        return next((name, factor) for name, factor in units if factor == 1.0)
    return units[-1]


# ------------------------------------------------------------------------------------------ untrusted text
#: C0 controls (tab and newline included: a cell is one line), DEL, C1 controls, and the Unicode bidi and
#: line/paragraph separators that reorder or break what a terminal or an editor shows.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` with every control character written as a visible escape (\\x1b), so a file cannot drive the
    terminal (colours, cursor moves, a retitled window, a hidden line) or break a table's line."""
    return _CONTROLS.sub(_escaped, text)


def markdown_safe(text: str) -> str:
    """A markdown table cell: controls escaped, HTML special characters as entities (a renderer shows them as
    text instead of running them), ``|`` escaped so the cell stays one cell."""
    cleaned = terminal_safe(text)
    return (cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\\", "\\\\")
            .replace("|", "\\|"))


#: First characters a spreadsheet takes as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe (OWASP)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
