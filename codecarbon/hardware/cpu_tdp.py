"""Thermal design power (TDP) of a CPU model, from the bundled table ``data/cpu_power.tsv``.

The table maps *normalised* model names to watts (see ``scripts/build_cpu_power_data.py`` for its source).
A model name as the OS reports it ("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz") is normalised the same way and
looked up exactly; only on a miss does a token match run: candidates must contain the query's model number
(its longest token with a digit), have no model token the query lacks, and share its version suffix ("v4");
the best by token overlap (Jaccard) is accepted only when it is unique; an Apple part must also name the same
tier (Pro, Max, Ultra). No model number, no guess: a wrong TDP is worse than the documented per-thread constant
the caller falls back to.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path
from typing import Final, Optional

from codecarbon.support.record import Record

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "cpu_power.tsv"

_DROP = [
    re.compile(r"\((?:r|tm|c)\)|®|™"),
    re.compile(r"@.*$"),                                          # "CPU @ 2.10GHz" and anything after
    re.compile(r"\b\d+(?:\.\d+)?\s*[gm]hz\b"),                    # a stray frequency
    re.compile(r"\b(?:\d+|dual|quad|six|eight|twelve|sixteen)[- ]cores?\b"),
    re.compile(r"\b\d+(?:st|nd|rd|th)\s+gen(?:eration)?\b"),     # "11th Gen Intel ..."
    re.compile(r"\bwith radeon.*$|\(oem only\)"),
    re.compile(r"\b(?:processor|cpu|apu|soc)\b"),
    re.compile(r"[,()]"),
]
_SPACES = re.compile(r"\s+")
_VERSION = re.compile(r"^v\d+$")
# Apple tiers differ several-fold in power (M1 10 W, M1 Max ~30 W): an Apple part matches only its own tier.
_APPLE_TIERS = frozenset({"pro", "max", "ultra"})


def normalise_cpu_name(name: str) -> str:
    """Lower-case model name without trademarks, frequency, core-count and generic words."""
    text = name.lower()
    for pattern in _DROP:
        text = pattern.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def _model_tokens(tokens: frozenset[str]) -> frozenset[str]:
    return frozenset(t for t in tokens if any(c.isdigit() for c in t))


class TdpMatch(Record):
    """A table hit: the watts and the table entry they came from (for the notes)."""

    __slots__ = ("tdp_w", "entry", "exact")

    def __init__(self, tdp_w: float, entry: str, exact: bool) -> None:
        self.tdp_w: Final = tdp_w
        self.entry: Final = entry
        self.exact: Final = exact


class TdpTable:
    """The table as its sorted lines: an exact lookup is one bisection, no index to build.

    Loading is one read and one split (well under a millisecond); the fuzzy path, taken only on a miss,
    scans the lines for the model number with a substring test before tokenising the few that contain it.
    """

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines  # "<normalised name>\t<watts>", sorted

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> TdpTable:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        return cls([line for line in text.splitlines() if line and not line.startswith("#")])

    @classmethod
    def from_rows(cls, rows: dict[str, float]) -> TdpTable:
        return cls(sorted(f"{name}\t{watts:g}" for name, watts in rows.items()))

    def __len__(self) -> int:
        return len(self._lines)

    def _exact(self, key: str) -> Optional[float]:
        probe = key + "\t"
        at = bisect_left(self._lines, probe)
        if at < len(self._lines) and self._lines[at].startswith(probe):
            return float(self._lines[at][len(probe):])
        return None

    def match(self, model: str) -> Optional[TdpMatch]:
        """Exact normalised hit, else the unique best entry with the same model-number tokens."""
        key = normalise_cpu_name(model)
        if not key:
            return None
        watts = self._exact(key)
        if watts is not None:
            return TdpMatch(watts, key, True)
        tokens = frozenset(key.split())
        wanted = _model_tokens(tokens)
        if not wanted:
            return None
        seed = max(wanted, key=len)
        versions = frozenset(t for t in wanted if _VERSION.match(t))  # "v4" must not match a "v3" or v1 part
        scored: list[tuple[float, str, float]] = []
        for line in self._lines:
            if seed not in line:
                continue
            name, _, text = line.partition("\t")
            entry_tokens = frozenset(name.split())
            if not _model_tokens(entry_tokens) <= wanted or not versions <= entry_tokens:
                continue
            if "apple" in tokens and tokens & _APPLE_TIERS != entry_tokens & _APPLE_TIERS:
                continue
            scored.append((len(tokens & entry_tokens) / len(tokens | entry_tokens), name, float(text)))
        if not scored:
            return None
        scored.sort(reverse=True)
        if len(scored) > 1 and scored[0][0] == scored[1][0]:
            return None
        return TdpMatch(scored[0][2], scored[0][1], False)


def bundled_table() -> TdpTable:
    """The bundled table, read now. Not kept: a process looks up one model, and the table's few thousand lines
    held for the whole run were a third of a megabyte of resident memory."""
    return TdpTable.load()


@lru_cache(maxsize=64)
def lookup_tdp(model: Optional[str]) -> Optional[TdpMatch]:
    """TDP of ``model`` from the bundled table, the answer cached per process; None when unknown."""
    if not model:
        return None
    return bundled_table().match(model)
