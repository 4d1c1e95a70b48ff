"""The CSV output: one row per run (and per flush), safe for several processes sharing one file.

Appends happen under an advisory lock held on a sidecar lock file, so concurrent writers never interleave or lose
rows, and ``update`` can replace the file atomically. A file whose header this package does not recognise is
left untouched: rows go to a sibling file whose name says why, and the user is told once.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from codecarbon.external.logger import log_once, logger
from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.emissions_data import (
    CSV_COLUMNS,
    EXTRA_COLUMNS,
    EmissionsData,
    TaskEmissionsData,
)

ALL_COLUMNS: tuple[str, ...] = CSV_COLUMNS + EXTRA_COLUMNS
ON_CSV_WRITE_MODES = ("append", "update")
MISMATCH_SUFFIX = ".header-mismatch"


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock tied to ``path`` (a sidecar ``.<name>.lock``) for the block."""
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if os.name == "nt":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def format_value(value: Any) -> str:
    """CSV text of one value: empty for None/NaN, repr-precision floats, everything else as str."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def read_header(path: Path) -> list[str] | None:
    """The header of an existing non-empty CSV file, or None when the file is absent or empty."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            first = handle.readline()
    except FileNotFoundError:
        return None
    if not first.strip():
        return None
    return next(csv.reader([first.lstrip("\ufeff")]))


def _row_text(columns: Sequence[str], record: dict[str, Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([format_value(record.get(c)) for c in columns])
    return buffer.getvalue()


class CsvTable:
    """One CSV file written under a lock: knows its columns, appends rows, or replaces a run's row."""

    def __init__(self, path: Path, columns: Sequence[str] = ALL_COLUMNS):
        self.requested_path = path
        self.columns = tuple(columns)

    def _target(self) -> tuple[Path, tuple[str, ...]]:
        """Where rows go and in which column order, respecting the header of a file that already exists."""
        path = self.requested_path
        header = read_header(path)
        if header is None:
            return path, self.columns
        if header and set(header) <= set(self.columns) and len(set(header)) == len(header):
            return path, tuple(header)  # our file, or an older one whose columns we all know: keep its order
        moved = path.with_name(f"{path.stem}{MISMATCH_SUFFIX}{path.suffix}")
        log_once(
            f"csv-mismatch:{path}", 30,
            "%s has columns this version does not write; it is left as it is and new rows go to %s",
            path, moved,
        )
        other = read_header(moved)
        return moved, tuple(other) if other and set(other) <= set(self.columns) else self.columns

    def append(self, records: Sequence[dict[str, Any]]) -> Path:
        """Append rows (header first when the file is new); returns the file written."""
        with locked(self.requested_path):
            path, columns = self._target()
            text = "".join(_row_text(columns, r) for r in records)
            if read_header(path) is None:
                text = ",".join(columns) + "\n" + text
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                data = text.encode("utf-8")
                written = 0
                while written < len(data):
                    written += os.write(fd, data[written:])
            finally:
                os.close(fd)
            return path

    def upsert(self, record: dict[str, Any], key: str = "run_id") -> Path:
        """Replace the row whose ``key`` matches (append when none), through an atomic file replace."""
        with locked(self.requested_path):
            path, columns = self._target()
            rows: list[dict[str, str]] = []
            if read_header(path) is not None:
                with open(path, newline="", encoding="utf-8") as handle:
                    rows = list(csv.DictReader(handle))
            matches = [i for i, row in enumerate(rows) if row.get(key) == str(record.get(key))]
            new_row = {c: format_value(record.get(c)) for c in columns}
            if len(matches) == 1:
                rows[matches[0]] = new_row
            else:
                if len(matches) > 1:
                    logger.warning("%s has %d rows for %s=%s; appending instead of updating",
                                   path, len(matches), key, record.get(key))
                rows.append(new_row)
            import tempfile

            fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            try:
                with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
                    writer = csv.writer(handle, lineterminator="\n")
                    writer.writerow(columns)
                    for row in rows:
                        writer.writerow([row.get(c, "") for c in columns])
                os.replace(temp_name, path)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise
            return path


class FileOutput(BaseOutput):
    """Writes each finished run (and each flush) to ``output_dir/output_file_name``; tasks to their own file."""

    def __init__(self, output_file_name: str = "emissions.csv", output_dir: str = ".",
                 on_csv_write: str = "append"):
        if on_csv_write not in ON_CSV_WRITE_MODES:
            raise ValueError(f"on_csv_write must be 'append' or 'update', got {on_csv_write!r}")
        if not os.path.isdir(output_dir):
            raise ValueError(f"output_dir {output_dir!r} is not an existing directory")
        self.output_dir = output_dir
        self.on_csv_write = on_csv_write
        self.save_file_path = os.path.join(output_dir, output_file_name)
        self._table = CsvTable(Path(self.save_file_path))
        self._pending: list[dict[str, Any]] = []  # rows a failed write (full disk...) still owes the file
        self.last_written_path: Path | None = None

    def has_valid_headers(self, data: EmissionsData) -> bool:
        header = read_header(Path(self.save_file_path))
        return header is None or set(header) <= set(data.values)

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        record = dict(total.values)
        try:
            if self.on_csv_write == "update" and not self._pending:
                self.last_written_path = self._table.upsert(record)
            else:
                self.last_written_path = self._table.append(self._pending + [record])
                self._pending.clear()
        except OSError as error:
            if self.on_csv_write == "append" or not self._pending:
                self._pending.append(record)
            logger.error("could not write %s (%s); the row is kept and written at the next flush or stop",
                         self.save_file_path, error)

    def task_out(self, data: list[TaskEmissionsData], experiment_name: str) -> None:
        if not data:
            return
        run_id = data[0].run_id
        path = Path(self.output_dir) / f"emissions_{experiment_name}_{run_id}.csv"
        columns = ("task_name",) + tuple(c for c in ALL_COLUMNS if c != "experiment_id")
        path.unlink(missing_ok=True)  # the file holds this run's tasks, rewritten at each flush/stop
        CsvTable(path, columns).append([dict(row.values) for row in data])

    def exit(self) -> None:
        if not self._pending:
            return
        import tempfile

        fallback = Path(tempfile.gettempdir()) / f"codecarbon-unwritten-{os.getpid()}.csv"
        try:
            self._table.append(self._pending)
            self._pending.clear()
            return
        except OSError:
            pass
        try:
            CsvTable(fallback).append(self._pending)
            logger.error("could not write %s; %d row(s) saved to %s instead",
                         self.save_file_path, len(self._pending), fallback)
            self._pending.clear()
        except OSError as error:
            logger.error("could not write %d row(s) anywhere (%s): %s", len(self._pending), error,
                         [r.get("run_id") for r in self._pending])
