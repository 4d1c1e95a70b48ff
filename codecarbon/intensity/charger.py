"""Charge energy at the grid intensity of the moment it was used: interval by interval, settled at the end.

The sampler hands every slice of energy it measures to :meth:`Charger.charge` as ``(start, end, kWh)`` in wall
time (UTC epoch seconds). The charger keeps those slices in a ledger (merged into UTC-aligned blocks of a minute
or more as a run grows long, so a 72 h run holds a few thousand entries) and prices any window of it with the
best figures known *now*: the provider's history where it has answered, else its latest figure (carried over
while the next one is on its way), else its forecast, else the bundled static figure. A slice that straddles an
interval boundary is split by time. Marginal and average figures are never summed together: a run priced by a
marginal provider that has gaps is priced entirely at the static average instead, and says so.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final, Optional

from codecarbon.intensity.types import Intensity
from codecarbon.support.record import Record

if TYPE_CHECKING:  # a static charger (most runs) loads no feed or provider code (issue 16)
    from codecarbon.intensity.feed import Feed

#: The ledger's length before slices are merged into wider UTC-aligned blocks (each width divides the next).
MAX_SEGMENTS = 8192
BLOCKS_S = (60.0, 300.0, 900.0, 1800.0, 3600.0, 21600.0, 86400.0)


class Account(Record):
    """A window priced: kg CO2eq, the energy it covers, the label for ``intensity_source``."""

    __slots__ = ("kg", "kwh", "label", "settled")

    def __init__(self, kg: float, kwh: float, label: str, settled: bool) -> None:
        self.kg: Final = kg
        self.kwh: Final = kwh
        self.label: Final = label
        self.settled: Final = settled  # every kWh priced from the provider's history

    @property
    def g_per_kwh(self) -> float:
        return self.kg * 1000.0 / self.kwh if self.kwh > 0 else 0.0


class Charger:
    """Prices energy slices against one feed (or the static figure alone) and settles them from history."""

    def __init__(self, static: Intensity, feed: Optional[Feed] = None) -> None:
        self.static = static
        self.feed = feed
        self._segments: list[list[float]] = []  # [start, end, kWh]
        self._block = 0.0
        self._lock = threading.Lock()
        # the priced prefix of the ledger: (feed version, block, slices, kg, kWh, shares, fell back)
        self._memo: Optional[tuple[int, float, int, float, float, dict[tuple[str, str], float], bool]] = None
        self.settle_failed = False

    @property
    def live(self) -> bool:
        return self.feed is not None

    # --- the sampler's side ---------------------------------------------------------------------------------------
    def charge(self, start: float, end: float, kwh: float) -> float:
        """Record ``kwh`` used between ``start`` and ``end`` (wall seconds) and return its kg at today's figures."""
        if kwh <= 0:
            return 0.0
        if end < start:
            start = end
        if self.feed is None:
            return kwh * self.static.g_co2e_per_kwh / 1000.0
        self.feed.want_latest(end)
        with self._lock:
            self._append(start, end, kwh)
        kg, _ = self._price(start, end, kwh, {})
        return kg

    def _append(self, start: float, end: float, kwh: float) -> None:
        segments = self._segments
        block = self._block
        if segments and block:
            last = segments[-1]
            if last[0] // block == start // block and (end - 1e-9) // block == start // block:
                last[1] = max(last[1], end)
                last[2] += kwh
                return
        segments.append([start, end, kwh])
        if len(segments) > MAX_SEGMENTS:
            self._compact()

    def _compact(self) -> None:
        """Merge slices into the next block width until the ledger fits (slices that straddle blocks stay whole)."""
        for block in BLOCKS_S:
            if block <= self._block:
                continue
            merged: list[list[float]] = []
            for start, end, kwh in self._segments:
                if merged:
                    last = merged[-1]
                    same = last[0] // block == start // block == (end - 1e-9) // block == (last[1] - 1e-9) // block
                    if same:
                        last[1], last[2] = max(last[1], end), last[2] + kwh
                        continue
                merged.append([start, end, kwh])
            self._segments, self._block = merged, block
            if len(merged) <= MAX_SEGMENTS // 2:
                return

    # --- pricing --------------------------------------------------------------------------------------------------
    def _price(self, start: float, end: float, kwh: float, shares: dict[tuple[str, str], float]) -> tuple[float, bool]:
        """kg of one slice (split at interval edges by time); ``shares`` gets kWh per (kind, source) label.

        Returns (kg, whether any part fell back to the static figure)."""
        feed = self.feed
        static_g = self.static.g_co2e_per_kwh
        if feed is None:
            shares[("static", "")] = shares.get(("static", ""), 0.0) + kwh
            return kwh * static_g / 1000.0, True
        span = end - start
        edges = [start, *feed.boundaries(start, end), end] if span > 0 else [start, start]
        kg = 0.0
        fell_back = False
        for a, b in zip(edges, edges[1:], strict=False):
            part = kwh * (b - a) / span if span > 0 else kwh
            middle = (a + b) / 2
            point = feed.best(middle)
            kind = point.kind if point is not None else ""
            if point is None:
                point = feed.nearest(middle)
                kind = "latest"
            if point is None:
                kg += part * static_g / 1000.0
                shares[("static", "")] = shares.get(("static", ""), 0.0) + part
                fell_back = True
            else:
                kg += part * point.g_per_kwh / 1000.0
                label = (kind, point.zone)
                shares[label] = shares.get(label, 0.0) + part
        return kg, fell_back

    def account(self, start: Optional[float] = None, end: Optional[float] = None) -> Account:
        """The window [start, end) of the ledger (the whole ledger by default), priced with what is known now.

        A window from the ledger's start (every row of the run total) reuses the priced prefix while no new figure
        arrived: a checkpoint then prices only the slices since the previous one."""
        lo = -float("inf") if start is None else start
        hi = float("inf") if end is None else end
        feed = self.feed
        version = feed.version if feed is not None else 0
        with self._lock:
            segments = self._segments
            from_start = bool(segments) and lo <= segments[0][0]
            memo = self._memo
            stable = len(segments) - 1  # the last slice may still grow
            if (from_start and memo is not None and memo[0] == version and memo[1] == self._block
                    and memo[2] <= stable and (memo[2] == 0 or hi >= segments[memo[2] - 1][1])):
                begin, kg, kwh_total, shares, fell_back = memo[2], memo[3], memo[4], dict(memo[5]), memo[6]
            else:
                begin, kg, kwh_total, shares, fell_back = 0, 0.0, 0.0, {}, False
            contained = from_start
            for index in range(begin, len(segments)):
                s0, s1, kwh = segments[index]
                if s1 <= s0:  # a slice without duration belongs to the window that holds its instant
                    if not lo <= s0 < hi:
                        contained = False
                        continue
                    a = b = s0
                    part = kwh
                else:
                    a, b = max(s0, lo), min(s1, hi)
                    if b <= a:
                        contained = False
                        continue
                    part = kwh * (b - a) / (s1 - s0)
                    if b < s1:
                        contained = False
                slice_kg, fallback = self._price(a, b, part, shares)
                kg += slice_kg
                kwh_total += part
                fell_back = fell_back or fallback
                if contained and index == stable - 1:
                    self._memo = (version, self._block, stable, kg, kwh_total, dict(shares), fell_back)
        feed = self.feed
        if feed is not None and feed.basis == "marginal" and fell_back and len(shares) > 1:
            # marginal and average figures are different quantities: never one sum of both
            static_g = self.static.g_co2e_per_kwh
            label = (f"static {self._static_name()} 100% (average used: {feed.name} marginal figures "
                     f"did not cover the whole window)")
            return Account(kwh_total * static_g / 1000.0, kwh_total, label, False)
        settled = bool(shares) and all(kind == "history" for kind, _ in shares)
        return Account(kg, kwh_total, self._label(shares, kwh_total), settled)

    def _static_name(self) -> str:
        return self.static.source + (f" {self.static.year}" if self.static.year else "")

    def _label(self, shares: dict[tuple[str, str], float], total: float) -> str:
        """``provider zone (basis, scope): history 92%, latest 8%; static src 0%; provisional``."""
        feed = self.feed
        if feed is None:
            return self._static_name()

        def pct(value: float) -> str:
            share = 100.0 * value / total if total > 0 else 0.0
            return "<1%" if 0 < share < 0.5 else f"{share:.0f}%"

        live = [(kind, zone, kwh) for (kind, zone), kwh in shares.items() if kind != "static"]
        order = {"history": 0, "latest": 1, "forecast": 2}
        live.sort(key=lambda item: order.get(item[0], 3))
        parts = []
        if live:
            zone = live[0][1] or feed.zone or "?"
            scope = self._scope()
            parts.append(f"{feed.name} {zone} ({feed.basis}, {scope}): "
                         + ", ".join(f"{kind} {pct(kwh)}" for kind, _, kwh in live))
        static_kwh = shares.get(("static", ""), 0.0)
        if static_kwh > 0 or not live:
            parts.append(f"static {self._static_name()} {pct(static_kwh) if total > 0 else '100%'}")
        if self.settle_failed:
            parts.append("provisional (no history within the stop bound)")
        return "; ".join(parts)

    def _scope(self) -> str:
        feed = self.feed
        assert feed is not None
        for kind in ("history", "latest", "forecast"):
            points = feed.points(kind)
            if points:
                return points[-1].scope
        return "direct"

    # --- settlement -------------------------------------------------------------------------------------------------
    def span(self) -> Optional[tuple[float, float]]:
        with self._lock:
            if not self._segments:
                return None
            return self._segments[0][0], self._segments[-1][1]

    def settle(self, timeout_s: float) -> bool:
        """Ask the provider's history for the ledger's span, waiting ``timeout_s`` at most.

        True when every kWh is now priced from history; otherwise the run stays provisional and its label says so
        (unless the provider is off or the ledger empty, when there is nothing to settle)."""
        feed, span = self.feed, self.span()
        if feed is None or span is None:
            return False
        if feed.disabled:
            return False
        answered = feed.settle(span[0], span[1], timeout_s)
        self.settle_failed = not answered
        return answered and feed.covered_by_history(*span)
