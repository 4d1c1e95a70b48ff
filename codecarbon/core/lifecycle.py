"""How live trackers end when their process does: interpreter exit, SIGTERM, and fork.

- **Exit.** An ``atexit`` hook stops every tracker this process started and did not stop, so its row is written.
  The stops run on a helper thread joined with a bound: an output that hangs cannot hang the exit (the run's
  checkpoint then stays, and the next tracker on the same CSV recovers it).
- **SIGTERM** (taken only when nobody else handles it). A signal handler runs between two bytecodes of whatever
  the main thread was doing -- maybe our own CSV write, holding its lock -- so it does nothing that can wait: it
  puts the default disposition back (a second signal ends the process at once) and starts one bare thread
  (``_thread.start_new_thread``: no lock of the ``threading`` module, which the interrupted code may hold) that
  stops the live trackers (bounded, as at exit) and sends the signal again, so the process still ends by it. No
  thread waits for a signal that may never come: a run costs no thread of ours for it (issue 16). SIGINT keeps
  Python's own handling (``KeyboardInterrupt``); ``with`` blocks and the exit hook write the row, every wait on the
  way being bounded.
- **Fork.** A child forked while a tracker runs (``os.fork``, ``multiprocessing`` with fork, a ``Pool``) inherits
  the tracker object but not its threads. It must never act for the parent's run: the tracker remembers the pid
  that started it and does nothing in another one; the child forgets the registry and the handler.
"""

from __future__ import annotations

import _thread
import atexit
import os
import signal
import threading
import weakref
from typing import Any, Protocol

from codecarbon.external.logger import logger

EXIT_BOUND_S = 8.0  # how long the exit hook or a SIGTERM waits for the live trackers to write their rows
HANDLED_SIGNALS = ("SIGTERM",)


class Stoppable(Protocol):
    def _stop_for_exit(self, bound_s: float) -> None: ...


class _State:
    """Everything this module keeps per process (a forked child starts over)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.trackers: dict[int, weakref.ref[Any]] = {}
        self.atexit_registered = False
        self.handlers: dict[int, Any] = {}  # signal number -> the disposition we replaced (always SIG_DFL)
        self.exit_busy = False  # a signal's stop is under way


_state = _State()


def register(tracker: Stoppable) -> None:
    """A tracker started in this process: stop it at exit or on SIGTERM if nobody does before."""
    state = _state
    with state.lock:
        state.trackers[id(tracker)] = weakref.ref(tracker)
        if not state.atexit_registered:
            atexit.register(_at_exit)
            state.atexit_registered = True
    _install_signal_handlers()


def unregister(tracker: Stoppable) -> None:
    """A tracker stopped: nothing of ours waits for it any more."""
    state = _state
    with state.lock:
        state.trackers.pop(id(tracker), None)


def live_trackers() -> list[Any]:
    """The trackers this process started and has not stopped (none in a forked child)."""
    state = _state
    if state.pid != os.getpid():
        return []
    found = []
    for ref in list(state.trackers.values()):
        tracker = ref()
        if tracker is not None:
            found.append(tracker)
    return found


def stop_all(bound_s: float = EXIT_BOUND_S) -> bool:
    """Stop every live tracker within ``bound_s`` (on a helper thread); False when some did not finish."""
    trackers = live_trackers()
    if not trackers:
        return True

    def stop_them() -> None:
        for tracker in trackers:
            try:
                tracker._stop_for_exit(bound_s)
            except Exception as error:  # pragma: no cover - the tracker's own boundary logs
                logger.error("stopping a tracker at exit failed: %s", error)

    worker = threading.Thread(target=stop_them, name="codecarbon-exit-stop", daemon=True)
    try:
        worker.start()
    except RuntimeError:  # some Pythons refuse new threads this late in the exit: stop them here then
        stop_them()
        return True
    worker.join(bound_s)
    if worker.is_alive():
        logger.warning("the tracker did not finish writing within %.0f s of the exit; its checkpoint is kept and "
                       "the next tracker writing the same CSV recovers the run", bound_s)
        return False
    return True


def _at_exit() -> None:
    if _state.pid == os.getpid():
        stop_all()


# --- signals -------------------------------------------------------------------------------------------------------
def _install_signal_handlers() -> None:
    """Take SIGTERM when its disposition is still the default, from the main thread only (Python's rule)."""
    state = _state
    if threading.current_thread() is not threading.main_thread():
        return
    for name in HANDLED_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None or signum in state.handlers:
            continue
        try:
            if signal.getsignal(signum) is not signal.SIG_DFL:
                continue  # somebody else's: leave it
            signal.signal(signum, _on_signal)
            state.handlers[signum] = signal.SIG_DFL
        except (ValueError, OSError) as error:
            logger.debug("not handling %s: %s", name, error)


def _on_signal(signum: int, frame: Any) -> None:
    """The signal handler: restore the default, hand the stop to a new bare thread; nothing that can block."""
    state = _state
    try:
        signal.signal(signum, signal.SIG_DFL)
    except (ValueError, OSError):  # pragma: no cover - we are in the main thread
        pass
    if state.pid != os.getpid() or not state.trackers or state.exit_busy:
        os.kill(os.getpid(), signum)  # nothing of ours to finish: the default action, now
        return
    state.exit_busy = True
    try:
        _thread.start_new_thread(_stop_then_resignal, (signum,))
    except Exception:  # no thread to be had: the default action, now
        os.kill(os.getpid(), signum)


def _stop_then_resignal(signum: int) -> None:
    """Stop the live trackers (bounded), then let the signal end the process."""
    try:
        logger.info("signal %d received: writing the run's row before the process ends", signum)
        stop_all()
    finally:
        os.kill(os.getpid(), signum)  # its disposition is the default again: the process ends by it


# --- fork ----------------------------------------------------------------------------------------------------------
def _after_fork_in_child() -> None:
    """The child owns no run: forget the parent's trackers and signal handler."""
    global _state
    parent = _state
    child = _State()
    child.atexit_registered = parent.atexit_registered  # the atexit hook is inherited; it checks the pid
    for signum in parent.handlers:
        try:
            if signal.getsignal(signum) is _on_signal:
                signal.signal(signum, signal.SIG_DFL)
        except (ValueError, OSError):
            pass  # the handler checks the pid too
    _state = child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
