"""The spool of undelivered payloads: private files, taken by exactly one reader, never through a planted link."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from codecarbon.output_methods import delivery
from codecarbon.output_methods.delivery import DeliveryFailed, DeliveryQueue
from codecarbon.output_methods.spool import Spool, SpooledPayload, spool_root
from codecarbon.support.errors import DeliveryError
from tests.fakes.spool import private_state, spooled


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from private_state(tmp_path, monkeypatch)


def payloads(count: int, run_id: str = "run-1") -> list[SpooledPayload]:
    return [SpooledPayload(f"id-{run_id}-{n}", run_id, {"n": n}) for n in range(count)]


def test_saved_payloads_are_taken_once_even_by_readers_racing_for_them() -> None:
    writer = Spool("http-abc")
    for batch in range(20):
        writer.save(payloads(5, run_id=f"run-{batch}"))
    taken: list[list[SpooledPayload]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def read(slot: int) -> None:
        start.wait()
        taken[slot] = Spool("http-abc").take()

    threads = [threading.Thread(target=read, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [item.id for part in taken for item in part]
    assert len(ids) == 100 and len(set(ids)) == 100
    assert Spool("http-abc").take() == []


def test_each_save_is_a_new_private_file_and_other_keys_are_left_alone() -> None:
    first = Spool("api-1").save(payloads(2))
    second = Spool("api-1").save(payloads(1, "run-2"))
    other = Spool("api-2").save(payloads(1))
    assert first != second and first.parent == spool_root()
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in (first, second, other))
    assert [item.run_id for item in Spool("api-1").take()] == ["run-1", "run-1", "run-2"]
    assert other.exists()


def test_a_link_planted_in_the_spool_is_never_read_nor_followed(tmp_path: Path) -> None:
    secret = tmp_path / "not-ours.txt"
    secret.write_text('{"id": "x", "run_id": "r", "payload": {"stolen": true}}\n')
    planted = spool_root() / "http-abc.00000000000000000001.aaaa.jsonl"
    os.symlink(secret, planted)
    assert Spool("http-abc").take() == []
    assert secret.read_text().startswith('{"id": "x"')


def test_forget_removes_one_payload_and_keeps_the_others() -> None:
    spool = Spool("http-abc")
    path = spool.save(payloads(3))
    spool.forget(path, "id-run-1-1")
    assert [item.id for item in spool.take()] == ["id-run-1-0", "id-run-1-2"]


def test_at_exit_the_spool_is_written_and_no_longer_read() -> None:
    """A delivery thread that reaches the spool after the exit hook saved the queue must not take the file back
    into memory, where the payload would die with the process (it did under load)."""
    def unreachable(payload: dict, timeout_s: float, key: str) -> None:
        raise DeliveryFailed("down")

    queue = DeliveryQueue("exit-race", unreachable)
    try:
        with delivery._SENDER.cond:  # the sender cannot take the payload in flight meanwhile
            queue.submit({"n": 1}, "run-exit")
        delivery._save_everything_at_exit()
        queue._take_spooled(again=True)  # what a delivery thread arriving late does
        assert [r["payload"]["n"] for r in spooled() if r["run_id"] == "run-exit"] == [1]
    finally:
        with delivery._SENDER.cond:
            delivery._SENDER.exiting = False


def test_a_full_queue_saves_its_oldest_payloads_instead_of_growing() -> None:
    def unreachable(payload: dict, timeout_s: float, key: str) -> None:
        raise DeliveryFailed("down")

    queue = DeliveryQueue("http-full", unreachable, max_pending=3)
    # the sender can neither take a payload in flight (the overflow is then the oldest) nor take the spooled ones
    # back for a retry while the spool is read
    with delivery._SENDER.cond:
        futures = [queue.submit({"n": n}, "run-1") for n in range(10)]
        assert queue.pending <= 3
        saved = [record["payload"]["n"] for record in spooled()]
    assert saved == list(range(len(saved))) and len(saved) >= 7  # the oldest went to the spool, in order
    with pytest.raises(DeliveryError, match="saved to"):
        futures[0].result(timeout=0)
