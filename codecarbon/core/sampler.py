"""One sampling thread and the cumulative readings that every window is a difference of.

Each reading takes every source's cumulative energy, the machine's utilisation and the carbon intensity of the
moment, and folds them into running totals. A window (the run, a task, the time since the last flush) is the
difference of two readings, so it is exact whatever its length and nothing is counted twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Final, Optional

from codecarbon.external.logger import logger
from codecarbon.hardware.base import EnergySource, Utilization
from codecarbon.support.record import Record

COMPONENTS = ("cpu", "gpu", "ram")
#: as ``core.units.JOULES_PER_KWH``, written here: importing ``core.units`` would build its five dataclasses
JOULES_PER_KWH = 3_600_000.0


class Reading(Record):
    """Cumulative totals at one instant since the sampler was opened (energies before PUE).

    A ``Record`` rather than a dataclass: no class to build on the path to ``start()``; read-only (``Final``)."""

    __slots__ = ("at", "wall", "joules", "emissions_kg", "cpu_util_s", "gpu_util_s", "ram_util_s", "ram_used_gb_s",
                 "ticks")

    def __init__(self, at: float, wall: float, joules: dict[str, float], emissions_kg: float, cpu_util_s: float,
                 gpu_util_s: float, ram_util_s: float, ram_used_gb_s: float, ticks: int) -> None:
        self.at: Final = at  # time.monotonic()
        self.wall: Final = wall  # time.time()
        self.joules: Final = joules
        self.emissions_kg: Final = emissions_kg  # PUE applied
        self.cpu_util_s: Final = cpu_util_s  # ∫ cpu% dt
        self.gpu_util_s: Final = gpu_util_s
        self.ram_util_s: Final = ram_util_s
        self.ram_used_gb_s: Final = ram_used_gb_s
        self.ticks: Final = ticks


class Window(Record):
    """The difference of two readings, in the units the rows use (read-only, as ``Reading``)."""

    __slots__ = ("duration", "energy_kwh", "power_w", "emissions_kg", "cpu_utilization_percent",
                 "gpu_utilization_percent", "ram_utilization_percent", "ram_used_gb")

    def __init__(self, duration: float, energy_kwh: dict[str, float], power_w: dict[str, float], emissions_kg: float,
                 cpu_utilization_percent: float, gpu_utilization_percent: float, ram_utilization_percent: float,
                 ram_used_gb: float) -> None:
        self.duration: Final = duration
        self.energy_kwh: Final = energy_kwh  # PUE applied
        self.power_w: Final = power_w  # PUE applied, mean over the window
        self.emissions_kg: Final = emissions_kg
        self.cpu_utilization_percent: Final = cpu_utilization_percent
        self.gpu_utilization_percent: Final = gpu_utilization_percent
        self.ram_utilization_percent: Final = ram_utilization_percent
        self.ram_used_gb: Final = ram_used_gb

    @property
    def energy_consumed(self) -> float:
        return sum(self.energy_kwh.values())

    def with_emissions(self, emissions_kg: float) -> Window:
        """This window with another carbon figure (what ``dataclasses.replace(window, emissions_kg=...)`` did)."""
        return self._replaced(emissions_kg=emissions_kg)  # type: ignore[no-any-return]


def window_between(start: Reading, end: Reading, pue: float) -> Window:
    duration = max(end.at - start.at, 0.0)
    energy = {c: (end.joules[c] - start.joules[c]) * pue / JOULES_PER_KWH for c in COMPONENTS}
    power = {c: (energy[c] * JOULES_PER_KWH / duration if duration > 0 else 0.0) for c in COMPONENTS}

    def mean(attr: str) -> float:
        return (getattr(end, attr) - getattr(start, attr)) / duration if duration > 0 else 0.0

    return Window(duration, energy, power, end.emissions_kg - start.emissions_kg, mean("cpu_util_s"),
                  mean("gpu_util_s"), mean("ram_util_s"), mean("ram_used_gb_s"))


def continued(earlier_start: Reading, earlier_end: Reading, now: Reading) -> Reading:
    """The start a resumed run is measured from: ``now`` moved back by everything the earlier stretch
    (``earlier_start`` to ``earlier_end``, of a sampler since closed) holds, so a window from it to any later
    reading is the earlier stretch plus the new one. The time between the two stretches counts for nothing."""
    def back(attr: str) -> float:
        return getattr(now, attr) - (getattr(earlier_end, attr) - getattr(earlier_start, attr))

    return Reading(at=back("at"), wall=back("wall"),
                   joules={c: now.joules[c] - (earlier_end.joules[c] - earlier_start.joules[c]) for c in COMPONENTS},
                   emissions_kg=back("emissions_kg"), cpu_util_s=back("cpu_util_s"), gpu_util_s=back("gpu_util_s"),
                   ram_util_s=back("ram_util_s"), ram_used_gb_s=back("ram_used_gb_s"), ticks=now.ticks)


class _Totals:
    """The sampler's running sums (mutable; a plain class with slots, see ``Reading``)."""

    __slots__ = ("joules", "emissions_kg", "cpu_util_s", "gpu_util_s", "ram_util_s", "ram_used_gb_s", "ticks")

    def __init__(self) -> None:
        self.joules: dict[str, float] = dict.fromkeys(COMPONENTS, 0.0)
        self.emissions_kg = 0.0
        self.cpu_util_s = 0.0
        self.gpu_util_s = 0.0
        self.ram_util_s = 0.0
        self.ram_used_gb_s = 0.0
        self.ticks = 0


#: The charging seam: kg CO2eq of ``kwh`` (PUE applied) used between two wall-clock instants (epoch seconds).
#: The sampler calls it once per reading with the energy since the previous one; how the energy is split across
#: grid-intensity intervals is the charger's business (see ``codecarbon.intensity.charger``).
Charge = Callable[[float, float, float], float]

READ_TIMEOUT_S = 2.0  # an on-demand reading waits at most this long for a hardware read
LATE_TICKS_WARNING = 10  # this many ticks in a row longer than the interval: the machine cannot keep up; say so


class _Abandoned(Exception):
    """The sampling thread came back from a read it had been given up on; its tick is void."""


class Sampler:
    """Reads sources on one daemon thread every ``interval`` seconds and on demand.

    While the thread runs, every reading is taken on it (on-demand ones too: the caller waits for its result with
    a bound), so a hardware read that hangs can delay a ``stop()`` by ``read_timeout_s`` at most: the source
    being read is dropped and the caller gets the latest reading there is."""

    def __init__(self, sources: Sequence[EnergySource], *, interval: float,
                 intensity_g_per_kwh: Optional[Callable[[], float]] = None, pue: float = 1.0,
                 utilization: Optional[Callable[[], Utilization]] = None,
                 on_tick: Optional[Callable[[Reading], None]] = None,
                 read_timeout_s: float = READ_TIMEOUT_S, charge: Optional[Charge] = None,
                 wake_every: Optional[float] = None):
        self.sources = list(sources)
        self.interval = interval
        #: seconds between two ticks of the thread: ``interval`` unless the caller knows that nobody needs a
        #: reading that often (cumulative counters read at the window's ends give the same energy)
        self.wake_every = interval if wake_every is None else max(interval, wake_every)
        self.pue = pue
        self._intensity = intensity_g_per_kwh
        self._charge: Charge = charge if charge is not None else self._charge_at_intensity
        self._last_wall = 0.0
        self._utilization = utilization
        self._on_tick = on_tick
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._totals = _Totals()
        self._last_source_joules: list[float] = []
        self._last_at = 0.0
        self._failed: set[int] = set()
        self._failed_reason: dict[int, BaseException] = {}
        self.read_timeout_s = read_timeout_s
        # the thread's one wait per tick: a bare lock held while nothing is asked of the thread, released to wake
        # it (cheaper than an Event, which allocates a waiter lock and takes a condition at every wait)
        self._wake = threading.Lock()
        self._wake.acquire()
        self._gpu_indices: list[int] = []
        self._by_component: list[tuple[str, list[int]]] = []
        self._requests: list[Future[Reading]] = []
        self._requests_lock = threading.Lock()
        self._reading_source: Optional[int] = None  # the source being read right now (to drop it if it hangs)
        self._latest: Optional[Reading] = None
        # when the thread hangs in a source, callers take over the readings (under their own lock) and the
        # thread, should it ever come back, discards what it was doing: the generation tells it
        self._generation = 0
        self._stuck = False
        self._rescue_lock = threading.Lock()
        self._thread_object: Optional[threading.Thread] = None

    # --- readings -------------------------------------------------------------------------------------------
    def open(self) -> Reading:
        """Baseline every source and return the reading every later one is measured from."""
        with self._lock:
            self._totals = _Totals()
            self._failed.clear()
            self._failed_reason.clear()
            for index, source in enumerate(self.sources):
                try:
                    source.open()
                except Exception as error:  # a source that cannot open is dropped; the others go on
                    self._drop(index, source, error)
            self._last_source_joules = [0.0] * len(self.sources)
            self._gpu_indices = [i for i, s in enumerate(self.sources) if s.component == "gpu"]
            self._by_component = [(c, [i for i, s in enumerate(self.sources) if s.component == c])
                                  for c in COMPONENTS if any(s.component == c for s in self.sources)]
            self._last_at = time.monotonic()
            self._last_wall = time.time()
            if self._utilization is not None:
                self._safe_utilization()  # primes the CPU-time deltas
            self._latest = self._reading(self._last_at, self._last_wall)
            return self._latest

    @property
    def latest(self) -> Optional[Reading]:
        """The most recent reading taken (None before ``open()``)."""
        return self._latest

    def read(self, timeout: Optional[float] = None) -> Reading:
        """Take a reading now (from any thread) and fold it into the totals, waiting ``timeout`` at most.

        A source that does not answer in time is dropped; the result is then the latest reading there is."""
        bound = self.read_timeout_s if timeout is None else timeout
        if self._stuck:
            return self._rescue_read()
        thread = self._thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            if not self._lock.acquire(timeout=bound):
                return self._on_read_timeout()
            try:
                return self._read_locked()
            finally:
                self._lock.release()
        request: Future[Reading] = Future()
        with self._requests_lock:
            self._requests.append(request)
        self._signal_wake()
        try:
            return request.result(timeout=bound)
        except FutureTimeout:
            request.cancel()
            return self._on_read_timeout()

    def _signal_wake(self) -> None:
        """Wake the thread now (idempotent, from any thread)."""
        try:
            self._wake.release()
        except RuntimeError:  # woken already, not yet waiting again
            pass

    def _on_read_timeout(self) -> Reading:
        index = self._reading_source
        if index is None:  # stuck elsewhere (a slow tick callback): its reading is the latest there is
            latest = self._latest
            if latest is None:  # pragma: no cover - open() always sets it
                raise TimeoutError("no reading available")
            return latest
        self._drop(index, self.sources[index], TimeoutError(f"no answer within {self.read_timeout_s} s"))
        self._generation += 1
        self._stuck = True
        return self._rescue_read()

    def _rescue_read(self) -> Reading:
        """A reading on the caller's thread while the sampling thread hangs in a dropped source."""
        with self._rescue_lock:
            return self._read_locked()

    def _read_locked(self) -> Reading:
        generation = self._generation
        totals = self._totals
        joules = totals.joules
        last_joules = self._last_source_joules
        failed = self._failed
        new_joules = 0.0
        for index, source in enumerate(self.sources):
            if failed and index in failed:
                continue
            self._reading_source = index
            try:
                cumulative = float(source.read_joules())
            except Exception as error:  # sources should not raise; if one does, it is dropped
                self._drop(index, source, error)
                continue
            finally:
                self._reading_source = None
            if generation != self._generation:  # given up on while it hung: a rescuer took over
                raise _Abandoned()
            if failed and index in failed:
                continue
            step = cumulative - last_joules[index]
            if step < 0:  # a source broke its contract; never subtract energy
                step = 0.0
            else:
                last_joules[index] = cumulative
            new_joules += step
        # a component's energy is its sources' latest cumulative figures, not a sum of steps: the same to the last
        # digit however often the counters were read (floating-point steps would not telescope exactly)
        for component, indices in self._by_component:
            joules[component] = sum([last_joules[i] for i in indices])
        now = time.monotonic()  # after the reads: estimators integrate up to about here
        wall = time.time()
        dt = now - self._last_at
        if new_joules > 0:
            totals.emissions_kg += self._safe_charge(self._last_wall, wall, new_joules * self.pue / JOULES_PER_KWH)
        self._last_wall = wall
        if dt > 0:
            if self._utilization is not None:
                sample = self._safe_utilization()
                if sample is not None:
                    totals.cpu_util_s += sample.cpu_percent * dt
                    totals.ram_util_s += sample.ram_percent * dt
                    totals.ram_used_gb_s += sample.ram_used_gb * dt
            if self._gpu_indices:
                gpu = self._gpu_utilization()
                if gpu is not None:
                    totals.gpu_util_s += gpu * dt
        totals.ticks += 1
        self._last_at = now
        self._latest = self._reading(now, wall)
        return self._latest

    def _reading(self, now: float, wall: float) -> Reading:
        t = self._totals
        return Reading(now, wall, dict(t.joules), t.emissions_kg, t.cpu_util_s, t.gpu_util_s,
                       t.ram_util_s, t.ram_used_gb_s, t.ticks)

    def _drop(self, index: int, source: EnergySource, error: BaseException) -> None:
        if index in self._failed:
            return
        self._failed.add(index)
        self._failed_reason[index] = error
        logger.warning("stopped reading %s energy (%s): %s; the other sources go on",
                       source.component, source.method, error)

    def _charge_at_intensity(self, _start: float, _end: float, kwh: float) -> float:
        """The charge of a sampler given one intensity callable: the figure of the moment times the energy."""
        return kwh * self._safe_intensity() / 1000.0

    def _safe_charge(self, start: float, end: float, kwh: float) -> float:
        try:
            return float(self._charge(start, end, kwh))
        except Exception as error:  # the sampling loop's boundary: a charger's failure never loses the energy
            logger.warning("carbon intensity unavailable (%s); using the world average 475 g/kWh", error)
            return kwh * 475.0 / 1000.0

    def _safe_intensity(self) -> float:
        try:
            if self._intensity is None:
                raise ValueError("no intensity given to the sampler")
            return float(self._intensity())
        except Exception as error:  # the intensity callable is the tracker's resolver: a tick never fails on it
            logger.warning("carbon intensity unavailable (%s); using the world average 475 g/kWh", error)
            return 475.0

    def _safe_utilization(self) -> Optional[Utilization]:
        try:
            return self._utilization() if self._utilization else None
        except Exception as error:  # a utilisation sample is optional: a tick never fails on it
            logger.debug("utilisation sample failed: %s", error)
            return None

    def _gpu_utilization(self) -> Optional[float]:
        values = []
        sources, failed = self.sources, self._failed
        for index in self._gpu_indices:
            if index in failed:
                continue
            try:
                value = sources[index].utilization_percent()
            except Exception:  # a source's utilisation is optional: a tick never fails on it
                value = None
            if value is not None:
                values.append(value)
        return sum(values) / len(values) if values else None

    # --- the thread -------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = self._thread_object = threading.Thread(target=self._run, name="codecarbon-sampler",
                                                              daemon=True)
        self._thread.start()

    def stop(self, timeout: Optional[float] = None) -> None:
        """End the thread, waiting ``timeout`` at most (``read_timeout_s`` by default) for a tick to finish."""
        self._stop.set()
        self._signal_wake()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread() and not self._stuck:
            thread.join(timeout=self.read_timeout_s if timeout is None else timeout)  # a stuck one never ends

    def close(self) -> None:
        for index, source in enumerate(self.sources):
            if index in self._failed and isinstance(self._failed_reason.get(index), TimeoutError):
                continue  # a source that hangs may hang in close() too
            try:
                source.close()
            except Exception as error:  # closing one source never keeps the others open
                logger.debug("closing %s source failed: %s", source.method, error)

    def _serve_requests(self) -> None:
        if not self._requests:  # a request appended after this look wakes the thread again: none is missed
            return
        with self._requests_lock:
            requests, self._requests = self._requests, []
        requests = [r for r in requests if r.set_running_or_notify_cancel()]
        if not requests:
            return
        try:
            reading = self.read_now()
        except BaseException as error:  # abandoned: the callers have their rescue readings already
            for request in requests:
                request.set_exception(error)
            return
        for request in requests:
            request.set_result(reading)

    def read_now(self) -> Reading:
        with self._lock:
            if self._stuck and threading.current_thread() is self._thread_object:
                raise _Abandoned()
            return self._read_locked()

    def _run(self) -> None:
        late_warned = False
        late, late_since = 0, 0.0  # consecutive readings that ended after the next was due, since when
        monotonic, wait, stopping = time.monotonic, self._wake.acquire, self._stop.is_set
        on_tick = self._on_tick
        next_tick = monotonic() + self.interval  # the first tick comes at the interval (the first checkpoint)
        while True:
            interval = self.wake_every  # the tracker may lengthen it during the run (its location found)
            delay = next_tick - monotonic()
            if delay > 0:
                wait(True, delay)  # woken early (a request, stop) or at the tick
            if self._requests:
                self._serve_requests()
            if stopping():
                self._serve_requests()
                return
            started = monotonic()
            if started < next_tick:
                continue
            try:
                reading = self.read_now()
                if on_tick is not None:
                    on_tick(reading)
            except _Abandoned:
                return
            except Exception as error:  # the thread never dies from a tick
                logger.warning("sampling tick failed: %s", error)
            done = monotonic()
            # late: this reading ended after the next was due (slow reads, or a machine too busy to wake us)
            if done - next_tick > interval:
                late, late_since = (late + 1, late_since) if late else (1, next_tick)
            else:
                late = 0
            next_tick = max(next_tick + interval, done + min(interval, 0.01))
            if not late_warned and (late >= LATE_TICKS_WARNING or (done - started > 3 * interval and interval >= 1)):
                late_warned = True
                logger.warning("measure_power_secs=%g asks for more readings than this machine gives: a reading "
                               "takes %.2f ms here and readings come every %.3f s instead (energy stays exact; "
                               "only the samples are fewer)", interval, (done - started) * 1000,
                               (done - late_since) / max(late, 1))
