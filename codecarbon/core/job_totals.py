"""A job's total and each node's, from the totals of its processes: the one definition, used by the tracker's
gathering at ``stop()`` (`core/gather.py`) and by every view of the CSV files (`viz/reading.py`).

Energy and emissions add up over processes (each at the intensity its own row was computed at). Time does not:
the processes of a node run side by side, so a node's duration is its wall time, the span from the earliest
start to the latest end of its processes (never less than the longest process); the job's is its longest node's
(the clocks, and the local time zones of the rows' timestamps, of different nodes are not compared).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

#: What adds up over the processes of a job.
SUMMED = ("cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "emissions")
#: Every key of a total, duration first (the order of the report's columns).
TOTAL_KEYS = ("duration", *SUMMED)
#: Row timestamps are written to the second: spans closer than this to the longest process are that process.
TIMESTAMP_RESOLUTION_S = 1.0


def _number(entry: Mapping[str, Any], name: str) -> float:
    try:
        return float(entry.get(name) or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _end(entry: Mapping[str, Any]) -> datetime | None:
    stamp = entry.get("timestamp")
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(str(stamp))
    except ValueError:
        return None


def wall_time(entries: Iterable[Mapping[str, Any]]) -> float:
    """Seconds from the earliest start to the latest end of processes that ran side by side on one node.

    Each entry's end is its ``timestamp`` and its start that end less its ``duration``; without readable
    timestamps (or with ones that cannot be compared) it is the longest duration."""
    members = list(entries)
    longest = max((_number(e, "duration") for e in members), default=0.0)
    ends = [_end(e) for e in members]
    if not members or any(end is None for end in ends):
        return longest
    try:
        starts = [end.timestamp() - _number(e, "duration") for e, end in zip(members, ends, strict=True)
                  if end is not None]
        last = max(end.timestamp() for end in ends if end is not None)
    except (OverflowError, OSError, ValueError):
        return longest
    span = last - min(starts)
    return span if span >= longest + TIMESTAMP_RESOLUTION_S else longest


def job_totals(entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"total": {...}, "nodes": {node_name: {...}}}`` over the processes' totals (mappings with
    ``node_name``, ``duration``, the energies and emissions, and optionally ``timestamp``, their end)."""
    by_node: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        by_node.setdefault(str(entry.get("node_name") or ""), []).append(entry)
    nodes: dict[str, dict[str, float]] = {}
    for node, members in sorted(by_node.items()):
        total = {"duration": wall_time(members)}
        for name in SUMMED:
            total[name] = sum(_number(e, name) for e in members)
        nodes[node] = total
    job = {"duration": max((n["duration"] for n in nodes.values()), default=0.0)}
    for name in SUMMED:
        job[name] = sum(n[name] for n in nodes.values())
    return {"total": job, "nodes": nodes}
