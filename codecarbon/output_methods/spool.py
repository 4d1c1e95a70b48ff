"""Payloads a network output could not deliver, kept in the per-user state directory until a later send.

Why here and not in ``output_dir``: the user's folders hold only what the outputs wrote. Each endpoint has a key
(the output kind and a hash of what identifies the endpoint); each save writes a new file
``<state>/undelivered/<key>.<time>.<random>.jsonl``, created 0600 with O_EXCL and O_NOFOLLOW
(:mod:`codecarbon.support.files`), so two processes never write into one file and a planted link is never
followed. A reader takes files by renaming them (atomic: exactly one process gets each), so one saved payload is
re-sent by one tracker only. Every line keeps the payload's idempotency id, so a service that already got it can
tell.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from codecarbon.external.logger import logger
from codecarbon.support import files

SUBDIR = "undelivered"
_CLAIMED = ".claimed"
MAX_FILE_BYTES = 64 * 1024 * 1024  # a spool file larger than this is not ours to load into memory


@dataclass(frozen=True)
class SpooledPayload:
    """One undelivered payload: ``id`` is its idempotency id, sent again unchanged."""

    id: str
    run_id: str
    payload: dict[str, Any]


def spool_root() -> Path:
    """``<state dir>/undelivered``, created 0700 on first use."""
    from codecarbon.support.statedir import state_dir

    return state_dir(SUBDIR)


class Spool:
    """The undelivered payloads of one endpoint (``key``); safe to use from several processes at once."""

    def __init__(self, key: str, root: Optional[Path] = None) -> None:
        self.key = key
        self._root = root
        if root is None:
            try:  # fixed when the output is built: payloads saved at exit go where this run's state is
                self._root = spool_root()
            except OSError as error:
                logger.debug("state directory not usable yet for %s: %s", key, error)

    @property
    def folder(self) -> Path:
        if self._root is None:
            self._root = spool_root()
        return self._root

    def save(self, items: list[SpooledPayload]) -> Path:
        """Write ``items`` to a new file of this key and return its path (OSError when that is impossible)."""
        lines = "".join(json.dumps({"id": i.id, "run_id": i.run_id, "payload": i.payload},
                                   allow_nan=False, default=str) + "\n" for i in items)
        return files.unique_file(self.folder, f"{self.key}.{time.time_ns():020d}.", ".jsonl", lines.encode("utf-8"))

    def files(self) -> list[Path]:
        """This key's unclaimed files, oldest first."""
        try:
            return sorted(p for p in self.folder.glob(f"{self.key}.*.jsonl") if p.is_file() and not p.is_symlink())
        except OSError:
            return []

    def has_files(self) -> bool:
        return bool(self.files())

    def take(self) -> list[SpooledPayload]:
        """Claim every file of this key (each goes to one caller only), read and remove them; oldest first."""
        taken: list[SpooledPayload] = []
        for path in self.files():
            claimed = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{_CLAIMED}")
            try:
                os.rename(path, claimed)
            except OSError:
                continue  # another process took it first
            try:
                text = files.read_bytes_no_follow(claimed, MAX_FILE_BYTES + 1).decode("utf-8")
                if len(text) > MAX_FILE_BYTES:
                    raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
                for line in text.splitlines():
                    if line.strip():
                        record = json.loads(line)
                        taken.append(SpooledPayload(str(record["id"]), str(record["run_id"]),
                                                    dict(record["payload"])))
                os.unlink(claimed)
            except (OSError, ValueError, KeyError, TypeError) as error:
                logger.error("could not read undelivered payloads in %s (%s); the file is left as it is",
                             claimed, error)
        return taken

    def forget(self, path: Path, item_id: str) -> None:
        """Drop one payload from a file it was saved in, once it arrived after all (so it is not sent twice)."""
        claimed = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{_CLAIMED}")
        try:
            os.rename(path, claimed)  # taken like a reader would, so no reader sees a half-edited file
        except OSError:
            return  # already taken by a reader: the service sees the same idempotency id again
        try:
            lines = files.read_bytes_no_follow(claimed, MAX_FILE_BYTES).decode("utf-8").splitlines(keepends=True)
            kept = [line for line in lines if _line_id(line) != item_id]
            if kept:
                files.atomic_write(path, "".join(kept), 0o600)
            os.unlink(claimed)
        except (OSError, UnicodeDecodeError):
            try:
                os.rename(claimed, path)
            except OSError:
                pass


def _line_id(line: str) -> Optional[str]:
    try:
        return str(json.loads(line)["id"])
    except (ValueError, KeyError, TypeError):
        return None
