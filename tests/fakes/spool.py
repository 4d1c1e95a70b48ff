"""Looking into the delivery spool (the per-user state directory) from tests, and tidying the queues after one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest


def spool_files() -> list[Path]:
    from codecarbon.output_methods.spool import spool_root

    return sorted(spool_root().glob("*.jsonl"))


def spooled() -> list[dict]:
    """Every saved payload record ({"id", "run_id", "payload"}), oldest file first."""
    lines = []
    for path in spool_files():
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def forget_queued_payloads() -> None:
    """What a test left queued (a server that kept failing) is not the next test's business."""
    from codecarbon.output_methods import delivery

    with delivery._SENDER.cond:
        for queue in list(delivery._ALL_QUEUES):
            queue._pending.clear()


def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """For a fixture: this test's own state directory (where spools go); queues emptied afterwards."""
    folder = tmp_path / "state"
    monkeypatch.setenv("CODECARBON_STATE_DIR", str(folder))
    yield folder
    forget_queued_payloads()
