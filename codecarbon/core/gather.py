"""One total for the job at ``stop()``, where the job already runs ``torch.distributed``.

Never a process group of our own and never a collective: a collective that some rank does not join would hang
that rank or pair with the user's next collective. The ranks instead leave their totals in the key-value store
of the existing default group (the rendezvous store every process of the group shares): a non-zero rank writes
one key and goes on; rank 0 reads what arrives within a small bound (``job_gather_timeout_secs``, 2 s by
default) and reports the ranks that were missing. torch is never imported here: where the application has not
imported ``torch.distributed`` there is no group to use.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from typing import Any, Optional

from codecarbon.core.job_totals import TOTAL_KEYS, job_totals
from codecarbon.external.logger import logger

#: stop() calls so far per (store, rank): the n-th stop of every rank meets under the same keys
_rounds: dict[tuple[int, int], itertools.count] = {}
_rounds_lock = threading.Lock()


def _next_round(store: Any, rank: int) -> int:
    with _rounds_lock:
        return next(_rounds.setdefault((id(store), rank), itertools.count()))


def initialised_distributed() -> Any:
    """The application's ``torch.distributed`` when it is imported, available and initialised; else None."""
    module = sys.modules.get("torch.distributed")
    if module is None:
        return None
    try:
        if not module.is_available() or not module.is_initialized():
            return None
    except Exception:  # torch.distributed's state, read from another library: unknown means no gathering
        return None
    return module


def _default_store(dist: Any) -> Any:
    c10d = getattr(dist, "distributed_c10d", None)
    getter = getattr(c10d, "_get_default_store", None) or getattr(dist, "_get_default_store", None)
    if getter is None:
        return None
    try:
        return getter()
    except Exception as error:  # no store is reachable: no gathering
        logger.debug("no store in the default process group: %s", error)
        return None


def _summary(total: Any) -> dict[str, Any]:
    values = total.values
    entry: dict[str, Any] = {name: float(values.get(name) or 0.0) for name in TOTAL_KEYS}
    entry["node_name"] = values.get("node_name", "")
    entry["timestamp"] = values.get("timestamp", "")
    entry["attribution"] = values.get("attribution", "")
    return entry


def _in_thread(work: Any, timeout_s: float) -> None:
    """Run store calls on a daemon thread: a store whose server is gone must not hold stop() past the bound."""
    worker = threading.Thread(target=work, name="codecarbon-gather", daemon=True)
    worker.start()
    worker.join(timeout_s)


def gather_job_totals(total: Any, timeout_s: float, dist: Any = None) -> Optional[dict[str, Any]]:
    """On rank 0: the job's totals (`core.job_totals`: energies summed, each node's wall time) from the ranks
    that answered within the bound; on the other ranks (and outside torch.distributed): None, after handing
    over their own totals."""
    dist = dist if dist is not None else initialised_distributed()
    if dist is None or timeout_s <= 0:
        return None
    try:
        rank, world = int(dist.get_rank()), int(dist.get_world_size())
    except Exception as error:  # torch.distributed's own errors vary by backend: no gathering
        logger.debug("torch.distributed rank unknown: %s", error)
        return None
    store = _default_store(dist)
    if store is None:
        logger.debug("the default process group exposes no store: the job's totals are not gathered")
        return None
    prefix = f"codecarbon/stop/{_next_round(store, rank)}"
    mine = _summary(total)
    if rank != 0:
        def hand_over() -> None:
            try:
                store.set(f"{prefix}/{rank}", json.dumps(mine))
            except Exception as error:  # the store's errors vary by backend; rank 0 then waits its bound and goes on
                logger.debug("could not hand this rank's totals to rank 0: %s", error)

        _in_thread(hand_over, timeout_s)
        return None

    deadline = time.monotonic() + timeout_s
    ranks: dict[int, dict[str, Any]] = {0: mine}

    def collect() -> None:
        pending = set(range(1, world))
        while pending:
            for other in sorted(pending):
                key = f"{prefix}/{other}"
                try:
                    if store.check([key]):
                        ranks[other] = json.loads(store.get(key))
                        pending.discard(other)
                        try:
                            store.delete_key(key)
                        except Exception:  # clean-up of a key already read: failure changes nothing
                            pass
                except Exception as error:  # the store's errors vary by backend; this rank is reported missing
                    logger.debug("reading rank %d's totals failed: %s", other, error)
                    pending.discard(other)
            if not pending or time.monotonic() >= deadline:
                return
            time.sleep(0.01)

    _in_thread(collect, max(0.0, deadline - time.monotonic()) + 0.2)
    answered = dict(ranks)  # the worker may still be adding: take what is there now
    job: dict[str, Any] = {"world_size": world, "ranks_reported": sorted(answered),
                           "missing_ranks": [r for r in range(world) if r not in answered],
                           **job_totals(answered.values())}
    from codecarbon.viz.text import energy_text, mass_text

    logger.info("job total over %d of %d ranks: %s, %s CO2eq%s", len(answered), world,
                energy_text(job["total"]["energy_consumed"]), mass_text(job["total"]["emissions"]),
                f" (no answer from ranks {job['missing_ranks']})" if job["missing_ranks"] else "")
    return job
