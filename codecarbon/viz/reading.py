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
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecarbon.external.logger import logger

#: Columns read as numbers (missing or empty: 0.0, or None for the optional ones below).
NUMBER_COLUMNS = (
    "duration", "emissions", "emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy",
    "ram_energy", "energy_consumed", "water_consumed", "pue", "wue", "cpu_utilization_percent",
    "gpu_utilization_percent", "ram_utilization_percent", "ram_used_gb", "ram_total_size",
)
OPTIONAL_NUMBER_COLUMNS = ("carbon_intensity", "longitude", "latitude", "cpu_count", "gpu_count")
#: The job columns of a row (contract #1); empty strings when not in a job.
JOB_COLUMNS = ("scheduler", "job_id", "job_name", "job_user", "job_account", "job_partition", "node_name", "rank",
               "local_rank", "world_size", "attribution")
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


def _number(text: str | None) -> float | None:
    """A CSV cell as a float; None when empty (or NaN); ValueError when it is text."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        if text.strip():
            raise
        return None
    return None if value != value else value  # NaN


def _typed(row: dict[str, str]) -> dict[str, Any]:
    """The row (modified in place) with numbers as floats; ValueError when a number column holds text."""
    values: dict[str, Any] = row
    values.pop("", None)
    for name in NUMBER_COLUMNS:
        values[name] = _number(row.get(name)) or 0.0
    for name in OPTIONAL_NUMBER_COLUMNS:
        values[name] = _number(row.get(name))
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


def _rows(path: Path, reading: Reading) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of one CSV file; lines that do not parse or do not fit the header are skipped."""
    skipped = 0
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(line.replace("\0", "") if "\0" in line else line for line in handle)
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            return
        header = [name.lstrip("\ufeff").strip() for name in header]
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


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        first = handle.readline().replace("\0", "")
    return [name.lstrip("\ufeff").strip() for name in next(csv.reader([first]), [])]


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


def read_runs(paths: Sequence[str | os.PathLike[str]]) -> Reading:
    """Read emissions CSV files and directories into runs, one per run_id, tasks joined to their run."""
    reading = Reading()
    by_id: dict[str, Run] = {}
    tasks: dict[tuple[str, str], Task] = {}
    task_experiment: dict[str, str] = {}
    candidates: dict[str, list[tuple[float, int, dict[str, str], str]]] = {}
    bad_by_file: dict[str, int] = {}
    order = 0
    for path in expand_paths(paths):
        try:
            header = _header(path)
        except OSError as error:
            _warn(reading, f"{path}: cannot be read ({error})")
            continue
        if not header:
            continue
        is_task_file = "task_name" in header
        if not all(name in header for name in _REQUIRED):
            _warn(reading, f"{path}: not an emissions file (no emissions/energy_consumed columns); ignored")
            continue
        reading.files.append(str(path))
        bad_values = 0
        try:
            for line, row in _rows(path, reading):
                run_id = row.get("run_id") or f"{path}:{line}"
                row["run_id"] = run_id
                if is_task_file:
                    try:
                        values = _typed(row)
                    except ValueError:
                        bad_values += 1
                        continue
                    name = values.pop("task_name", "") or ""
                    tasks[(run_id, name)] = Task(name, values)  # the last row written for a task wins
                    experiment = _experiment_from_task_file(path, run_id)
                    if experiment:
                        task_experiment[run_id] = experiment
                    continue
                try:
                    duration = _number(row.get("duration")) or 0.0
                except ValueError:
                    bad_values += 1
                    continue
                # only the row that will stand for the run is typed in full (below): rows are cumulative, so
                # the longest one is the run so far; never a sum
                candidates.setdefault(run_id, []).append((duration, order, row, str(path)))
                order += 1
        except OSError as error:
            _warn(reading, f"{path}: read failed part-way ({error})")
        if bad_values:
            bad_by_file[str(path)] = bad_values
    for run_id, rows in candidates.items():
        rows.sort(key=lambda item: (item[0], item[1]), reverse=True)
        for _duration, _order, row, source in rows:
            try:
                values = _typed(row)
            except ValueError:
                bad_by_file[source] = bad_by_file.get(source, 0) + 1
                continue
            run = Run(values=values, source=source, rows_seen=len(rows))
            by_id[run_id] = run
            reading.runs.append(run)
            break
    for source, bad in bad_by_file.items():
        reading.skipped_lines += bad
        _warn(reading, f"{source}: skipped {bad} line(s) whose numbers could not be read")
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
def totals(runs: Iterable[Run]) -> dict[str, float]:
    """Summed energy and emissions of runs, and their longest duration (runs of one group overlap in time)."""
    out = {key: 0.0 for key in ENERGY_KEYS}
    for run in runs:
        for key in ENERGY_KEYS:
            if key == "duration":
                out[key] = max(out[key], run.values[key])
            else:
                out[key] += run.values[key]
    return out


def summed(runs: Iterable[Run]) -> dict[str, float]:
    """Energy, emissions and duration all summed (a project's runs follow one another)."""
    out = {key: 0.0 for key in ENERGY_KEYS}
    for run in runs:
        for key in ENERGY_KEYS:
            out[key] += run.values[key]
    return out


def jobs(runs: Iterable[Run]) -> list[dict[str, Any]]:
    """Contract #2: per (scheduler, job_id), the job's total and each node's, from the runs of that job.

    Energy and emissions add up (each node's emissions at its own intensity, as each row already holds);
    duration is the longest run's (the job's wall time as its processes saw it), per node likewise."""
    grouped: dict[tuple[str, str], dict[str, list[Run]]] = {}
    for run in runs:
        job_id = str(run.values.get("job_id") or "")
        if not job_id:
            continue
        key = (str(run.values.get("scheduler") or ""), job_id)
        node = str(run.values.get("node_name") or "")
        grouped.setdefault(key, {}).setdefault(node, []).append(run)
    out = []
    for (scheduler, job_id), nodes in grouped.items():
        every = [run for node_runs in nodes.values() for run in node_runs]
        out.append({
            "job_id": job_id,
            "scheduler": scheduler,
            "job_name": next((str(r.values.get("job_name")) for r in every if r.values.get("job_name")), ""),
            "runs": len(every),
            "total": totals(every),
            "nodes": {node: totals(node_runs) for node, node_runs in sorted(nodes.items())},
        })
    return out
