"""Our own state on disk: crash checkpoints, locks, spool and fallback folders, all in the per-user state directory.

Nothing here writes into the user's folders. Every path is under ``codecarbon.support.statedir.state_dir()``
(0700, refused when it belongs to someone else) and per-output-file state is keyed by the file's real path:

- ``runs/<key>/<run_id>.json`` -- the latest total row of a live run writing the CSV ``key`` names: the row's
  static columns once, and two fixed-size slots the sampling thread overwrites in turn with the columns that
  change (see :class:`Checkpoint`); ``stop()`` removes it. A tracker starting on the same CSV recovers the rows of
  runs whose process is gone, exactly once (under ``locks/recover-<key>.lock``), into that CSV only.
- ``locks/`` -- lock files (the machine lock of ``allow_multiple_runs=False``, recoveries).
- ``undelivered/`` -- payloads network outputs could not deliver (see :func:`spool_dir`).
- ``unwritten/`` -- rows that could not be written to their CSV (see :func:`fallback_dir`).

A run is dead only when its process is: same host, and the boot id differs (the machine restarted) or no
process has that pid with that start time (so a restarted container whose new process reuses the pid still
recovers the old run).
"""

from __future__ import annotations

import binascii
import json
import math
import os
import stat
import struct
import sys
from pathlib import Path
from typing import Any, Final, Optional

from codecarbon.external.logger import logger
from codecarbon.support import files
from codecarbon.support.record import Record
from codecarbon.support.statedir import fallback_dir, key_for_path, lock_path, runs_dir, spool_dir  # noqa: F401 - re-exported: their former home

CHECKPOINT_MIN_EVERY_S = 5.0  # a SIGKILL loses at most max(measure_power_secs, this) of a run
_MAX_CHECKPOINT_BYTES = 1 << 20


# --- who is running ------------------------------------------------------------------------------------------------
def hostname() -> str:
    """This machine's name, on every platform (``os.uname`` does not exist on Windows)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # only where uname is missing (Windows): the socket module costs milliseconds to import

    return socket.gethostname()


def boot_id() -> Optional[str]:
    """An id that changes at every boot: Linux's own, else the boot time (psutil) as text."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
                return handle.read().strip() or None
        except OSError:
            pass
    try:
        import psutil

        return f"boot-{int(psutil.boot_time())}"
    except Exception:  # psutil missing or refused: the boot id is unknown
        return None


#: off Linux the boot id is the boot time, which the OS derives from the clock and the uptime: it wobbles by a
#: second or more (and moves with clock steps) while the machine runs. Within this much it is the same boot; the
#: pid and its start time (absolute there) then decide, so a real reboot is still told apart.
BOOT_TIME_TOLERANCE_S = 300


def same_boot(recorded: str, current: str) -> bool:
    """Whether two boot ids name the same boot (Linux's exactly; boot times within the tolerance)."""
    if recorded == current:
        return True
    if recorded.startswith("boot-") and current.startswith("boot-"):
        try:
            return abs(int(recorded[5:]) - int(current[5:])) <= BOOT_TIME_TOLERANCE_S
        except ValueError:
            return False
    return False


def process_start_time(pid: int) -> Optional[str]:
    """When process ``pid`` started, as a comparable token (None when it does not exist or cannot be read)."""
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                text = handle.read()
            return "ticks-" + text[text.rindex(b")") + 2:].split()[19].decode()  # field 22: starttime
        except (OSError, ValueError, IndexError):
            return None
    try:
        import psutil

        return f"t-{psutil.Process(pid).create_time():.2f}"
    except Exception:  # psutil missing, process gone or refused: the start time is unknown
        return None


def _pid_exists(pid: int) -> bool:
    if sys.platform.startswith("win"):  # os.kill would terminate it there
        try:
            import psutil

            return bool(psutil.pid_exists(pid))
        except Exception:  # psutil missing or refused
            return True  # unknown: never take a live run for dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class ProcessIdentity(Record):
    """What tells one process apart from every other, before and after a reboot or a pid reuse."""

    __slots__ = ("pid", "started", "boot", "host")

    def __init__(self, pid: int, started: Optional[str], boot: Optional[str], host: str) -> None:
        self.pid: Final = pid
        self.started: Final = started
        self.boot: Final = boot
        self.host: Final = host

    @classmethod
    def current(cls) -> ProcessIdentity:
        pid = os.getpid()
        return cls(pid, process_start_time(pid), boot_id(), hostname())

    def as_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "started": self.started, "boot": self.boot, "host": self.host}

    @classmethod
    def from_dict(cls, data: Any) -> Optional[ProcessIdentity]:
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int) or not isinstance(data.get("host"), str):
            return None
        started, boot = data.get("started"), data.get("boot")
        return cls(data["pid"], started if isinstance(started, str) else None,
                   boot if isinstance(boot, str) else None, data["host"])

    def is_gone(self) -> bool:
        """True only when this process certainly no longer runs (another host's processes are never gone)."""
        if self.host != hostname():
            return False
        current_boot = boot_id()
        if self.boot and current_boot and not same_boot(self.boot, current_boot):
            return True
        if not _pid_exists(self.pid):
            return True
        if self.started is None:
            return False
        now = process_start_time(self.pid)
        return now is not None and now != self.started


# --- checkpoints ---------------------------------------------------------------------------------------------------
#: the columns of a run's total row that change while it runs (all floats), in the order a tick record packs them;
#: every other column is the same for the whole run and is written once
TICK_COLUMNS = ("duration", "emissions", "emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy",
                "gpu_energy", "ram_energy", "energy_consumed", "water_consumed", "cpu_utilization_percent",
                "gpu_utilization_percent", "ram_utilization_percent", "ram_used_gb", "carbon_intensity")
_TICK_MAGIC = b"cct2"
_TICK_HEAD = struct.Struct(f"<4sQ{len(TICK_COLUMNS)}d32s")  # magic, sequence, the columns, timestamp
_TICK_HEX = 2 * (_TICK_HEAD.size + 4)  # hex text of the record and its CRC-32
_EMPTY_SLOT = "0" * _TICK_HEX


def _encode_tick(sequence: int, values: tuple[float, ...], timestamp: str) -> bytes:
    head = _TICK_HEAD.pack(_TICK_MAGIC, sequence, *values, timestamp.encode("ascii", "replace")[:32])
    return binascii.hexlify(head + struct.pack("<I", binascii.crc32(head)))


def _decode_tick(text: Any) -> Optional[tuple[int, dict[str, Any]]]:
    """(sequence, columns) of one slot, or None when it is empty, torn or not ours."""
    if not isinstance(text, str) or len(text) != _TICK_HEX:
        return None
    try:
        data = binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        return None
    head, (crc,) = data[:-4], struct.unpack("<I", data[-4:])
    if binascii.crc32(head) != crc:
        return None
    magic, sequence, *values, stamp = _TICK_HEAD.unpack(head)
    if magic != _TICK_MAGIC or any(math.isinf(v) for v in values):
        return None
    columns: dict[str, Any] = {k: (None if math.isnan(v) else v) for k, v in zip(TICK_COLUMNS, values, strict=True)}
    try:
        columns["timestamp"] = stamp.rstrip(b"\0").decode("ascii")
    except UnicodeDecodeError:
        return None
    return sequence, columns


def tick_values(row: dict[str, Any]) -> tuple[float, ...]:
    """The changing columns of ``row`` as a tick record packs them (None as NaN)."""
    values = []
    for name in TICK_COLUMNS:
        value = row.get(name)
        values.append(float(value) if isinstance(value, (int, float)) else math.nan)
    return tuple(values)


class Checkpoint:
    """The on-disk copy of one live run's latest total row, for the CSV it belongs to.

    The file is JSON: the row as it was at the first save (its static columns are the run's) and two slots of
    fixed-size hex text, ``ticks``, each a record of the changing columns (:data:`TICK_COLUMNS` and the
    timestamp) with a sequence number and a CRC-32. A checkpoint (:meth:`save_tick`) overwrites the older slot
    in one small ``pwrite``; nothing else is rebuilt or written. A slot torn by a kill mid-write fails its CRC
    and the other one is used; recovery applies the newest valid slot to the row. :meth:`save` rewrites the
    whole file (first save, or when a static column changed), padded with spaces to the longest content so far:
    no truncation step a kill could interrupt. The file is created once (``O_EXCL | O_NOFOLLOW``, 0600) under
    a ``.part`` name and renamed when its first content is in, so a kill never leaves an empty checkpoint."""

    def __init__(self, csv_path: str | os.PathLike[str], run_id: str, mode: str = "append"):
        self.csv_path = os.path.realpath(os.fspath(csv_path))
        self.run_id = run_id
        self.mode = mode
        self._identity = ProcessIdentity.current().as_dict()
        self._failed = False
        self._fd: Optional[int] = None
        self._size = 0
        self._sequence = 0
        self._slots: Optional[tuple[int, int]] = None  # byte offsets of the two tick slots once the row is written
        try:
            self.path: Optional[Path] = runs_dir(self.csv_path) / f"{run_id}.json"
        except OSError as error:
            self.path = None
            logger.warning("no crash checkpoint for this run (state directory unusable: %s)", error)

    @property
    def has_row(self) -> bool:
        """True once a full row is on disk, so :meth:`save_tick` suffices."""
        return self._slots is not None

    def save(self, record: dict[str, Any]) -> None:
        """Write the whole checkpoint: ``record`` (a total row) and both tick slots from it. Never raises."""
        if self.path is None:
            return
        self._sequence += 1
        tick = _encode_tick(self._sequence, tick_values(record), str(record.get("timestamp") or "")).decode()
        payload = {"version": 2, "process": self._identity, "uid": _uid(), "csv": self.csv_path,
                   "mode": self.mode, "run_id": self.run_id, "row": record}
        head = json.dumps(payload, default=str, separators=(",", ":"))[:-1].encode("utf-8") + b',"ticks":["'
        data = head + tick.encode() + b'","' + tick.encode() + b'"]}'
        if self._write(data.ljust(self._size, b" "), 0):
            self._size = max(self._size, len(data))
            self._slots = (len(head), len(head) + _TICK_HEX + 3)

    def save_tick(self, values: tuple[float, ...], timestamp: str) -> bool:
        """Overwrite the older slot with the changing columns (:data:`TICK_COLUMNS` order) and the timestamp.

        False (nothing written) before the first :meth:`save`. A failure is logged once, never raised."""
        slots = self._slots
        if slots is None:
            return False
        self._sequence += 1
        self._write(_encode_tick(self._sequence, values, timestamp), slots[self._sequence & 1])
        return True

    def _write(self, data: bytes, offset: int) -> bool:
        try:
            if self._fd is None and os.name == "nt":  # pragma: no cover - an open file cannot be renamed there
                assert self.path is not None
                self._fd = files.open_no_follow(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            if self._fd is None:  # the first save: the file appears under its name complete, never empty
                assert self.path is not None
                partial = self.path.with_name(self.path.name + ".part")
                fd = files.open_no_follow(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    _write_at(fd, data, offset)
                    os.replace(partial, self.path)
                except OSError:
                    os.close(fd)
                    partial.unlink(missing_ok=True)
                    raise
                self._fd = fd
                return True
            _write_at(self._fd, data, offset)
            return True
        except OSError as error:
            if not self._failed:
                self._failed = True
                logger.warning("could not save the run's checkpoint %s: %s", self.path, error)
            return False

    def remove(self) -> None:
        fd, self._fd = self._fd, None
        self._slots = None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        if self.path is not None:
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                pass


def _write_at(fd: int, data: bytes, offset: int) -> None:
    if hasattr(os, "pwrite"):
        written = os.pwrite(fd, data, offset)
    else:  # pragma: no cover - Windows
        os.lseek(fd, offset, os.SEEK_SET)
        written = os.write(fd, data)
    if written != len(data):
        raise OSError(f"short write ({written} of {len(data)} bytes)")


def _uid() -> Optional[int]:
    return os.getuid() if hasattr(os, "getuid") else None


def _read_checkpoint(path: Path, csv_path: str) -> Optional[dict[str, Any]]:
    """The checkpoint's content, its row brought up to its newest tick, when it is ours and names ``csv_path``;
    None for anything else."""
    fd = files.open_no_follow(path, os.O_RDONLY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_CHECKPOINT_BYTES:
            return None
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return None
        data = os.read(fd, _MAX_CHECKPOINT_BYTES + 1)
    finally:
        os.close(fd)
    payload = json.loads(data.decode("utf-8"))
    if not isinstance(payload, dict) or payload.get("csv") != csv_path or payload.get("uid") != _uid():
        return None
    row = payload.get("row")
    if not isinstance(row, dict) or path.stem != payload.get("run_id") or row.get("run_id") != path.stem:
        return None
    if not all(isinstance(k, str) and (v is None or isinstance(v, (str, int, float))) for k, v in row.items()):
        return None
    ticks = payload.get("ticks")
    if isinstance(ticks, list):  # version 2: the newest intact slot holds the changing columns
        decoded = [t for t in map(_decode_tick, ticks) if t is not None]
        if decoded:
            row.update(max(decoded, key=lambda t: t[0])[1])
    return payload


def recover_orphans(csv_path: str | os.PathLike[str], write_row: Any) -> list[str]:
    """Write the rows of dead runs that were writing ``csv_path``, each exactly once; returns their run ids.

    ``write_row(row, mode)`` writes one row into that CSV (it never chooses another file). Several trackers
    starting together serialise on one lock per CSV: the first recovers, the others find nothing left."""
    real = os.path.realpath(os.fspath(csv_path))
    try:
        folder = runs_dir(real)
        lock = files.FileLock(lock_path(f"recover-{key_for_path(real)}"))
        if not any(folder.glob("*.json")):
            return []
        if not lock.acquire(timeout_s=10.0):
            return []
    except OSError as error:
        logger.debug("no recovery of interrupted runs: %s", error)
        return []
    recovered: list[str] = []
    try:
        for path in sorted(folder.glob("*.json")):
            try:
                payload = _read_checkpoint(path, real)
                if payload is None:
                    logger.warning("ignoring checkpoint %s: not this user's, or not for %s", path, real)
                    continue
                identity = ProcessIdentity.from_dict(payload.get("process"))
                if identity is None or not identity.is_gone():
                    continue
                row = payload["row"]
                if _already_written(real, str(row["run_id"]), row.get("duration")):
                    path.unlink()  # its process died between writing the run's row and removing this file
                    logger.debug("checkpoint %s: the run's row is in %s already", path, real)
                    continue
                write_row(row, payload.get("mode", "append"))
                path.unlink()
                recovered.append(payload["run_id"])
                logger.warning("recovered run %s, interrupted before stop(), into %s", payload["run_id"], real)
            except (OSError, ValueError, KeyError, TypeError) as error:
                logger.debug("skipping checkpoint %s: %s", path, error)
    finally:
        lock.release()
    return recovered


def _already_written(csv_path: str, run_id: str, duration: Any) -> bool:
    """Whether the CSV holds a row of ``run_id`` at least as long as the checkpoint's.

    Then the run's final row (or a later flush's) reached the file before its process died -- a second signal
    can land between writing the row and removing the checkpoint -- and writing the checkpoint's row would put
    an older total after it (append) or over it (update). The file is searched in place (mmap) for the run id;
    only the lines holding it are parsed."""
    if not run_id or isinstance(duration, bool) or not isinstance(duration, (int, float)):
        return False
    import csv
    import mmap

    try:
        fd = files.open_no_follow(csv_path, os.O_RDONLY)
    except OSError:
        return False
    try:
        size = os.fstat(fd).st_size
        if not size or not files.is_regular_file(fd):
            return False
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as data:
            header_end = data.find(b"\n")
            if header_end < 0:
                return False
            header = next(csv.reader([data[:header_end].decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r")]),
                          [])
            if "run_id" not in header or "duration" not in header:
                return False
            id_at, duration_at = header.index("run_id"), header.index("duration")
            needle = run_id.encode("utf-8", "replace")
            found = data.find(needle, header_end)
            while found >= 0:
                start = data.rfind(b"\n", 0, found) + 1
                end = data.find(b"\n", found)
                end = size if end < 0 else end
                row = next(csv.reader([data[start:end].decode("utf-8", "replace").rstrip("\r")]), [])
                if len(row) > max(id_at, duration_at) and row[id_at] == run_id:
                    try:
                        if float(row[duration_at]) >= float(duration):
                            return True
                    except ValueError:
                        pass
                found = data.find(needle, end)
    except (OSError, ValueError):
        return False
    finally:
        os.close(fd)
    return False
