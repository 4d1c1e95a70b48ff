"""The delivery queue: getting payloads to network services without ever getting in the user's way.

Network outputs (HTTP, CodeCarbon API, Prometheus Pushgateway) hand each payload to their :class:`DeliveryQueue`
and return at once with a :class:`concurrent.futures.Future` for it. One daemon thread per process (started with a
payload, ended when no payload is queued or waits for a retry) delivers every queue's payloads, oldest first, one
request at a time, retrying with exponential backoff while the process lives. Each payload carries an idempotency
id (a UUID4, sent as ``Idempotency-Key``), unchanged across retries and later runs, so a service can tell a payload
it already has.

``drain(timeout_s)`` blocks until everything queued so far is delivered or the bound expires; what is left then
goes to the :mod:`~codecarbon.output_methods.spool` (per-user state directory) and the path is logged once. A
payload saved while its request was still in flight and that arrives after all is removed from the spool again,
so it is not sent twice. While a drain is running, backoff waits shrink and each request is cut at the drain's
deadline, so one bound holds for all the outputs of a tracker. The spool of an endpoint is sent again by the next
queue for that endpoint (this process or a later one) once that queue has work (the delivery thread takes it over
before the queue's first payload, or its first drain does), never by a constructor; and after the endpoint
answers again.

Payloads never hold credentials: outputs add headers and auth when sending; logged URLs lose their user info.
"""

from __future__ import annotations

import atexit
import hashlib
import math
import os
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from codecarbon.external.logger import log_once, logger
from codecarbon.output_methods.spool import Spool, SpooledPayload
from codecarbon.support import http
from codecarbon.support.errors import DeliveryError

DEFAULT_DELIVERY_TIMEOUT_SECS = 2.0  # the shared bound at flush() and stop()
REQUEST_TIMEOUT_SECS = 5.0  # one request when no drain is waiting on it
MAX_PENDING_PER_QUEUE = 1000
FIRST_RETRY_DELAY_SECS = 0.5
MAX_RETRY_DELAY_SECS = 60.0
DRAINING_RETRY_DELAY_SECS = 0.25
MAX_ANSWER_BYTES = 64 * 1024
MAX_IDLE_WAIT_SECS = 60.0  # the sender's longest sleep while a retry waits (submits and drains wake it at once)
IDEMPOTENCY_HEADER = "Idempotency-Key"
_RETRYABLE_4XX = (401, 403, 408, 425, 429)  # fixable credentials or a busy server

redact_url = http.redact_url


class DeliveryFailed(DeliveryError):
    """A payload did not reach its service. ``retryable=False``: the service refused it for good."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


def retryable_status(status: int) -> bool:
    return status >= 500 or status in _RETRYABLE_4XX


def channel_key(kind: str, *identity: str) -> str:
    """A file-name-safe key for an endpoint: the output kind plus a short hash of what identifies it."""
    digest = hashlib.sha256("\x00".join(identity).encode("utf-8")).hexdigest()[:12]
    return f"{kind}-{digest}"


def json_safe(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy that strict JSON accepts: NaN and infinities become null, other odd types their str()."""
    safe: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            safe[name] = None
        elif value is None or isinstance(value, (str, int, float, bool, list, dict)):
            safe[name] = value
        else:
            safe[name] = str(value)
    return safe


def post_json(url: str, body: Any, *, timeout_s: float, idempotency_key: str,
              headers: Optional[Mapping[str, str]] = None) -> http.Response:
    """POST ``body`` as JSON with its idempotency id; the 2xx answer, else DeliveryFailed."""
    sent = dict(headers or {})
    sent[IDEMPOTENCY_HEADER] = idempotency_key
    try:
        answer = http.request("POST", url, json=body, headers=sent, timeout_s=timeout_s,
                              max_body_bytes=MAX_ANSWER_BYTES)
    except http.HttpError as error:
        if error.status is not None and 200 <= error.status < 300:
            return http.Response(error.status, {}, b"")  # accepted; only its answer was too large to read
        raise DeliveryFailed(str(error)) from None
    if not answer.ok:
        raise DeliveryFailed(f"HTTP {answer.status} from {redact_url(url)}",
                             retryable=retryable_status(answer.status))
    return answer


#: ``deliver(payload, timeout_s, idempotency_key)`` sends one payload; raises DeliveryFailed when it did not arrive.
Deliver = Callable[[dict[str, Any], float, str], None]


@dataclass(eq=False)
class _Item:
    payload: dict[str, Any]
    run_id: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    future: Future = field(default_factory=Future)
    attempts: int = 0
    not_before: float = 0.0
    finished: bool = False  # delivered, or refused for good: never to be sent again
    spooled_in: Optional[Path] = None


def _resolve(future: Future, delivered: bool, error: Optional[BaseException] = None) -> None:
    if future.done():
        return
    if delivered:
        future.set_result(True)
    else:
        future.set_exception(error or DeliveryError("not delivered"))


def _follow(superseded: Future, newer: Future) -> None:
    """A snapshot replaced by a newer one ends as the newer one does."""
    def copy(done: Future) -> None:
        error = done.exception()
        _resolve(superseded, error is None, error)

    newer.add_done_callback(copy)


class DeliveryQueue:
    """One output's ordered lane to one endpoint, with its spool.

    ``coalesce=True`` keeps only the newest pending payload (snapshots such as a Pushgateway push).
    ``prepare_for_spool`` may add what a later process needs to a payload before it is saved.
    """

    def __init__(self, key: str, deliver: Deliver, *, description: str = "", coalesce: bool = False,
                 prepare_for_spool: Optional[Callable[[dict[str, Any]], dict[str, Any]]] = None,
                 spool: Optional[Spool] = None, max_pending: int = MAX_PENDING_PER_QUEUE) -> None:
        self.key = key
        self.description = description or key
        self.spool = spool or Spool(key)
        self._deliver = deliver
        self._coalesce = coalesce
        self._prepare_for_spool = prepare_for_spool
        self._max_pending = max_pending
        self._pending: deque[_Item] = deque()
        self._inflight: Optional[_Item] = None
        self._draining_until = 0.0
        self._recheck_spool = False
        # what earlier runs saved for this endpoint is taken over by the delivery thread when this queue gets its
        # first payload, or by the first drain(): never here, so making an output costs no disk read nor thread.
        # "unread" → "reading" → "read"; nothing of this queue is sent until then, so saved payloads go first
        self._spool_state = "unread"
        self.delivered = 0
        _ALL_QUEUES.add(self)

    # ---- the user's side: never blocks on the network, never raises -------------------------------------------

    def submit(self, payload: dict[str, Any], run_id: str) -> Future:
        """Queue one payload; its future ends True when delivered, or with DeliveryError when saved or refused."""
        item = _Item(payload=payload, run_id=run_id or "unknown")
        overflow: list[_Item] = []
        with _SENDER.cond:
            if self._coalesce:
                for old in [i for i in self._pending if i is not self._inflight]:
                    self._pending.remove(old)
                    _follow(old.future, item.future)
            self._pending.append(item)
            while len(self._pending) > self._max_pending and self._pending[0] is not self._inflight:
                overflow.append(self._pending.popleft())
            _SENDER.register(self)
        if overflow:
            path = self._save(overflow, "is not keeping up")
            if path is not None:
                log_once(f"delivery-overflow:{self.key}", 30, "%s is not keeping up; payloads saved to %s and "
                         "sent later", self.description, path)
        return item.future

    def drain(self, timeout_s: float) -> bool:
        """Wait until what is queued now is delivered, at most ``timeout_s``; save the rest. True: all arrived."""
        deadline = time.monotonic() + max(0.0, float(timeout_s))
        if self._spool_state == "unread":  # a run that ends before sending anything still re-sends what was saved
            self._take_spooled()
        with _SENDER.cond:
            while self._spool_state == "reading" and deadline > time.monotonic():  # the thread is reading it
                _SENDER.cond.wait(deadline - time.monotonic())
            items = list(self._pending)
            if not items:
                return True
            self._draining_until = max(self._draining_until, deadline)
            _SENDER.expedite(deadline)
        wait_for_futures([i.future for i in items], timeout=max(0.0, deadline - time.monotonic()))
        with _SENDER.cond:  # only what is still queued: a concurrent drain may be saving the rest already
            leftovers = [i for i in items if not i.future.done() and i in self._pending]
            for item in leftovers:
                self._pending.remove(item)
            if self._draining_until <= deadline:
                self._draining_until = 0.0
        if leftovers:
            path = self._save(leftovers, "could not be delivered")
            if path is not None:
                logger.warning("%d payload(s) for %s could not be delivered within %.1f s; saved to %s and sent "
                               "again later", len(leftovers), self.description, timeout_s, path)
        return all(i.future.done() and i.future.exception() is None for i in items)

    def close(self, timeout_s: float) -> bool:
        """drain() before the output goes away (the queue stays usable: a restarted tracker sends again)."""
        return self.drain(timeout_s)

    @property
    def pending(self) -> int:
        with _SENDER.cond:
            return len(self._pending)

    # ---- the sender thread's side ---------------------------------------------------------------------------

    def _ready_item(self, now: float) -> Optional[_Item]:
        if self._inflight is None and self._pending and self._pending[0].not_before <= now \
                and self._spool_state == "read":
            return self._pending[0]
        return None

    def _next_time(self) -> float:
        if self._spool_state != "read":
            return math.inf  # the spool's reader notifies when it is done
        return self._pending[0].not_before if self._pending and self._inflight is None else math.inf

    def _attempt(self, item: _Item) -> None:
        """Try one payload; called by the sender thread with the lock released."""
        now = time.monotonic()
        cutoff = _SENDER.drain_deadline(now)
        timeout = REQUEST_TIMEOUT_SECS if cutoff is None else max(0.05, min(REQUEST_TIMEOUT_SECS, cutoff - now))
        outcome: Optional[DeliveryFailed] = None
        try:
            self._deliver(item.payload, timeout, item.id)
        except DeliveryFailed as error:
            outcome = error
        except Exception as error:  # a bug in an output must not kill the sender
            outcome = DeliveryFailed(f"{type(error).__name__}: {error}")
        with _SENDER.cond:
            self._inflight = None
            queued = item in self._pending
            saved_in = None
            if outcome is None:
                self.delivered += 1
            if outcome is None or not outcome.retryable:
                item.finished = True
                saved_in = item.spooled_in  # arrived (or refused for good) after it was saved: not sent again
                if queued:
                    self._pending.remove(item)
            else:
                item.attempts += 1
                delay = min(MAX_RETRY_DELAY_SECS, FIRST_RETRY_DELAY_SECS * 2 ** (item.attempts - 1))
                if _SENDER.drain_deadline(time.monotonic()) is not None:
                    delay = min(delay, DRAINING_RETRY_DELAY_SECS)
                item.not_before = time.monotonic() + delay
            recheck = outcome is None and self._recheck_spool
            self._recheck_spool = self._recheck_spool and not recheck
            _SENDER.cond.notify_all()
        if saved_in is not None:
            self.spool.forget(saved_in, item.id)
        if outcome is None:
            _resolve(item.future, True)
            if recheck:
                self._take_spooled(again=True)
            return
        if outcome.retryable:
            if queued:
                log_once(f"delivery-retry:{self.key}", 30, "%s: %s; retrying in the background",
                         self.description, outcome)
            return
        # logged before the future ends: whoever waits on it (a drain) finds the reason in the log already
        logger.error("%s refused a payload for good (%s); it is not sent again", self.description, outcome)
        _resolve(item.future, False, outcome)

    # ---- the spool ------------------------------------------------------------------------------------------

    def _save(self, items: list[_Item], why: str) -> Optional[Path]:
        """Spool items that leave the queue undelivered; return the file (None when even that failed)."""
        records = []
        for item in items:
            payload = item.payload
            if self._prepare_for_spool is not None:
                payload = self._prepare_for_spool(payload)
            records.append(SpooledPayload(item.id, item.run_id, payload))
        try:
            path: Optional[Path] = self.spool.save(records)
        except (OSError, TypeError, ValueError) as error:
            logger.error("%s: %d payload(s) could neither be delivered nor saved (%s)", self.description,
                         len(items), error)
            path = None
        with _SENDER.cond:
            late = []
            for item in items:
                item.spooled_in = path
                if item.finished:
                    late.append(item)
            self._recheck_spool = self._recheck_spool or path is not None
        for item in items:
            _resolve(item.future, False, DeliveryError(f"{self.description}: {why}; saved to {path}"
                                                       if path else f"{self.description}: {why}; lost"))
        if path is not None:
            for item in late:  # its request completed while it was being saved
                self.spool.forget(path, item.id)
        return path

    def _take_spooled(self, again: bool = False) -> None:
        """Take over what earlier runs (or this one) saved for this endpoint; it goes out before newer payloads.

        Once per queue (the delivery thread or the first drain, whichever comes first), and ``again`` after the
        endpoint answers once more, for what this process saved meanwhile."""
        with _SENDER.cond:
            if (self._spool_state != "unread" and not again) or _SENDER.exiting:
                return  # at exit the spool is written, never read: what is read now would die with the process
            self._spool_state = "reading"
        try:
            self._insert_spooled()
        finally:
            with _SENDER.cond:
                self._spool_state = "read"
                _SENDER.cond.notify_all()

    def _insert_spooled(self) -> None:
        try:
            taken = self.spool.take()
        except OSError as error:
            log_once(f"spool-unreadable:{self.key}", 40, "%s: saved payloads cannot be read (%s)",
                     self.description, error)
            return
        if not taken:
            return
        logger.info("re-sending %d payload(s) saved earlier for %s", len(taken), self.description)
        with _SENDER.cond:
            if self._coalesce:
                if self._pending:
                    return  # a newer snapshot is queued already: the saved ones are obsolete
                taken = taken[-1:]
            start = 1 if self._inflight is not None and self._pending and self._pending[0] is self._inflight else 0
            for offset, record in enumerate(taken):
                self._pending.insert(start + offset, _Item(payload=record.payload, run_id=record.run_id,
                                                           id=record.id))
            _SENDER.register(self)


_ALL_QUEUES: weakref.WeakSet[DeliveryQueue] = weakref.WeakSet()


class _Sender:
    """The one background thread that delivers for every queue: draining queues first, else round robin."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self._queues: list[DeliveryQueue] = []
        self._thread: Optional[threading.Thread] = None
        self._next = 0
        self._expedite_until = 0.0
        self.exiting = False  # set by the exit hook: from then on the spool is only written

    def register(self, queue: DeliveryQueue) -> None:
        """Add a queue (lock held) and make sure the thread runs."""
        if queue not in self._queues:
            self._queues.append(queue)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="codecarbon-delivery", daemon=True)
            self._thread.start()
        self.cond.notify_all()

    def expedite(self, deadline: float) -> None:
        """A drain is waiting until ``deadline`` (lock held): retry now, cut requests at the deadline."""
        self._expedite_until = max(self._expedite_until, deadline)
        now = time.monotonic()
        for queue in self._queues:
            for item in queue._pending:
                item.not_before = min(item.not_before, now)
        self.cond.notify_all()

    def drain_deadline(self, now: float) -> Optional[float]:
        return self._expedite_until if self._expedite_until > now else None

    def _pick(self) -> Optional[tuple[DeliveryQueue, _Item]]:
        now = time.monotonic()
        draining = sorted((q for q in self._queues if q._draining_until > now), key=lambda q: q._draining_until)
        for queue in draining:
            item = queue._ready_item(now)
            if item is not None:
                queue._inflight = item
                return queue, item
        count = len(self._queues)
        for step in range(count):
            queue = self._queues[(self._next + step) % count]
            item = queue._ready_item(now)
            if item is not None:
                self._next = (self._next + step + 1) % count
                queue._inflight = item
                return queue, item
        return None

    def _run(self) -> None:
        """Deliver until nothing is left: no payload queued, none waiting for a retry. Then the thread ends (the
        next payload starts another), so no thread of ours outlives the work, even when an endpoint is dead."""
        while True:
            with self.cond:
                unread = [] if self.exiting else [q for q in self._queues if q._spool_state == "unread"]
            for queue in unread:  # disk reads, with the lock released
                queue._take_spooled()
            with self.cond:
                if not self.exiting and any(q._spool_state == "unread" for q in self._queues):
                    continue
                self._queues = [q for q in self._queues if q._pending or q._spool_state == "reading"]
                picked = self._pick()
                if picked is None:
                    if not self._queues:
                        self._thread = None  # register() starts a new one for the next payload
                        return
                    wake = min((q._next_time() for q in self._queues), default=math.inf)
                    self.cond.wait(min(MAX_IDLE_WAIT_SECS, max(0.01, wake - time.monotonic())))
                    continue
            queue, item = picked
            queue._attempt(item)


_SENDER = _Sender()


EXIT_READ_WAIT_SECS = 2.0  # at exit, how long a spool read in progress may take to put its payloads back


def _save_everything_at_exit() -> None:
    """At interpreter exit, whatever is still queued goes to the spool (no network here).

    No spool read starts after this begins, and one in progress is waited for (bounded): a delivery thread that
    took a file, this one included, would otherwise hold its payloads in memory as the process ends."""
    with _SENDER.cond:
        _SENDER.exiting = True
        _SENDER.cond.wait_for(lambda: not any(q._spool_state == "reading" for q in _ALL_QUEUES),
                              timeout=EXIT_READ_WAIT_SECS)
    for queue in list(_ALL_QUEUES):
        with _SENDER.cond:
            items = list(queue._pending)
            queue._pending.clear()
        if items:
            path = queue._save(items, "was still queued at exit")
            if path is not None:
                logger.warning("%d payload(s) for %s were still queued at exit; saved to %s",
                               len(items), queue.description, path)


def _forget_parent_deliveries() -> None:
    """In a forked child: no sender thread and none of the parent's payloads (the parent delivers them)."""
    global _SENDER
    _SENDER = _Sender()
    for queue in list(_ALL_QUEUES):
        queue._pending = deque()
        queue._inflight = None
        if queue._spool_state == "reading":  # the parent's thread was reading it; the parent sends it
            queue._spool_state = "read"
        queue._draining_until = 0.0


atexit.register(_save_everything_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_deliveries)
