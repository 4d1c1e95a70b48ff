"""The CSV output: one row per run (and per flush), safe for several processes -- and hosts -- sharing one file.

Every write happens under an exclusive advisory lock on the CSV file itself (``flock``; on a network filesystem
the kernel turns it into a lock the server arbitrates), so writers never interleave or lose rows, on one host or
several. The lock holder then checks the file it locked is still the one at the path (``update`` and a moved-aside
file replace it) and starts over when it is not.

What an existing file gets:

- our header, or an earlier version's (our columns up to some point, at least the original 38, in any order):
  rows follow its columns;
- a last line cut short (a killed writer of another tool): it is ended before our row, closing an open quote;
- a foreign header, or one that is not UTF-8 text: the file is moved aside as CodeCarbon 3.3.2 does, to
  ``<name>.bak``, or ``<name>.1.bak``, ``<name>.2.bak``... when taken (an earlier backup is never overwritten),
  the log says where, and a new file begins, so ``output_file`` always holds the latest rows;
- a short write (full disk, file size limit): rolled back, the row kept and retried at the next flush/stop; at
  ``exit()`` a row that still cannot be written goes to a private file in the state directory's ``unwritten/``
  folder, and the log says which.

A symbolic link at the CSV's path is never followed (``O_NOFOLLOW``; new files with ``O_EXCL``).
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
import re
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from codecarbon.external.logger import log_once, logger
from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.columns import CSV_COLUMNS, EXTRA_COLUMNS
from codecarbon.support import files

if TYPE_CHECKING:  # the records' dataclasses are built when the first row is, not when the output is (issue 16)
    from codecarbon.output_methods.emissions_data import EmissionsData, TaskEmissionsData

ALL_COLUMNS: tuple[str, ...] = CSV_COLUMNS + EXTRA_COLUMNS
ON_CSV_WRITE_MODES = ("append", "update")
BACKUP_SUFFIX = ".bak"
LOCK_TIMEOUT_S = 30.0  # another writer holding the file longer than this: the row is kept for the next write
_HEAD_BYTES = 1 << 16
_WHOLE_FILE_CHECK = 4 << 20  # files up to this size are scanned whole for an open quoted field


@functools.cache
def _separator() -> re.Pattern[bytes]:
    """Compiled at the first append to an existing file, not at import (issue 16)."""
    return re.compile(rb"[,\r\n]")


def _ends_in_open_quote(data: bytes) -> bool:
    """Whether the CSV reader (default dialect) would be inside a quoted field at the end of ``data``.

    A quote opens a quoted field only at the start of a field; inside, a doubled quote is a quote and a single
    one closes it; after that, up to the next separator, quotes are plain characters."""
    index, size = 0, len(data)
    while index < size:
        if data[index] == 0x22:  # an opening quote at a field's start
            search = index + 1
            while True:
                found = data.find(b'"', search)
                if found < 0:
                    return True
                if found + 1 < size and data[found + 1] == 0x22:
                    search = found + 2
                    continue
                index = found + 1
                break
        separator = _separator().search(data, index)
        if separator is None:
            return False
        index = separator.end()
    return False
_NEW_FILE_MODE = files.USER_FILE_MODE


def format_value(value: Any) -> str:
    """CSV text of one value: empty for None/NaN, repr-precision floats, everything else as str."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def _row_text(columns: Sequence[str], record: dict[str, Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([format_value(record.get(c)) for c in columns])
    return buffer.getvalue()


def _read_at(fd: int, size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows
    return os.read(fd, size)


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks, offset = [], 0
    while offset < size:
        chunk = _read_at(fd, min(size - offset, 1 << 20), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def parse_header(first_line: bytes) -> Optional[list[str]]:
    """The columns of a header line, or None when it is not UTF-8 text."""
    try:
        text = first_line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return next(csv.reader([text.lstrip("\ufeff").rstrip("\r\n")]), [])


def read_header(path: Path) -> list[str] | None:
    """The header of an existing non-empty CSV file, or None when the file is absent or empty."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(_HEAD_BYTES)
    except FileNotFoundError:
        return None
    if not first.strip():
        return None
    return parse_header(first) or []


def backup_path(path: Path) -> Path:
    """The first free backup name: ``<name>.bak``, then ``<name>.1.bak``, ``<name>.2.bak``..."""
    candidate = path.with_name(path.name + BACKUP_SUFFIX)
    index = 0
    while os.path.lexists(candidate):
        index += 1
        candidate = path.with_name(f"{path.name}.{index}{BACKUP_SUFFIX}")
    return candidate


def _move_aside(path: Path) -> Path:
    """Move ``path`` to a free backup name without ever replacing an existing file."""
    for _attempt in range(64):
        target = backup_path(path)
        try:
            os.link(path, target, follow_symlinks=False)  # fails when the name is taken: never overwrites
        except FileExistsError:
            continue
        except (OSError, NotImplementedError):  # no hard links here (some network or FAT filesystems)
            if os.path.lexists(target):
                continue
            os.rename(path, target)
            return target
        os.unlink(path)
        return target
    raise OSError(f"no free backup name for {path}")


class CsvTable:
    """One CSV file written under its lock: knows its columns, appends rows, or replaces a run's row."""

    def __init__(self, path: Path, columns: Sequence[str] = ALL_COLUMNS, lock_timeout_s: float = LOCK_TIMEOUT_S):
        self.requested_path = Path(path)
        self.columns = tuple(columns)
        self.lock_timeout_s = lock_timeout_s
        self.moved_to: Optional[Path] = None  # where a foreign file was moved, the last time one was
        self._clean: Optional[tuple[int, int, int]] = None  # (device, inode, size) our last write left

    # --- the locked file --------------------------------------------------------------------------------------
    def _open_locked(self) -> tuple[int, Optional[files.FileLock]]:
        """Open the CSV (created when absent) and hold its lock; the fd is the file now at the path."""
        side_lock = None
        if sys.platform.startswith("win"):  # a file that is open cannot be replaced there: lock beside it
            from codecarbon.support.statedir import key_for_path, lock_path

            side_lock = files.FileLock(lock_path(f"csv-{key_for_path(self.requested_path)}"))
            side_lock.acquire(timeout_s=self.lock_timeout_s)
        try:
            for _attempt in range(64):
                fd, _created = files.open_append(self.requested_path, _NEW_FILE_MODE)
                try:
                    if not files.is_regular_file(fd):
                        raise OSError(f"{self.requested_path} is not a regular file")
                    if side_lock is None:
                        files.lock_fd(fd, timeout_s=self.lock_timeout_s)
                except BaseException:
                    os.close(fd)
                    raise
                if files.same_file(fd, self.requested_path):
                    return fd, side_lock
                self._release(fd, side_lock, keep_side=True)  # replaced while we waited: lock the new one
            raise OSError(f"{self.requested_path} keeps being replaced")
        except BaseException:
            if side_lock is not None:
                side_lock.release()
            raise

    @staticmethod
    def _release(fd: int, side_lock: Optional[files.FileLock], keep_side: bool = False) -> None:
        if side_lock is None:
            files.close_locked(fd)
        else:
            os.close(fd)
            if not keep_side:
                side_lock.release()

    def _prepared(self) -> tuple[int, Optional[files.FileLock], tuple[str, ...], bytes]:
        """The locked file, its columns, and what must precede our bytes (a header, or the end of a cut line)."""
        for _attempt in range(16):
            fd, side_lock = self._open_locked()
            try:
                size = os.fstat(fd).st_size
                head = _read_at(fd, min(size, _HEAD_BYTES), 0) if size else b""
                if not head.strip():
                    if size:
                        os.ftruncate(fd, 0)  # only blank bytes: an empty file
                    return fd, side_lock, self.columns, (",".join(self.columns) + "\n").encode("utf-8")
                newline = head.find(b"\n")
                header = parse_header(head[:newline]) if newline >= 0 else None
                if header is not None and self._is_known(header):
                    return fd, side_lock, tuple(header), self._mend(fd, size)
                self.moved_to = _move_aside(self.requested_path)
                log_once(f"csv-moved:{self.requested_path}:{self.moved_to}", 30,
                         "%s has a header this version does not write (or is not UTF-8 text); it was moved to %s "
                         "and new rows go to a new %s", self.requested_path, self.moved_to,
                         self.requested_path.name)
            except BaseException:
                self._release(fd, side_lock)
                raise
            self._release(fd, side_lock)
        raise OSError(f"{self.requested_path} could not be prepared")

    def _is_known(self, header: list[str]) -> bool:
        """Our columns, or those of an earlier version (a prefix of ours, at least the original 38), any order."""
        if len(set(header)) != len(header):
            return False
        if self.columns != ALL_COLUMNS:  # a table of its own (tasks): exactly its columns
            return set(header) == set(self.columns)
        return len(header) >= len(CSV_COLUMNS) and set(header) == set(self.columns[:len(header)])

    def _mend(self, fd: int, size: int) -> bytes:
        """What ends a record left open (a last line cut short, a quoted field never closed) before our rows.

        Files up to ``_WHOLE_FILE_CHECK`` bytes are scanned as the CSV reader would; bigger ones from the start of
        their last 64 KiB's first full line. A file just as our last write left it needs no scan."""
        info = os.fstat(fd)
        if self._clean == (info.st_dev, info.st_ino, size):
            return b""
        if size <= _WHOLE_FILE_CHECK:
            data = _read_all(fd)
        else:
            data = _read_at(fd, _HEAD_BYTES, size - _HEAD_BYTES)
            data = data[data.find(b"\n") + 1:]
        open_quote = _ends_in_open_quote(data)
        if not open_quote and data.endswith(b"\n"):
            return b""
        log_once(f"csv-mended:{self.requested_path}:{size}", 30,
                 "%s ended inside a row (cut short); that row is ended before ours", self.requested_path)
        return b'"\n' if open_quote else b"\n"

    # --- writes -------------------------------------------------------------------------------------------------
    def append(self, records: Sequence[dict[str, Any]]) -> Path:
        """Append rows (header first when the file is new), all or nothing; returns the file written."""
        fd, side_lock, columns, prefix = self._prepared()
        try:
            text = "".join(_row_text(columns, r) for r in records)
            files.append_all(fd, prefix + files.encode_text(text, str(self.requested_path)))
            info = os.fstat(fd)
            self._clean = (info.st_dev, info.st_ino, info.st_size)
        finally:
            self._release(fd, side_lock)
        return self.requested_path

    def upsert(self, record: dict[str, Any], key: str = "run_id") -> Path:
        """Replace the row whose ``key`` matches (append when none), through an atomic file replace.

        Bytes that are not UTF-8 in other rows survive unchanged (they are carried as escapes)."""
        fd, side_lock, columns, prefix = self._prepared()
        try:
            is_new = os.fstat(fd).st_size == 0
            existing = b"" if is_new else _read_all(fd) + prefix  # a cut last line is ended first
            text = existing.decode("utf-8", "surrogateescape")
            bom = "\ufeff" if text.startswith("\ufeff") else ""
            table = list(csv.reader(io.StringIO(text[len(bom):], newline="")))
            header, rows = (table[0], table[1:]) if table else (list(columns), [])
            new_row = [files.escape_unencodable(format_value(record.get(c)), str(self.requested_path))
                       for c in columns]
            position = header.index(key) if key in header else -1
            matches = [i for i, row in enumerate(rows) if position >= 0 and len(row) > position
                       and row[position] == str(record.get(key))]
            if len(matches) == 1:
                rows[matches[0]] = new_row
            else:
                if len(matches) > 1:
                    logger.warning("%s has %d rows for %s=%s; appending instead of updating",
                                   self.requested_path, len(matches), key, record.get(key))
                rows.append(new_row)
            buffer = io.StringIO(newline="")
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(header if table else columns)
            writer.writerows(row for row in rows if row)
            mode = _NEW_FILE_MODE if is_new else stat.S_IMODE(os.fstat(fd).st_mode)
            payload = (bom + buffer.getvalue()).encode("utf-8", "surrogateescape")
            if side_lock is not None:  # Windows: the open file cannot be replaced
                os.close(fd)
                fd = -1
            files.atomic_write(self.requested_path, payload, mode=mode, exact_mode=not is_new)
        finally:
            if fd >= 0:
                self._release(fd, side_lock)
            elif side_lock is not None:
                side_lock.release()
        return self.requested_path


@functools.cache
def _unsafe_in_names(windows: bool) -> re.Pattern[str]:
    """A separator, or what no terminal shows (on Windows, also what it refuses in a file name); compiled at the
    first task file, not at import (issue 16)."""
    return re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]' if windows else r"[\x00-\x1f\x7f/]")


_MAX_NAME_BYTES = 220  # most filesystems take 255 bytes; the atomic write's temporary name adds 22


def task_file_name(experiment_name: str, run_id: str) -> str:
    """``emissions_<experiment_name>_<run_id>.csv`` as one safe file name of ``output_dir``: path separators
    and control characters (and, on Windows, what it refuses in names) become ``_``, so ``a/b`` or ``/../x``
    never leave the folder nor need a sub-folder; anything else stays as 3.3.2 writes it (``task:e1``). A name
    too long for the filesystem is cut, with a hash of the whole name kept in it."""
    unsafe = _unsafe_in_names(sys.platform.startswith("win"))

    def safe(text: str) -> str:
        return unsafe.sub("_", files.escape_unencodable(text, "the task file's name"))

    experiment, run = safe(experiment_name), safe(run_id)
    name = f"emissions_{experiment}_{run}.csv"
    if len(name.encode("utf-8")) <= _MAX_NAME_BYTES:
        return name
    import hashlib

    digest = hashlib.sha256(f"{experiment_name}\0{run_id}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
    room = _MAX_NAME_BYTES - len(f"emissions__{digest}_{run}.csv".encode())
    if room < 0:  # a run id no tracker makes: the hash alone names the file
        return f"emissions_{digest}.csv"
    cut = experiment.encode("utf-8")[:room].decode("utf-8", "ignore")
    return f"emissions_{cut}_{digest}_{run}.csv"


class FileOutput(BaseOutput):
    """Writes each finished run (and each flush) to ``output_dir/output_file_name``; tasks to their own file."""

    def __init__(self, output_file_name: str = "emissions.csv", output_dir: str = ".",
                 on_csv_write: str = "append"):
        if on_csv_write not in ON_CSV_WRITE_MODES:
            raise ValueError(f"on_csv_write must be 'append' or 'update', got {on_csv_write!r}")
        if not os.path.isdir(output_dir):
            raise ValueError(f"output_dir {output_dir!r} is not an existing directory")
        self.output_dir = os.path.abspath(output_dir)  # resolved once: a later chdir does not move the file
        self.on_csv_write = on_csv_write
        self.save_file_path = os.path.join(self.output_dir, output_file_name)
        if os.path.isdir(self.save_file_path) or not os.path.isdir(os.path.dirname(self.save_file_path)):
            raise ValueError(f"output_file {output_file_name!r} must name a file in an existing folder of "
                             f"output_dir {output_dir!r}")
        self._table = CsvTable(Path(self.save_file_path))
        self._pending: list[dict[str, Any]] = []  # rows a failed write (full disk...) still owes the file
        self.last_written_path: Path | None = None
        self.fallback_path: Path | None = None

    @property
    def owes_rows(self) -> bool:
        """Whether rows a failed write could not put in the file are still waiting (for the next write or exit)."""
        return bool(self._pending)

    def has_valid_headers(self, data: EmissionsData) -> bool:
        header = read_header(Path(self.save_file_path))
        return header is None or set(header) <= set(data.values)

    def write_row(self, record: dict[str, Any], mode: Optional[str] = None) -> None:
        """Write one total row as ``mode`` says (this output's own mode by default); OSError when it cannot."""
        if (mode or self.on_csv_write) == "update":
            self.last_written_path = self._table.upsert(record)
        else:
            self.last_written_path = self._table.append([record])

    def out(self, total: EmissionsData, delta: EmissionsData) -> None:
        record = dict(total.values)
        try:
            if self.on_csv_write == "update":  # the latest total replaces any row a failed write still owes
                self.last_written_path = self._table.upsert(record)
            else:
                self.last_written_path = self._table.append(self._pending + [record])
            self._pending.clear()
        except OSError as error:
            if self.on_csv_write == "append":
                self._pending.append(record)
            else:  # update: only the latest total of the run matters
                self._pending[:] = [record]
            logger.error("could not write %s (%s); the row is kept and written at the next flush or stop",
                         self.save_file_path, error)

    def task_out(self, data: list[TaskEmissionsData], experiment_name: str) -> None:
        if not data:
            return
        run_id = data[0].run_id
        path = Path(self.output_dir) / task_file_name(str(experiment_name), str(run_id))
        columns = ("task_name",) + tuple(c for c in ALL_COLUMNS if c != "experiment_id")
        text = ",".join(columns) + "\n" + "".join(_row_text(columns, dict(row.values)) for row in data)
        try:  # the file holds this run's tasks, rewritten whole at each flush/stop
            files.atomic_write(path, text, mode=_NEW_FILE_MODE)
        except OSError as error:
            logger.error("could not write the task rows to %s: %s", path, error)

    def exit(self) -> None:
        if not self._pending:
            return
        try:
            if self.on_csv_write == "update":
                self.last_written_path = self._table.upsert(self._pending[-1])
            else:
                self.last_written_path = self._table.append(self._pending)
            self._pending.clear()
            return
        except OSError as error:
            reason = error
        self.fallback_path = save_unwritten(self._pending, self.save_file_path, reason)
        if self.fallback_path is not None:
            self._pending.clear()


def save_unwritten(records: Sequence[dict[str, Any]], intended: str, reason: BaseException) -> Optional[Path]:
    """Put rows that could not reach ``intended`` in a private new file of the state directory; log where."""
    text = ",".join(ALL_COLUMNS) + "\n" + "".join(_row_text(ALL_COLUMNS, r) for r in records)
    try:
        from codecarbon.support.statedir import fallback_dir

        stem = Path(intended).stem or "emissions"
        path = files.unique_file(fallback_dir(), f"{stem}-", ".csv", files.encode_text(text, intended))
    except OSError as error:
        import json

        logger.error("could not write %d row(s) to %s (%s) nor to the state directory (%s); the rows: %s",
                     len(records), intended, reason, error, json.dumps(list(records), default=str))
        return None
    logger.error("could not write %s (%s); %d row(s) saved to %s instead", intended, reason, len(records), path)
    return path
