"""Getting payloads to network services without ever getting in the user's way.

Network outputs (HTTP, CodeCarbon API, Prometheus Pushgateway) hand each payload to a :class:`Channel` and return
at once. One daemon thread per process (started on the first send) delivers every channel's payloads in order,
with a per-request timeout and exponential backoff between retries. ``Channel.close()`` — called from an output's
``exit()`` — waits for what is still pending, but never past a deadline shared by the outputs of one tracker (a
:class:`StopWindow`), so a ``stop()`` with several unreachable services returns within one
``delivery_timeout_secs``.

What could not be delivered is not dropped: it is written as JSON lines to
``<output_dir>/.codecarbon/undelivered/<channel>-<run_id>.jsonl``, the path is logged once, and the next channel
with the same key (the same output and endpoint, in any later process) sends those lines first. Payloads never
hold credentials: outputs add headers and auth at send time, and URLs are logged without user info or query.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecarbon.external.logger import log_once, logger

DEFAULT_DELIVERY_TIMEOUT_SECS = 5.0
MAX_PENDING_PER_CHANNEL = 1000
FIRST_RETRY_DELAY_SECS = 0.5
MAX_RETRY_DELAY_SECS = 60.0
UNDELIVERED_SUBDIR = Path(".codecarbon") / "undelivered"
_NON_RETRYABLE_OK = (401, 403, 408, 425, 429)  # 4xx worth keeping: fixable credentials or a busy server


class DeliveryFailed(Exception):
    """A payload did not reach its service. ``retryable=False`` means the service refused it for good."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment: safe to log."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def channel_key(kind: str, *identity: str) -> str:
    """A file-name-safe key for a channel: the output kind plus a short hash of what identifies the endpoint."""
    digest = hashlib.sha256("\x00".join(identity).encode("utf-8")).hexdigest()[:10]
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


def post_json(url: str, body: Any, headers: Mapping[str, str] | None = None,
              timeout: float = DEFAULT_DELIVERY_TIMEOUT_SECS) -> tuple[int, bytes]:
    """POST ``body`` as JSON; return (status, response body) for a 2xx answer, else raise DeliveryFailed."""
    data = json.dumps(body, allow_nan=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - user-chosen URL
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()
        retryable = status >= 500 or status in _NON_RETRYABLE_OK
        raise DeliveryFailed(f"HTTP {status} from {redact_url(url)}", retryable=retryable) from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryFailed(f"{redact_url(url)} unreachable: {reason}") from None


@dataclass
class _Item:
    payload: dict[str, Any]
    run_id: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    attempts: int = 0
    not_before: float = 0.0


Deliver = Callable[[dict[str, Any], float], None]


class StopWindow:
    """One bound shared by the outputs of one tracker at stop(): the first close() opens it, the others join.

    New payloads reopen it, so a tracker that is started and stopped again gets a fresh bound each time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadline: float | None = None

    def deadline(self, timeout: float) -> float:
        now = time.monotonic()
        with self._lock:
            if self._deadline is None:
                self._deadline = now + timeout
            return min(self._deadline, now + timeout)

    def reopen(self) -> None:
        with self._lock:
            self._deadline = None


class Channel:
    """One output's ordered lane to one endpoint: payloads go out oldest first, one at a time.

    ``deliver(payload, timeout)`` sends one payload and raises :class:`DeliveryFailed` when it did not arrive.
    ``coalesce=True`` keeps only the newest pending payload (for snapshots such as a Pushgateway push).
    """

    def __init__(self, key: str, deliver: Deliver, *, output_dir: str | os.PathLike[str] = ".",
                 timeout: float = DEFAULT_DELIVERY_TIMEOUT_SECS, description: str = "",
                 coalesce: bool = False, prepare_for_spool: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                 stop_window: StopWindow | None = None):
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 <= timeout < math.inf:
            raise ValueError(f"delivery_timeout_secs must be a number of seconds >= 0, got {timeout!r}")
        self.key = key
        self.description = description or key
        self.timeout = float(timeout)  # the bound on close(); 0: save what is pending without waiting
        self.request_timeout = self.timeout or DEFAULT_DELIVERY_TIMEOUT_SECS
        self.spool_dir = Path(output_dir) / UNDELIVERED_SUBDIR
        self._deliver = deliver
        self._window = stop_window or StopWindow()
        self._coalesce = coalesce
        self._prepare_for_spool = prepare_for_spool
        self._pending: deque[_Item] = deque()
        self._inflight: _Item | None = None
        self._closing = False
        self._closed = False
        self._deadline = math.inf
        self._spooled: dict[str, Path] = {}  # item id -> file, for items saved while still in flight
        self.delivered = 0
        self._load_spooled()

    # ---- the user's side: never blocks, never raises ----------------------------------------------------

    def submit(self, payload: dict[str, Any], run_id: str, *, closing: bool = False) -> None:
        """Queue one payload for delivery and return at once (``closing``: a last payload sent from exit())."""
        item = _Item(payload=payload, run_id=run_id or "unknown")
        overflow: list[_Item] = []
        if not closing:
            self._window.reopen()
        with _SENDER.cond:
            self._closed = self._closing = False  # a tracker started again after stop() sends again
            self._deadline = math.inf
            if self._coalesce:
                self._pending = deque(i for i in self._pending if i is self._inflight)
            self._pending.append(item)
            while len(self._pending) > MAX_PENDING_PER_CHANNEL:
                oldest = self._pending.popleft() if self._pending[0] is not self._inflight else None
                if oldest is None:
                    break
                overflow.append(oldest)
            _SENDER.register(self)
        if overflow:
            path = self._persist(overflow)
            if path is not None:
                log_once(f"delivery-overflow:{self.key}", 30,
                         "%s is not keeping up; payloads saved to %s and sent by a later run",
                         self.description, path)

    def close(self, timeout: float | None = None) -> bool:
        """Wait (bounded) for pending payloads; save the rest to the undelivered file. True when all arrived."""
        deadline = self._window.deadline(self.timeout if timeout is None else timeout)
        with _SENDER.cond:
            self._closing = True
            self._deadline = deadline
            for item in self._pending:
                item.not_before = min(item.not_before, time.monotonic())
            _SENDER.cond.notify_all()
            while self._pending and time.monotonic() < deadline:
                _SENDER.cond.wait(max(0.01, deadline - time.monotonic()))
            leftovers = list(self._pending)
            self._pending.clear()
            self._closed = True
            _SENDER.unregister(self)
        if not leftovers:
            return True
        path = self._persist(leftovers)
        if path is not None:
            logger.warning("%d payload(s) for %s could not be delivered in %.1f s; saved to %s and sent again "
                           "by the next run that uses this output", len(leftovers), self.description,
                           self.timeout if timeout is None else timeout, path)
        return False

    @property
    def pending(self) -> int:
        with _SENDER.cond:
            return len(self._pending)

    # ---- the sender thread's side -----------------------------------------------------------------------

    def _ready_item(self, now: float) -> _Item | None:
        if self._inflight is None and self._pending and self._pending[0].not_before <= now:
            return self._pending[0]
        return None

    def _next_time(self) -> float:
        return self._pending[0].not_before if self._pending and self._inflight is None else math.inf

    def _attempt(self, item: _Item) -> None:
        """Try one payload; called by the sender thread with the lock released."""
        timeout = self.request_timeout
        if self._closing:
            timeout = max(0.05, min(timeout, self._deadline - time.monotonic()))
        outcome: DeliveryFailed | None = None
        try:
            self._deliver(item.payload, timeout)
        except DeliveryFailed as error:
            outcome = error
        except Exception as error:  # a bug in an output must not kill the sender
            outcome = DeliveryFailed(f"{type(error).__name__}: {error}")
        with _SENDER.cond:
            self._inflight = None
            if outcome is None or not outcome.retryable:
                if self._pending and self._pending[0] is item:
                    self._pending.popleft()
                if outcome is None:
                    self.delivered += 1
            else:
                item.attempts += 1
                delay = min(MAX_RETRY_DELAY_SECS, FIRST_RETRY_DELAY_SECS * 2 ** (item.attempts - 1))
                item.not_before = time.monotonic() + (min(delay, 0.25) if self._closing else delay)
            saved_in = self._spooled.pop(item.id, None)
            _SENDER.cond.notify_all()
        if outcome is None:
            if saved_in is not None:
                _forget_line(saved_in, item.id)
            return
        if outcome.retryable:
            log_once(f"delivery-retry:{self.key}", 30, "%s: %s; retrying in the background",
                     self.description, outcome)
        else:
            logger.error("%s refused a payload for good (%s); it is not sent again", self.description, outcome)

    # ---- the undelivered files --------------------------------------------------------------------------

    def _persist(self, items: list[_Item]) -> Path | None:
        """Append items to their run's undelivered file; return one path written (for the log line)."""
        written: Path | None = None
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            by_run: dict[str, list[_Item]] = {}
            for item in items:
                by_run.setdefault(item.run_id, []).append(item)
            for run_id, group in by_run.items():
                path = self.spool_dir / f"{self.key}-{_safe_name(run_id)}.jsonl"
                lines = []
                for item in group:
                    payload = item.payload
                    if self._prepare_for_spool is not None:
                        payload = self._prepare_for_spool(payload)
                    lines.append(json.dumps({"id": item.id, "run_id": item.run_id, "payload": payload}) + "\n")
                with open(path, "a", encoding="utf-8") as handle:
                    handle.writelines(lines)
                with _SENDER.cond:
                    for item in group:
                        if item is self._inflight:
                            self._spooled[item.id] = path
                written = path
        except (OSError, TypeError, ValueError) as error:
            logger.error("%s: %d payload(s) could neither be delivered nor saved under %s (%s)",
                         self.description, len(items), self.spool_dir, error)
            return None
        return written

    def _load_spooled(self) -> None:
        """Take over undelivered files an earlier run left for this key; their payloads go out first."""
        if not self.spool_dir.is_dir():
            return
        loaded: list[_Item] = []
        for path in sorted(self.spool_dir.glob(f"{self.key}-*.jsonl"), key=_mtime):
            claimed = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.claimed")
            try:
                os.rename(path, claimed)  # atomic: exactly one process takes each file
            except OSError:
                continue
            try:
                with open(claimed, encoding="utf-8") as handle:
                    for line in handle:
                        if line.strip():
                            record = json.loads(line)
                            loaded.append(_Item(payload=record["payload"], run_id=str(record["run_id"]),
                                                id=str(record.get("id") or uuid.uuid4().hex)))
                claimed.unlink()
                logger.info("re-sending payloads saved by an earlier run for %s (from %s)", self.description, path)
            except (OSError, ValueError, KeyError, TypeError) as error:
                logger.error("could not read undelivered payloads in %s (%s); the file is left as it is",
                             claimed, error)
        if loaded and self._coalesce:
            loaded = loaded[-1:]  # snapshots: only the newest still matters
        if loaded:
            with _SENDER.cond:
                self._pending.extend(loaded)
                _SENDER.register(self)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:100] or "unknown"


def _forget_line(path: Path, item_id: str) -> None:
    """Drop a payload from an undelivered file once it arrived after all (no double sending later)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
        kept = [line for line in lines if f'"id": "{item_id}"' not in line]
        if len(kept) == len(lines):
            return
        if kept:
            temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temp.write_text("".join(kept), encoding="utf-8")
            os.replace(temp, path)
        else:
            path.unlink()
    except OSError:
        pass  # the payload may be sent twice; servers see the same payload id


class _Sender:
    """The one background thread that delivers for every channel, round robin."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self._channels: list[Channel] = []
        self._thread: threading.Thread | None = None
        self._next = 0

    def register(self, channel: Channel) -> None:
        """Add a channel (lock held) and make sure the thread runs."""
        if channel not in self._channels:
            self._channels.append(channel)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="codecarbon-delivery", daemon=True)
            self._thread.start()
            atexit.register(_save_everything_at_exit)
        self.cond.notify_all()

    def unregister(self, channel: Channel) -> None:
        if channel in self._channels:
            self._channels.remove(channel)

    def _pick(self) -> tuple[Channel, _Item] | None:
        now = time.monotonic()
        count = len(self._channels)
        for step in range(count):
            channel = self._channels[(self._next + step) % count]
            item = channel._ready_item(now)
            if item is not None:
                self._next = (self._next + step + 1) % count
                channel._inflight = item
                return channel, item
        return None

    def _run(self) -> None:
        while True:
            with self.cond:
                picked = self._pick()
                while picked is None:
                    wake = min((c._next_time() for c in self._channels), default=math.inf)
                    self.cond.wait(min(1.0, max(0.01, wake - time.monotonic())))
                    picked = self._pick()
            channel, item = picked
            channel._attempt(item)

    def channels(self) -> list[Channel]:
        with self.cond:
            return list(self._channels)


_SENDER = _Sender()


def _save_everything_at_exit() -> None:
    """At interpreter exit, whatever is still queued goes to the undelivered files (no network here)."""
    for channel in _SENDER.channels():
        with _SENDER.cond:
            items = list(channel._pending)
            channel._pending.clear()
            channel._closed = True
        if items:
            path = channel._persist(items)
            if path is not None:
                logger.warning("%d payload(s) for %s were still queued at exit; saved to %s",
                               len(items), channel.description, path)
