"""Crash safety: a live run keeps its latest row on disk, so a kill or a crash loses at most one interval.

While a run goes on, the sampling thread rewrites ``<output_dir>/.codecarbon/runs/<run_id>.json`` (atomically)
with the run's totals so far and the CSV it belongs to. ``stop()`` removes it. The next tracker started with the
same output directory finds checkpoints whose process is gone, appends their rows to their CSV, and deletes them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

from codecarbon.external.logger import logger

FOLDER = Path(".codecarbon") / "runs"


def _hostname() -> str:
    if hasattr(os, "uname"):
        return os.uname().nodename

    return _hostname()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class Checkpoint:
    """The on-disk copy of one live run's latest total row."""

    def __init__(self, output_dir: str, run_id: str, csv_path: str):
        self.path = Path(output_dir) / FOLDER / f"{run_id}.json"
        self.csv_path = os.path.abspath(csv_path)
        self._failed = False

    def save(self, record: dict[str, Any]) -> None:
        """Atomically replace the checkpoint; a failure (read-only dir, full disk) is logged once, not raised."""
        payload = {"pid": os.getpid(), "host": _hostname(), "csv": self.csv_path, "row": record}
        temp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp.write_text(json.dumps(payload, default=str), encoding="utf-8")
            os.replace(temp, self.path)
        except OSError as error:
            if not self._failed:
                self._failed = True
                logger.warning("could not save the run's checkpoint %s: %s", self.path, error)

    def remove(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass


def recover_orphans(output_dir: str) -> list[Path]:
    """Append the rows of runs whose process died before stop() to their CSV; return the files written."""
    from codecarbon.output_methods.file import CsvTable

    folder = Path(output_dir) / FOLDER
    if not folder.is_dir():
        return []
    written: list[Path] = []
    host = _hostname()
    for path in sorted(folder.glob("*.json")):
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            pid: Optional[int] = payload.get("pid")
            if payload.get("host") != host or (pid and _process_alive(pid)):
                continue
            written.append(CsvTable(Path(payload["csv"])).append([payload["row"]]))
            path.unlink()
            logger.warning("recovered run %s, interrupted before stop(), into %s",
                           payload["row"].get("run_id"), payload["csv"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.debug("skipping checkpoint %s: %s", path, error)
    return written
