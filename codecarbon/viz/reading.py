"""One reading of emissions CSV files, shared by `codecarbon report`, carbonboard and the notebook views.

Why one module: the tracker writes *cumulative* rows (each `flush()` in append mode adds the run so far), so a
reader that sums rows counts a run several times. Here a run is its `run_id`: the row with the longest duration
(the last one written in append mode, the only one in update mode). Task files (a `task_name` column, named
`emissions_<experiment>_<run_id>.csv` by our writer) are joined to their run. Files of CodeCarbon 3.3.2 (the 38
documented columns), of our earlier versions (43 columns) and with the job columns all read the same way; a line
that cannot be read is skipped with one warning per file, never fatal.

Only the standard library: the terminal report must not need pandas.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecarbon.external.logger import logger
from codecarbon.output_methods.emissions_data import JOB_COLUMNS  # the job columns of a row, defined once

#: Columns read as numbers (missing or empty: 0.0, or None for the optional ones below).
NUMBER_COLUMNS = (
    "duration", "emissions", "emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy",
    "ram_energy", "energy_consumed", "water_consumed", "pue", "wue", "cpu_utilization_percent",
    "gpu_utilization_percent", "ram_utilization_percent", "ram_used_gb", "ram_total_size",
)
OPTIONAL_NUMBER_COLUMNS = ("carbon_intensity", "longitude", "latitude", "cpu_count", "gpu_count")
#: Additive quantities: what a job total or a group total sums.
ENERGY_KEYS = ("duration", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "emissions")
_REQUIRED = ("emissions", "energy_consumed")


@dataclass
class Task:
    """One task window of a run (a row of a task file, the last one written for that task name)."""

    task_name: str
    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class Run:
    """One tracker run: the fields of its final row, typed, plus where it came from and its tasks."""

    values: dict[str, Any]
    source: str
    rows_seen: int = 1
    experiment_name: str = ""
    tasks: list[Task] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def intensity_g_per_kwh(self) -> float | None:
        """The intensity the run was computed at: the row's own column, else emissions / energy (3.3.2 files)."""
        given = self.values.get("carbon_intensity")
        if given is not None:
            return given
        energy = self.values["energy_consumed"]
        return self.values["emissions"] * 1000.0 / energy if energy > 0 else None

    @property
    def experiment(self) -> str:
        """How the run's experiment is shown: its name when a task file gave one, else its id."""
        return self.experiment_name or str(self.values.get("experiment_id") or "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every column of the row, the experiment name, the intensity and the tasks."""
        out = dict(self.values)
        out["experiment_name"] = self.experiment_name
        out["carbon_intensity"] = self.intensity_g_per_kwh
        for name in JOB_COLUMNS:
            out.setdefault(name, "")
        out["source_file"] = self.source
        out["rows_seen"] = self.rows_seen
        out["tasks"] = [dict(task.values) for task in self.tasks]
        return out


@dataclass
class Reading:
    """Everything read from the given files: runs (file order of their first row) and what was skipped."""

    runs: list[Run] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped_lines: int = 0
    orphan_tasks: list[Task] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Rows left out because an energy, emissions, duration or water figure was negative (invalid, not zeroed).
    negative_rows: int = 0
    #: Files whose last line was still being written (no newline yet) when read.
    partial_lines: int = 0


class NegativeValue(ValueError):
    """A quantity that cannot be negative (energy, emissions, duration, water) is: the row is invalid."""


#: Columns whose negative value makes a row invalid (never zeroed, never summed).
NON_NEGATIVE_COLUMNS = (*ENERGY_KEYS, "water_consumed")


def _number(text: str | None) -> float | None:
    """A CSV cell as a float; None when empty (or NaN); ValueError when it is text or infinite."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        if text.strip():
            raise
        return None
    if value != value:  # NaN
        return None
    if value in (math.inf, -math.inf):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _optional_number(text: str | None) -> float | None:
    try:
        return _number(text)
    except ValueError:
        return None


def _typed(row: dict[str, str]) -> dict[str, Any]:
    """The row (modified in place) with numbers as floats; ValueError when a number column holds text or an
    infinite value, NegativeValue when an energy, emissions, duration or water column is negative."""
    values: dict[str, Any] = row
    values.pop("", None)
    for name in NUMBER_COLUMNS:
        values[name] = _number(row.get(name)) or 0.0
    for name in NON_NEGATIVE_COLUMNS:
        if values[name] < 0:
            raise NegativeValue(name)
    for name in OPTIONAL_NUMBER_COLUMNS:
        values[name] = _optional_number(row.get(name))
    for name in ("cpu_count", "gpu_count"):
        if values[name] is not None:
            values[name] = int(values[name])
    return values


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; directories replaced by every ``*.csv`` below them (sorted, hidden folders skipped)."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for candidate in sorted(path.rglob("*.csv")):
                parts = candidate.relative_to(path).parts
                if not any(part.startswith(".") for part in parts) and candidate.is_file():
                    found.append(candidate)
        else:
            found.append(path)
    return found


#: Longest CSV cell read (the csv module's default, 128 KiB, would drop a row with a long job name the tracker
#: wrote; whatever the tracker writes, its report reads).
FIELD_SIZE_LIMIT = 2**31 - 1


def _lines(path: Path, reading: Reading) -> Generator[str, None, None]:
    """The complete lines of a file as it was when opened: a writer appending meanwhile adds nothing to this
    reading, and a last line without its newline (a row being written) is not a row yet."""
    with open(path, "rb") as handle:
        left = os.fstat(handle.fileno()).st_size
        while left > 0:
            line = handle.readline(left)
            if not line:
                break
            left -= len(line)
            if not line.endswith(b"\n"):
                reading.partial_lines += 1
                logger.info("%s: the last line is not finished (a row being written?): not read yet", path)
                break
            text = line.decode("utf-8", errors="replace")
            yield text.replace("\0", "") if "\0" in text else text


def _rows(path: Path, reading: Reading, header: list[str], reader: Any) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of one CSV file; lines that do not parse or do not fit the header are skipped."""
    skipped = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            skipped += 1
            continue
        if not cells or all(not cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            skipped += 1
            continue
        yield reader.line_num, dict(zip(header, cells, strict=True))
    if skipped:
        reading.skipped_lines += skipped
        _warn(reading, f"{path}: skipped {skipped} malformed line(s)")


def _warn(reading: Reading, message: str) -> None:
    reading.problems.append(message)
    logger.warning("%s", message)


def _experiment_from_task_file(path: Path, run_id: str) -> str:
    """`emissions_<experiment>_<run_id>.csv` (our writer's name) -> `<experiment>`; '' when it is not that."""
    stem = path.stem
    suffix = f"_{run_id}"
    if stem.startswith("emissions_") and stem.endswith(suffix) and len(stem) > len("emissions_") + len(suffix):
        return stem[len("emissions_"):-len(suffix)]
    return ""


@dataclass
class _Best:
    """The row standing for a run so far (the longest duration that could be read) and how many rows it had."""

    duration: float
    values: dict[str, Any] | None
    source: str
    rows_seen: int = 0


class _Counts:
    """Per file: lines whose numbers could not be read, rows with a negative figure."""

    def __init__(self) -> None:
        self.bad: dict[str, int] = {}
        self.negative: dict[str, int] = {}

    def count(self, source: str, error: ValueError) -> None:
        target = self.negative if isinstance(error, NegativeValue) else self.bad
        target[source] = target.get(source, 0) + 1


def read_runs(paths: Sequence[str | os.PathLike[str]]) -> Reading:
    """Read emissions CSV files and directories into runs, one per run_id, tasks joined to their run.

    Streams: each row is looked at once and only the row standing for its run is kept, so memory grows with the
    number of runs (and tasks), never with the number of rows (a run flushed every minute for a month)."""
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        return _read(paths)
    finally:
        csv.field_size_limit(previous_limit)


def _read(paths: Sequence[str | os.PathLike[str]]) -> Reading:
    reading = Reading()
    tasks: dict[tuple[str, str], Task] = {}
    task_experiment: dict[str, str] = {}
    best: dict[str, _Best] = {}
    counts = _Counts()
    for path in expand_paths(paths):
        source = str(path)
        try:
            lines = _lines(path, reading)
            reader = csv.reader(lines)
            try:
                header = [name.lstrip("\ufeff").strip() for name in next(reader)]
            except (StopIteration, csv.Error):
                lines.close()
                continue
            if not header:
                continue
            if not all(name in header for name in _REQUIRED):
                lines.close()
                _warn(reading, f"{path}: not an emissions file (no emissions/energy_consumed columns); ignored")
                continue
            is_task_file = "task_name" in header
            reading.files.append(source)
            for line, row in _rows(path, reading, header, reader):
                run_id = row.get("run_id") or f"{path}:{line}"
                row["run_id"] = run_id
                if is_task_file:
                    try:
                        values = _typed(row)
                    except ValueError as error:
                        counts.count(source, error)
                        continue
                    name = values.pop("task_name", "") or ""
                    tasks[(run_id, name)] = Task(name, values)  # the last row written for a task wins
                    experiment = _experiment_from_task_file(path, run_id)
                    if experiment:
                        task_experiment[run_id] = experiment
                    continue
                try:
                    duration = _number(row.get("duration")) or 0.0
                except ValueError as error:
                    counts.count(source, error)
                    continue
                # rows are cumulative, so the longest one is the run so far (a later one on a tie); never a sum
                kept = best.get(run_id)
                if kept is None:
                    kept = best[run_id] = _Best(duration=-math.inf, values=None, source=source)
                kept.rows_seen += 1
                if duration >= kept.duration:
                    try:
                        values = _typed(row)
                    except ValueError as error:
                        counts.count(source, error)
                        continue
                    kept.duration, kept.values, kept.source = duration, values, source
        except OSError as error:
            _warn(reading, f"{path}: cannot be read ({error})" if source not in reading.files
                  else f"{path}: read failed part-way ({error})")
    by_id: dict[str, Run] = {}
    for run_id, kept in best.items():
        if kept.values is not None:
            run = Run(values=kept.values, source=kept.source, rows_seen=kept.rows_seen)
            by_id[run_id] = run
            reading.runs.append(run)
    for source, bad in counts.bad.items():
        reading.skipped_lines += bad
        _warn(reading, f"{source}: skipped {bad} line(s) whose numbers could not be read")
    for source, negative in counts.negative.items():
        reading.negative_rows += negative
        _warn(reading, f"{source}: left out {negative} row(s) with a negative energy, emissions, duration or "
                       "water figure (invalid)")
    for (run_id, _name), task in tasks.items():
        owner = by_id.get(run_id)
        if owner is None:
            reading.orphan_tasks.append(task)
        else:
            owner.tasks.append(task)
    for run_id, experiment in task_experiment.items():
        if run_id in by_id:
            by_id[run_id].experiment_name = experiment
    return reading


# ------------------------------------------------------------------------------------------------ totals
def summed(runs: Iterable[Run]) -> dict[str, float]:
    """Energy, emissions and duration all summed (a project's runs follow one another)."""
    out = {key: 0.0 for key in ENERGY_KEYS}
    for run in runs:
        for key in ENERGY_KEYS:
            out[key] += run.values[key]
    return out


def jobs(runs: Iterable[Run]) -> list[dict[str, Any]]:
    """Contract #2: per (scheduler, job_id), the job's total and each node's, from the runs of that job.

    One definition with the tracker's own gathering (`core.job_totals`): energy and emissions add up (each
    node's emissions at its own intensity, as each row already holds); a node's duration is its wall time (the
    span of its processes, never their sum), the job's that of its longest node."""
    from codecarbon.core.job_totals import job_totals

    grouped: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        job_id = str(run.values.get("job_id") or "")
        if job_id:
            grouped.setdefault((str(run.values.get("scheduler") or ""), job_id), []).append(run)
    out = []
    for (scheduler, job_id), members in grouped.items():
        out.append({
            "job_id": job_id,
            "scheduler": scheduler,
            "job_name": next((str(r.values.get("job_name")) for r in members if r.values.get("job_name")), ""),
            "runs": len(members),
            **job_totals(run.values for run in members),
        })
    return out
