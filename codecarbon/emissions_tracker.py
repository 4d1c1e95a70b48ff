"""The trackers users import: orchestration only.

A tracker composes what detection found (energy sources), where it runs (an intensity resolver) and where results
go (outputs), all chosen by one typed configuration. One sampling thread reads cumulative energy; every window
(the run, a task, the time since the last flush) is the difference of two readings and becomes one
``EmissionsData`` that every output receives.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from abc import ABC
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Optional, Union

from codecarbon.core.compat import TrackerCompat
from codecarbon.support.errors import CodeCarbonError, ConfigError

# Everything else is imported where it is first used (construction, start(), a row): `from codecarbon import
# EmissionsTracker` pays for no configuration table, sampler, dataclass, output or state module it does not run.
if TYPE_CHECKING:
    from concurrent.futures import Future

    from codecarbon.core.run import Run as _Run
    from codecarbon.core.run import Task as _Task
    from codecarbon.core.sampler import Reading, Sampler, Window
    from codecarbon.output_methods.base_output import BaseOutput, OutputMethod
    from codecarbon.output_methods.emissions_data import EmissionsData


#: what start() imports after detection, in the order it needs them: the utilisation baseline, the device claim,
#: the state directory's keys and the checkpoint row (the warm-up loads them once detection is done, issue 16)
_START_MODULES = ("codecarbon.hardware.utilization", "codecarbon.hardware.ownership", "codecarbon.core.job",
                  "hashlib", "codecarbon.core.rows")


class _Unset:
    """The default of an argument nobody passed. It shows as the effective default in ``inspect.signature`` and
    ``help()``, and tells the tracker the argument was not given, so config files and variables still apply."""

    __slots__ = ("shown",)

    def __init__(self, shown: Any) -> None:
        self.shown = shown

    def __repr__(self) -> str:
        return repr(self.shown)


class _Logger:
    """The ``codecarbon`` logger, its module (and ``logging``, ~4 ms) imported at the first message or at
    construction, not by ``from codecarbon import EmissionsTracker``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        from codecarbon.external.logger import logger as real

        return getattr(real, name)


logger: Any = _Logger()


def log_once(key: str, level: int, message: str, *args: Any) -> None:
    from codecarbon.external.logger import log_once as real

    real(key, level, message, *args)


def _d(shown: Any) -> Any:
    return _Unset(shown)


_sentinel: Any = _Unset(None)

LOCATION_WAIT_S = 2.0
STATE_WAIT_S = 30.0  # a public method waits this long at most for another thread's flush/stop to finish
IDLE_WAKE_S = 3600.0  # the longest the sampling thread sleeps when no output, checkpoint nor counter needs it
TICK_WAIT_S = 1.0  # a tick waits this long at most for a flush/stop in progress before it skips its extras
SETTLE_SHARE = 0.75  # of stop()'s one bound (delivery_timeout_secs), what settling may use; delivery has the rest
Synchronize = Optional[Callable[[], Any]]


class TrackerBusy(CodeCarbonError, TimeoutError):
    """Another thread held the tracker longer than a public method may wait."""


def _new_id() -> str:
    """A random (version 4) UUID as text, made from os.urandom: ``import uuid`` loads ``platform`` and cost
    start() milliseconds."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class BaseEmissionsTracker(TrackerCompat, ABC):  # noqa: B024 - abstract by intent (3.x users subclass it)
    """Measures the energy drawn between ``start()`` and ``stop()`` and the emissions it caused."""

    _OFFLINE = False
    #: where hardware is read from (a SystemSeams); None is the real machine. Tests point it at fake trees.
    _system_seams: Any = None

    def __init__(
        self,
        project_name: Optional[str] = _d("codecarbon"),
        measure_power_secs: float = _d(15),
        api_call_interval: int = _d(8),
        api_endpoint: str = _d("https://api.codecarbon.io"),
        api_key: Optional[str] = _d(None),
        output_dir: str = _d("."),
        output_file: str = _d("emissions.csv"),
        save_to_file: bool = _d(True),
        save_to_api: bool = _d(False),
        save_to_logger: bool = _d(False),
        logging_logger: Any = _d(None),
        save_to_prometheus: bool = _d(False),
        save_to_logfire: bool = _d(False),
        prometheus_url: str = _d("localhost:9091"),
        output_handlers: Optional[list[BaseOutput]] = _d([]),
        gpu_ids: Optional[Union[list[Union[int, str]], str]] = _d(None),
        emissions_endpoint: Optional[str] = _d(None),
        experiment_id: str = _d("5b0fa12a-3dd7-45bb-9766-cc326314d9f1"),
        experiment_name: str = _d("base"),
        electricitymaps_api_token: Optional[str] = _d(None),
        co2_signal_api_token: Optional[str] = _d(None),
        tracking_mode: str = _d("machine"),
        log_level: Union[int, str] = _d("info"),
        on_csv_write: str = _d("append"),
        logger_preamble: str = _d(""),
        force_cpu_power: Optional[float] = _d(None),
        force_ram_power: Optional[float] = _d(None),
        pue: float = _d(1.0),
        force_mode_cpu_load: bool = _d(False),
        allow_multiple_runs: bool = _d(True),
        wue: float = _d(0.0),
        rapl_include_dram: bool = _d(False),
        rapl_prefer_psys: bool = _d(False),
        output_methods: Optional[Union[list[Union[OutputMethod, str]], str]] = _d(None),
        force_carbon_intensity_g_co2e_kwh: Optional[float] = _d(None),
        metadata: Optional[Union[dict[str, Any], str]] = _d(None),
        prometheus_delete_on_exit: bool = _d(False),
        prometheus_port: Optional[int] = _d(None),
        prometheus_host: str = _d("127.0.0.1"),
        otel_endpoint: Optional[str] = _d(None),
        otel_headers: Optional[str] = _d(None),
        delivery_timeout_secs: float = _d(2.0),
        job_detection: bool = _d(True),
        device_ownership: str = _d("host"),
        job_gather_timeout_secs: float = _d(2.0),
        scheduler: Optional[str] = _d(None),
        job_id: Optional[str] = _d(None),
        job_name: Optional[str] = _d(None),
        job_user: Optional[str] = _d(None),
        job_account: Optional[str] = _d(None),
        job_partition: Optional[str] = _d(None),
        rank: Optional[int] = _d(None),
        local_rank: Optional[int] = _d(None),
        world_size: Optional[int] = _d(None),
        local_world_size: Optional[int] = _d(None),
        carbon_intensity_provider: str = _d("auto"),
        grid_zone: Optional[str] = _d(None),
        electricitymaps_api_url: str = _d("https://api.electricitymaps.com/v3"),
        uk_grid_api_url: str = _d("https://api.carbonintensity.org.uk"),
        energidataservice_api_url: str = _d("https://api.energidataservice.dk"),
        watttime_api_url: str = _d("https://api.watttime.org"),
        watttime_username: Optional[str] = _d(None),
        watttime_password: Optional[str] = _d(None),
        **offline_arguments: Any,
    ):
        arguments = {k: v for k, v in locals().items()
                     if k not in ("self", "offline_arguments", "__class__") and not isinstance(v, _Unset)}
        arguments.update({k: v for k, v in offline_arguments.items() if not isinstance(v, _Unset)})
        try:
            self._init(arguments)
        except ConfigError as error:  # the user's line and this one, not every layer the value went through
            raise error.with_traceback(None) from None

    # --- construction -----------------------------------------------------------------------------------------
    def _init(self, arguments: dict[str, Any]) -> None:
        from codecarbon.core.config import tracker_settings
        from codecarbon.output_methods.base_output import BaseOutput

        settings = tracker_settings(arguments, offline=self._OFFLINE)
        self._conf = settings.as_dict()  # 3.x's dict of settings; ``_<name>`` reads and writes go to the settings
        self._settings = settings
        self.force_carbon_intensity_g_co2e_kwh = settings.force_carbon_intensity_g_co2e_kwh
        self._location_future: Future = self._start_location()

        from codecarbon.output_methods.selection import build_outputs

        self._output_handlers: list[BaseOutput] = build_outputs(settings, list(settings.output_handlers or []))
        # only outputs that do something with live rows cost the sampling thread a record
        self._live_outputs = [o for o in self._output_handlers if type(o).live_out is not BaseOutput.live_out]
        self._hardware = None
        self._sampler: Optional[Sampler] = None
        self._resolver = None
        self._charger: Any = None  # intensity.charger.Charger, made at the first reading of a run (issue 14)
        self._run: Optional[_Run] = None
        self._stopped_run: Optional[_Run] = None  # the run a start() after stop() goes on with
        self._state = threading.RLock()
        self._owner_pid: Optional[int] = None  # the process whose run this is (a forked child never acts for it)
        self._machine_lock: Any = None
        self._another_instance_already_running = False
        self._checkpoint: Any = None
        self._static_cache: Optional[tuple[tuple[Any, ...], dict[str, Any]]] = None
        self._static_generation = 0
        self.run_id: Optional[str] = None
        self.final_emissions: Optional[float] = None
        self.final_emissions_data: Optional[EmissionsData] = None
        self._detect_lock = threading.Lock()
        self._job: Any = None  # core.job.JobInfo and hardware.ownership.Claim, set at start()
        self._claim: Any = None
        self.job_total: Optional[dict] = None  # rank 0 under torch.distributed: the job's totals at stop()
        from codecarbon.core import lifecycle, run, sampler  # noqa: F401 - what start() runs, imported now

        self._warmup = threading.Thread(target=self._warm_up, name="codecarbon-warmup", daemon=True)
        self._warmup.start()

    def _repr_html_(self) -> str:
        """In a notebook: the run's table once stopped, else one line saying what it is doing."""
        import html

        data = self.final_emissions_data
        if data is not None:
            return data._repr_html_()
        state = "running" if getattr(self, "_run", None) is not None else "not started"
        name = html.escape(type(self).__name__)
        return f"<code>{name}</code> ({state}, project {html.escape(str(self._settings.project_name))})"

    def _warm_up(self) -> None:
        """Off the user's thread, between construction and start(): detect hardware, read static facts."""
        try:
            hardware = self._detect()  # first: start() waits for this, and for nothing else of the warm-up
            if not self._start_began:
                self._import_for_start()
            self._resolve_location()
            self._prepare_job(hardware)
            from codecarbon.core import rows

            rows.platform_facts()
            if self._OFFLINE:  # the online tracker's location may still be on its way; never wait for it here
                self._intensity_resolver()
            self._wait_for_start()
            from codecarbon.output_methods import emissions_data  # noqa: F401 - the records stop() builds
        except Exception as error:  # start() does it again and reports
            logger.debug("warm-up failed: %s", error)
        self._resolve_location()  # (when detection failed)

    #: set when start() is first called: the warm-up then leaves the imports it would have done ahead of start()
    #: to start() itself, and waits for start() to finish before loading what stop() needs, rather than hold the
    #: interpreter lock (for up to its 5 ms switch interval at a time) while start() wants it
    _start_began = False

    def _wait_for_start(self) -> None:
        """When start() has begun, wait (bounded) until it is done: what the warm-up loads next would slow it."""
        if self._start_began and self._state.acquire(timeout=STATE_WAIT_S):
            self._state.release()

    @staticmethod
    def _import_for_start() -> None:
        """The modules start() runs after detection, loaded by the warm-up so start() finds them ready (issue 16)."""
        import importlib

        for name in _START_MODULES:
            importlib.import_module(name)

    _locating: Optional[Future] = None  # the online tracker's location, resolved by the warm-up

    def _resolve_location(self) -> None:
        future = self._locating
        if future is None or future.done():
            return
        try:
            future.set_result(self._get_geo_metadata())  # type: ignore[attr-defined]  # online tracker only
        except BaseException as error:  # never raises into anyone
            if not future.done():
                future.set_exception(error)

    def _start_location(self) -> Future:
        """Where the computation runs; offline this is resolved (and validated) now."""
        raise NotImplementedError

    def _location(self):
        try:
            return self._location_future.result(timeout=LOCATION_WAIT_S)
        except Exception as error:  # the locating thread's failure, whatever it was: world average
            from codecarbon.intensity import Location

            log_once("location-failed", 30, "location unknown (%s); using the world average intensity", error)
            return Location(None, None, None, None, None, "N")

    def _intensity_resolver(self):
        if self._resolver is not None:
            return self._resolver
        with self._detect_lock:
            return self._make_resolver()

    def _make_resolver(self):
        if self._resolver is None:
            from codecarbon.intensity import IntensityResolver

            s = self._settings
            # the static figure only: live figures over time come from the charger (issue 14)
            self._resolver = IntensityResolver(
                self._location(), force_g_co2e_per_kwh=s.force_carbon_intensity_g_co2e_kwh, allow_network=False)
        return self._resolver

    # --- carbon over time (issue 14): energy charged interval by interval, settled at stop ----------------------
    def _carbon_charger(self) -> Any:
        if self._charger is None and (self._OFFLINE or self._settings.force_carbon_intensity_g_co2e_kwh is not None):
            # make_charger's static case, without the provider and feed modules it would import (issue 16)
            from codecarbon.intensity.charger import Charger

            self._charger = Charger(self._intensity_resolver().static)
        if self._charger is None:
            from codecarbon.intensity.live import make_charger

            self._charger = make_charger(self._settings, self._location(), self._intensity_resolver().static,
                                         allow_network=not self._OFFLINE)
        return self._charger

    def _charge(self, start_wall: float, end_wall: float, kwh: float) -> float:
        """The sampler's charging seam: kg of ``kwh`` used between two wall-clock instants."""
        return float(self._carbon_charger().charge(start_wall, end_wall, kwh))

    def _priced(self, window: Window, start: Reading, end: Reading) -> tuple[Window, Any]:
        """The window with its emissions priced from the best figures known now, and the intensity to show
        (None: the static figure of the moment, as without a live provider)."""
        charger = self._charger
        if charger is None or not charger.live:
            return window, None
        from codecarbon.intensity.types import Intensity

        account = charger.account(start.wall, end.wall)
        shown = account.g_per_kwh if account.kwh > 0 else charger.static.g_co2e_per_kwh
        return window.with_emissions(account.kg), Intensity(shown, account.label, None)

    def _settle(self, until: float) -> None:
        """At stop: the run's figures from the provider's history, waiting until ``until`` (monotonic) at most."""
        charger = self._charger
        if charger is not None and charger.live:
            charger.settle(max(0.0, until - time.monotonic()))

    # --- hardware -----------------------------------------------------------------------------------------------
    def _detect(self):
        with self._detect_lock:
            return self._detect_locked()

    def _detect_locked(self):
        if self._hardware is None:
            from codecarbon.hardware import HardwareOptions, detect_hardware

            s = self._settings
            self._hardware = detect_hardware(HardwareOptions(
                tracking_mode=s.tracking_mode, force_cpu_power=s.force_cpu_power,
                force_ram_power=s.force_ram_power, force_mode_cpu_load=bool(s.force_mode_cpu_load),
                gpu_ids=s.gpu_ids, rapl_include_dram=bool(s.rapl_include_dram),
                rapl_prefer_psys=bool(s.rapl_prefer_psys)), self._system_seams)
        return self._hardware

    def get_detected_hardware(self) -> dict[str, Any]:
        hw = self._detect()
        return {"ram_total_size": hw.ram_total_size, "cpu_count": hw.cpu_count,
                "cpu_physical_count": hw.cpu_physical_count, "cpu_model": hw.cpu_model,
                "gpu_count": hw.gpu_count, "gpu_model": hw.gpu_model, "gpu_ids": hw.gpu_ids}

    # --- lifecycle ------------------------------------------------------------------------------------------------
    @contextmanager
    def _held(self, timeout: float = STATE_WAIT_S) -> Iterator[None]:
        """The tracker's state, waited for with a bound (a stop at exit never waits on a stuck thread)."""
        if not self._state.acquire(timeout=timeout):
            raise TrackerBusy(f"the tracker was busy in another thread for {timeout:.0f} s")
        try:
            yield
        finally:
            self._state.release()

    def _foreign(self) -> bool:
        """True in a process forked from the one that started the live run: it must never act for that run."""
        if self._owner_pid is None or self._owner_pid == os.getpid() or self._run is None:
            return False
        log_once(f"forked:{id(self)}", 10, "tracker call in a forked child ignored: the run belongs to pid %d",
                 self._owner_pid)
        return True

    def start(self) -> None:
        """Begin a run: baseline every energy counter and start the sampling thread.

        After ``stop()`` the same run goes on, as in 3.3.2: same ``run_id``, totals that keep growing from the
        stopped run's (the time in between counts for nothing). All or nothing: a start that fails part-way
        gives back every lock, claim and source it took."""
        try:
            if self._foreign():
                return
            with self._held():
                if self._run is not None:
                    logger.warning("tracker already started; start() ignored")
                    return
                taken = self._start_marks()
                try:
                    self._start_locked()
                except BaseException:  # KeyboardInterrupt included: nothing half-taken is left behind
                    self._undo_start(taken)
                    raise
        except CodeCarbonError as error:
            logger.error("could not start tracking: %s", error)
        except Exception as error:  # start() never raises into user code: what went wrong is logged
            logger.error("could not start tracking (unexpected): %s", error)

    def _start_locked(self) -> None:
        if not self._settings.allow_multiple_runs and not self._take_machine_lock():
            return
        # never waits for the warm-up as such: only for detection (the sources to read), which it needs;
        # the rest of the warm-up (location, static facts, job files) goes on beside the run
        self._start_began = True
        hardware = self._detect()
        from codecarbon.core import lifecycle
        from codecarbon.core.config import sampling_period
        from codecarbon.core.run import Run as _Run
        from codecarbon.core.sampler import Sampler, continued
        from codecarbon.hardware import UtilizationMeter

        meter = UtilizationMeter(self._system_seams)
        self._sampler = Sampler(self._claim_devices(hardware), interval=sampling_period(self._settings),
                                charge=self._charge, pue=self._settings.pue,
                                utilization=meter.sample, on_tick=self._on_tick)
        reading = self._sampler.open()
        stopped = self._stopped_run
        self.run_id = stopped.run_id if stopped is not None else _new_id()
        start = continued(stopped.start, stopped.last_report, reading) if stopped is not None else reading
        # the start is a measurement (3.3.2 counts it towards api_call_interval); the first tick checkpoints
        every = self._checkpoint_every()
        self._run = _Run(self.run_id, start, reading, ticks_since_live=1,
                         last_checkpoint=reading.at - every, checkpoint_every=every - 1e-3,
                         live_every=int(self._settings.api_call_interval) if self._live_outputs else -1,
                         tasks=dict(stopped.tasks) if stopped is not None else {})
        self._owner_pid = os.getpid()
        self._prepare_checkpoint()
        lifecycle.register(self)
        self._sampler.wake_every = self._wake_every()
        self._sampler.start()

    def _start_marks(self) -> tuple[Any, Any, Any, Optional[str]]:
        """What start() finds before it takes anything, so a failed start can tell what it took."""
        return (self._sampler, self._claim, self._checkpoint, self.run_id)

    def _undo_start(self, taken: tuple[Any, Any, Any, Optional[str]]) -> None:
        """Give back what a start that failed part-way took: the sampler's thread and sources, the device claims,
        the checkpoint, the machine lock and the exit hook. Each step is tried whatever the others do."""
        sampler, claim, checkpoint, run_id = taken
        self._run = None
        self._owner_pid = None
        self.run_id = run_id
        from codecarbon.core import lifecycle

        steps: list[Callable[[], Any]] = [lambda: lifecycle.unregister(self)]
        if self._sampler is not None and self._sampler is not sampler:
            steps += [self._sampler.stop, self._sampler.close]
        if self._claim is not None and self._claim is not claim:
            steps.append(self._claim.release)
        if self._checkpoint is not None and self._checkpoint is not checkpoint:
            steps.append(self._checkpoint.remove)
        if self._machine_lock is not None:
            steps.append(self._machine_lock.release)
        for step in steps:
            try:
                step()
            except Exception as error:  # one step failing must not keep the others from giving back
                logger.debug("undoing a failed start: %s", error)
        self._sampler, self._claim, self._checkpoint = sampler, claim, checkpoint

    def _wake_every(self) -> float:
        """How often the sampling thread wakes (issue 16). Every ``measure_power_secs`` only when someone sees each
        reading (a live output) or a source integrates samples (a load model, instantaneous power); otherwise as
        seldom as the crash checkpoint (a kill loses at most max(measure_power_secs, 5 s)) and the fastest-wrapping
        counter allow: the rows are the same, a window's energy being a counter difference. A changing carbon
        intensity needs no extra wake: the charger splits each reading's energy across the provider's intervals
        by time (issue 14)."""
        from codecarbon.core.state import CHECKPOINT_MIN_EVERY_S

        interval = float(self._sampler.interval) if self._sampler is not None else 0.0
        sampler = self._sampler
        if sampler is None or self._live_outputs:
            return interval
        gap = IDLE_WAKE_S
        for source in sampler.sources:
            bound = source.max_read_gap_s()
            if bound is None:
                continue
            if bound <= 0:
                return interval
            gap = min(gap, bound)
        if self._checkpoint is not None:
            gap = min(gap, max(interval, CHECKPOINT_MIN_EVERY_S))
        return max(interval, gap)

    def _checkpoint_every(self) -> float:
        """Seconds between checkpoints such that a SIGKILL loses at most max(measure_power_secs, 5 s)."""
        from codecarbon.core.state import CHECKPOINT_MIN_EVERY_S

        return max(0.0, CHECKPOINT_MIN_EVERY_S - float(self._settings.measure_power_secs))

    def _prepare_job(self, hardware: Any) -> None:
        """Warm-up: in a job, create the lock files start() will take, so start() only opens them (issue 9)."""
        from codecarbon.core.job import job_from_settings
        from codecarbon.hardware.ownership import prepare

        if self._settings.get("device_ownership", "host") != "off":
            prepare(hardware.sources, job_from_settings(self._settings))

    def _claim_devices(self, hardware: Any) -> list:
        """In a job of many processes, the sources of the devices this process measures on its host (issue 9)."""
        from codecarbon.core.job import job_from_settings
        from codecarbon.hardware.ownership import claim

        s = self._settings
        self._job = job_from_settings(s)
        self._claim = claim(hardware.sources, self._job, tracking_mode=s.tracking_mode,
                            enabled=s.get("device_ownership", "host") != "off")
        return self._claim.sources

    def _take_machine_lock(self) -> bool:
        from codecarbon.lock import Lock, LockError

        self._machine_lock = self._machine_lock or Lock()
        try:
            self._machine_lock.acquire()
        except (LockError, OSError) as error:
            self._another_instance_already_running = True
            logger.error("%s; this tracker will not measure anything", error)
            return False
        return True

    def _prepare_checkpoint(self) -> None:
        """Recover the dead runs of our CSV (exactly once, ours only), then start this run's checkpoint."""
        file_output = self._file_output()
        if file_output is None:
            self._checkpoint = None
            return
        from codecarbon.core.state import Checkpoint, recover_orphans

        recover_orphans(file_output.save_file_path, file_output.write_row)
        self._checkpoint = Checkpoint(file_output.save_file_path, str(self.run_id), file_output.on_csv_write)

    def _drop_checkpoint_once_written(self) -> None:
        """The run's checkpoint has served once its final row is in the CSV (or the state directory's fallback)."""
        file_output = self._file_output()
        if self._checkpoint is not None and (file_output is None or not file_output.owes_rows):
            self._checkpoint.remove()  # idempotent: the second call finds nothing left

    def _file_output(self):
        from codecarbon.output_methods.file import FileOutput

        return next((o for o in self._output_handlers if isinstance(o, FileOutput)), None)

    def _on_tick(self, reading: Reading) -> None:
        """Runs on the sampling thread after each reading: live outputs and the crash checkpoint.

        No user-thread method waits for the sampling thread while it holds the tracker, so waiting for the
        tracker here cannot deadlock; the wait is bounded all the same, and a tick that times out is skipped."""
        if (self._owner_pid != os.getpid() and self._foreign()) or not self._state.acquire(True, TICK_WAIT_S):
            return
        try:
            run = self._run
            if run is None or run.final is not None:
                return
            run.ticks_since_live += 1
            if run.live_every != -1 and run.ticks_since_live >= run.live_every:
                self._maybe_live_out(run, reading)
            if reading.at - run.last_checkpoint >= run.checkpoint_every and reading.ticks != run.checkpoint_ticks \
                    and self._checkpoint is not None:
                self._save_checkpoint(run, reading)
        except Exception as error:  # the sampling loop's boundary
            log_once("tick-failed", 30, "a tracking tick failed: %s", error)
        finally:
            self._state.release()

    def _save_checkpoint(self, run: _Run, reading: Reading) -> None:
        """The run's total so far on disk: the whole row when a static column changed (or at the first save),
        else only the changing columns, in one small write (see ``core.state.Checkpoint``)."""
        checkpoint = self._checkpoint
        if checkpoint is None:
            return
        from codecarbon.core import rows
        from codecarbon.core.sampler import window_between
        from codecarbon.core.state import tick_values

        run.last_checkpoint = reading.at
        run.checkpoint_ticks = reading.ticks
        generation = self._static_generation
        window, shown = self._priced(window_between(run.start, reading, self._settings.pue), run.start, reading)
        static, intensity = self._static_columns(shown)
        changing = self._changing_columns(window, reading, intensity)
        if checkpoint.has_row and generation == self._static_generation == run.checkpoint_generation:
            checkpoint.save_tick(tick_values(changing), changing["timestamp"])
        else:
            merged = {**static, **changing}
            checkpoint.save({name: merged[name] for name in rows.row_order() if name in merged})
            run.checkpoint_generation = self._static_generation

    def _maybe_live_out(self, run: _Run, reading: Reading) -> None:
        interval = self._settings.api_call_interval
        if interval != -1 and run.ticks_since_live >= interval and self._live_outputs:
            run.ticks_since_live = 0
            total, delta = self._total_and_delta(run, reading)
            for output in self._live_outputs:
                self._call(output, "live_out", total, delta)

    def _read(self, synchronize: Synchronize = None) -> Reading:
        """A reading now, after the caller's ``synchronize`` (e.g. ``torch.cuda.synchronize``) when given."""
        if synchronize is not None:
            try:
                synchronize()
            except Exception as error:  # log once and read anyway
                log_once(f"synchronize-failed:{id(synchronize)}", 30,
                         "synchronize callable failed (%s); the counters are read anyway", error)
        assert self._sampler is not None
        return self._sampler.read()

    def _drain_outputs(self, deadline: float) -> bool:
        """Every output's ``drain`` within one shared deadline (``delivery_timeout_secs`` from ``out()``)."""
        from codecarbon.output_methods.base_output import drain_outputs

        return drain_outputs(self._output_handlers, max(0.0, deadline - time.monotonic()))

    def _delivery_bound(self) -> float:
        try:
            return max(0.0, float(self._settings.delivery_timeout_secs))
        except (AttributeError, KeyError, TypeError, ValueError):
            return 2.0

    def flush(self, synchronize: Synchronize = None) -> Optional[float]:
        """Write the run so far to every output and keep measuring; returns the emissions so far (kg).

        It returns once the CSV has the row and every network output has delivered it or, after the shared
        delivery bound, saved it for later."""
        try:
            if self._foreign():
                return None
            run = self._run
            if run is None or self._sampler is None or run.final is not None:
                logger.warning("flush() needs a started tracker")
                return None
            reading = self._read(synchronize)  # never wait for the sampling thread while holding the tracker
            with self._held():
                if self._run is not run or run.final is not None:
                    logger.warning("flush() needs a started tracker")
                    return None
                total, delta = self._total_and_delta(run, reading)
                deadline = time.monotonic() + self._delivery_bound()
                self._call_outputs("out", total, delta)
                self._send_tasks(run)
            self._drain_outputs(deadline)  # outside the lock: the sampling thread keeps going meanwhile
            return total.emissions
        except CodeCarbonError as error:
            logger.error("flush failed: %s", error)
        except Exception as error:  # flush() never raises into user code: what went wrong is logged
            logger.error("flush failed (unexpected): %s", error)
        return None

    def stop(self) -> Optional[float]:
        """End the run, write it to every output and return its emissions in kg CO2eq.

        A second call returns the same figure and writes nothing."""
        return self._stop(STATE_WAIT_S)

    def _stop_for_exit(self, bound_s: float) -> None:
        """The exit hook's and SIGTERM's stop: every wait bounded by ``bound_s``."""
        self._stop(bound_s, at_exit=True)

    def _stop(self, wait_s: float, at_exit: bool = False) -> Optional[float]:
        try:
            if self._foreign():
                return None
            run, sampler = self._run, self._sampler
            if run is None or sampler is None:
                if self.final_emissions is None and not self._another_instance_already_running:
                    logger.warning("stop() called on a tracker that was not started")
                return self.final_emissions
            reading = None
            if run.final is None:
                # outside the tracker's lock: the sampling thread may need it to finish a tick
                reading = sampler.read()  # taken on the sampling thread, bounded: a hanging source cannot hold us
                sampler.stop()
            with self._held(wait_s):
                if self._run is not run:  # another thread stopped it meanwhile
                    return self.final_emissions
                return self._stop_run(run, reading, at_exit)
        except CodeCarbonError as error:
            logger.error("stop failed: %s", error)
        except Exception as error:  # stop() never raises into user code: what went wrong is logged
            logger.error("stop failed (unexpected): %s", error)
        return self.final_emissions

    def _stop_run(self, run: _Run, reading: Optional[Reading], at_exit: bool) -> float:
        """The stages of a stop, each done once: final reading, rows written, then delivery and clean-up."""
        sampler = self._sampler
        assert sampler is not None
        if run.final is None:
            run.stop_started = time.monotonic()
            if reading is None:
                reading = sampler.read()
            run.ticks_since_live += 1  # the stop is a measurement too (3.3.2's api_call_interval counting)
            self._maybe_live_out(run, reading)
            for task in run.tasks.values():
                if task.is_active:
                    self._finish_task(run, task, reading)
            if at_exit:  # a second signal may end the process any moment now: keep the final row first
                self._save_checkpoint(run, reading)
            # one bound for the whole stop: settling from history takes its share, delivery what is left of it
            self._settle(time.monotonic() + SETTLE_SHARE * self._delivery_bound())
            run.final = self._total_and_delta(run, reading)
            self._stopped_run = run
            self.final_emissions_data = run.final[0]
            self.final_emissions = run.final[0].emissions
        total, delta = run.final
        deadline = (run.stop_started or time.monotonic()) + self._delivery_bound()
        file_output = self._file_output()
        fallback_before = file_output.fallback_path if file_output is not None else None
        if not run.written:
            self._call_outputs("out", total, delta)
            self._send_tasks(run)
            run.written = True
        self._drop_checkpoint_once_written()  # before delivery and exit hooks, which a second signal may cut
        self._drain_outputs(deadline)
        for output in self._output_handlers:
            self._call(output, "exit")
        self._run = None
        sampler.close()
        self._finish_job(total)
        self._drop_checkpoint_once_written()  # a row a failed write owed is in the fallback file now
        if self._machine_lock is not None:
            self._machine_lock.release()
        from codecarbon.core import lifecycle

        lifecycle.unregister(self)
        self._log_summary(total, self._row_destination(file_output, fallback_before))
        return total.emissions

    def __enter__(self) -> BaseEmissionsTracker:
        self.start()
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.stop()

    # --- tasks ------------------------------------------------------------------------------------------------------
    def start_task(self, task_name: Optional[str] = None, synchronize: Synchronize = None) -> None:
        """Open a named window inside the run (starting the run when needed).

        ``synchronize`` (e.g. ``torch.cuda.synchronize``) runs right before the counters are read."""
        try:
            if self._foreign():
                return
            if self._run is None:
                self.start()
            run = self._run
            if run is None or run.final is not None:
                return
            reading = self._read(synchronize)
            with self._held():
                if self._run is not run or run.final is not None:
                    return
                name = task_name or _new_id()
                if name in run.tasks:
                    name = f"{name}_{_new_id()}"
                    logger.warning("a task named %r exists already; this one is %r", task_name, name)
                from codecarbon.core.run import Task as _Task

                run.tasks[name] = _Task(name, reading)
        except CodeCarbonError as error:
            logger.error("start_task failed: %s", error)
        except Exception as error:  # start_task() never raises into user code: logged
            logger.error("start_task failed (unexpected): %s", error)

    def stop_task(self, task_name: Optional[str] = None, synchronize: Synchronize = None) -> Optional[EmissionsData]:
        """Close a task's window and return its EmissionsData (the last started active task by default).

        ``synchronize`` runs right before the counters are read."""
        try:
            if self._foreign():
                return None
            run = self._run
            if run is None or run.final is not None:
                logger.warning("stop_task() needs a started tracker")
                return None
            reading = self._read(synchronize)
            with self._held():
                if self._run is not run or run.final is not None:
                    return None
                active = [t for t in run.tasks.values() if t.is_active]
                task = run.tasks.get(task_name) if task_name else (active[-1] if active else None)
                if task is None or not task.is_active:
                    logger.warning("no active task named %r", task_name)
                    return None
                return self._finish_task(run, task, reading)
        except CodeCarbonError as error:
            logger.error("stop_task failed: %s", error)
        except Exception as error:  # stop_task() never raises into user code: logged
            logger.error("stop_task failed (unexpected): %s", error)
        return None

    def _finish_task(self, run: _Run, task: _Task, reading: Reading) -> EmissionsData:
        if reading.at < task.start.at:
            reading = task.start
        task.end = reading
        task.emissions_data = self._record(task.start, reading)
        return task.emissions_data

    def _send_tasks(self, run: _Run) -> None:
        from codecarbon.output_methods.emissions_data import TaskEmissionsData

        rows = [TaskEmissionsData.from_emissions(t.name, t.emissions_data)
                for t in run.tasks.values() if t.emissions_data is not None]
        if rows:
            for output in self._output_handlers:
                self._call(output, "task_out", rows, self._settings.experiment_name)

    # --- records ------------------------------------------------------------------------------------------------
    def _total_and_delta(self, run: _Run, reading: Reading) -> tuple[EmissionsData, EmissionsData]:
        if reading.at < run.last_report.at:  # a tick reported a later reading meanwhile: never a negative delta
            reading = run.last_report
        total = self._record(run.start, reading)
        delta = self._record(run.last_report, reading)
        run.last_report = reading
        return total, delta

    def _record(self, start: Reading, end: Reading) -> EmissionsData:
        from codecarbon.core.sampler import window_between
        from codecarbon.output_methods.emissions_data import EmissionsData

        window, shown = self._priced(window_between(start, end, self._settings.pue), start, end)
        static, intensity = self._static_columns(shown)
        return EmissionsData(**static, **self._changing_columns(window, end, intensity))

    def _static_columns(self, shown: Any = None) -> tuple[dict[str, Any], Any]:
        """The columns that describe the run rather than a window, and the intensity figure of the moment.

        Built once and reused while what they come from is the same (the location, the intensity's source,
        the hardware, the job's attribution): a tick's checkpoint then needs only the changing columns."""
        hardware = self._detect()
        location = self._location()
        intensity = shown if shown is not None else self._intensity_resolver().current()
        claim = self._claim
        key = (hardware, location, intensity.source, intensity.year, self._job, claim,
               claim.attribution if claim is not None else None, self.run_id)
        cached = self._static_cache
        if cached is not None and all(a is b or a == b for a, b in zip(cached[0], key, strict=True)):
            return cached[1], intensity
        from codecarbon.core import rows

        static = rows.static_columns(self._settings, hardware, location, intensity, self._job_columns(),
                                     self.run_id)
        self._static_cache = (key, static)
        self._static_generation += 1
        return static, intensity

    def _changing_columns(self, window: Window, end: Reading, intensity: Any) -> dict[str, Any]:
        """The columns a window's figures give (the ones a tick's checkpoint record carries)."""
        from codecarbon.core import rows

        return rows.changing_columns(window, end.wall, self._settings.wue, intensity.g_co2e_per_kwh)

    # --- jobs of many processes (issue 9) ------------------------------------------------------------------
    def _job_columns(self) -> dict[str, str]:
        if self._job is None:
            import socket

            from codecarbon.output_methods.emissions_data import JOB_COLUMNS

            return {**dict.fromkeys(JOB_COLUMNS, ""), "node_name": socket.gethostname()}
        return self._job.columns(self._claim.attribution if self._claim is not None else "")

    def _finish_job(self, total: EmissionsData) -> None:
        """Give up device ownership; under torch.distributed, rank 0 gathers the job's totals (bounded)."""
        if self._claim is not None:
            self._claim.release()
        if self._job is not None and self._job.in_job and self._settings.get("job_gather_timeout_secs", 0) > 0:
            from codecarbon.core.gather import gather_job_totals

            self.job_total = gather_job_totals(total, self._settings.job_gather_timeout_secs)

    # --- outputs -----------------------------------------------------------------------------------------------
    def _call_outputs(self, hook: str, total: EmissionsData, delta: EmissionsData) -> None:
        for output in self._output_handlers:
            self._call(output, hook, total, delta)

    @staticmethod
    def _call(output: BaseOutput, hook: str, *args: Any) -> None:
        try:
            getattr(output, hook)(*args)
        except Exception as error:  # one failing output never stops the others, nor the user's code
            log_once(f"output-failed:{id(output)}:{hook}", 40, "%s.%s failed: %s",
                     type(output).__name__, hook, error)

    @staticmethod
    def _row_destination(file_output: Any, fallback_before: Any) -> str:
        """Where the run's CSV row really went, for the summary line: the file, the state directory's fallback
        file when the file could not be written (a read-only folder), or nowhere yet."""
        if file_output is None:
            return ""
        if file_output.fallback_path is not None and file_output.fallback_path != fallback_before:
            return (f" -> {file_output.fallback_path} (the state directory: {file_output.save_file_path} could "
                    "not be written)")
        if getattr(file_output, "_pending", None):
            return f" -> not written ({file_output.save_file_path} could not be written; see the error above)"
        return f" -> {file_output.last_written_path or file_output.save_file_path}"

    def _log_summary(self, total: EmissionsData, where: str = "") -> None:
        """The one line at stop(), figures in a unit that reads plainly (114 µg, 2.03 mWh, never 1.14e-04 g)."""
        from codecarbon.viz.text import energy_text, mass_text

        parts = ", ".join(
            f"{c} {energy_text(getattr(total, c + '_energy'))} ({getattr(total, c + '_measure') or 'none'})"
            for c in ("cpu", "gpu", "ram"))
        logger.info("%s CO2eq over %.1f s: %s [%s] at %.0f g/kWh (%s)%s",
                    mass_text(total.emissions), total.duration, energy_text(total.energy_consumed), parts,
                    total.carbon_intensity or 0.0, total.intensity_source or "unknown", where)


class OfflineEmissionsTracker(BaseEmissionsTracker):
    """A tracker that opens no network connection; where it runs comes from its arguments or config."""

    _OFFLINE = True

    def __init__(
        self,
        project_name: Optional[str] = _d("codecarbon"),
        measure_power_secs: float = _d(15),
        api_call_interval: int = _d(8),
        api_endpoint: str = _d("https://api.codecarbon.io"),
        api_key: Optional[str] = _d(None),
        output_dir: str = _d("."),
        output_file: str = _d("emissions.csv"),
        save_to_file: bool = _d(True),
        save_to_api: bool = _d(False),
        save_to_logger: bool = _d(False),
        logging_logger: Any = _d(None),
        save_to_prometheus: bool = _d(False),
        save_to_logfire: bool = _d(False),
        prometheus_url: str = _d("localhost:9091"),
        output_handlers: Optional[list[BaseOutput]] = _d([]),
        gpu_ids: Optional[Union[list[Union[int, str]], str]] = _d(None),
        emissions_endpoint: Optional[str] = _d(None),
        experiment_id: str = _d("5b0fa12a-3dd7-45bb-9766-cc326314d9f1"),
        experiment_name: str = _d("base"),
        electricitymaps_api_token: Optional[str] = _d(None),
        co2_signal_api_token: Optional[str] = _d(None),
        tracking_mode: str = _d("machine"),
        log_level: Union[int, str] = _d("info"),
        on_csv_write: str = _d("append"),
        logger_preamble: str = _d(""),
        force_cpu_power: Optional[float] = _d(None),
        force_ram_power: Optional[float] = _d(None),
        pue: float = _d(1.0),
        force_mode_cpu_load: bool = _d(False),
        allow_multiple_runs: bool = _d(True),
        wue: float = _d(0.0),
        rapl_include_dram: bool = _d(False),
        rapl_prefer_psys: bool = _d(False),
        output_methods: Optional[Union[list[Union[OutputMethod, str]], str]] = _d(None),
        force_carbon_intensity_g_co2e_kwh: Optional[float] = _d(None),
        metadata: Optional[Union[dict[str, Any], str]] = _d(None),
        prometheus_delete_on_exit: bool = _d(False),
        prometheus_port: Optional[int] = _d(None),
        prometheus_host: str = _d("127.0.0.1"),
        otel_endpoint: Optional[str] = _d(None),
        otel_headers: Optional[str] = _d(None),
        delivery_timeout_secs: float = _d(2.0),
        job_detection: bool = _d(True),
        device_ownership: str = _d("host"),
        job_gather_timeout_secs: float = _d(2.0),
        scheduler: Optional[str] = _d(None),
        job_id: Optional[str] = _d(None),
        job_name: Optional[str] = _d(None),
        job_user: Optional[str] = _d(None),
        job_account: Optional[str] = _d(None),
        job_partition: Optional[str] = _d(None),
        rank: Optional[int] = _d(None),
        local_rank: Optional[int] = _d(None),
        world_size: Optional[int] = _d(None),
        local_world_size: Optional[int] = _d(None),
        carbon_intensity_provider: str = _d("auto"),
        grid_zone: Optional[str] = _d(None),
        electricitymaps_api_url: str = _d("https://api.electricitymaps.com/v3"),
        uk_grid_api_url: str = _d("https://api.carbonintensity.org.uk"),
        energidataservice_api_url: str = _d("https://api.energidataservice.dk"),
        watttime_api_url: str = _d("https://api.watttime.org"),
        watttime_username: Optional[str] = _d(None),
        watttime_password: Optional[str] = _d(None),
        country_iso_code: Optional[str] = _d(None),
        region: Optional[str] = _d(None),
        cloud_provider: Optional[str] = _d(None),
        cloud_region: Optional[str] = _d(None),
        country_2letter_iso_code: Optional[str] = _d(None),
        **unknown: Any,
    ):
        given = {k: v for k, v in locals().items()
                 if k not in ("self", "__class__", "unknown") and not isinstance(v, _Unset)}
        super().__init__(**given, **unknown)  # an unknown name is a ConfigError naming it, as for the online one

    def _start_location(self) -> Future:
        from codecarbon.intensity.location import resolve_offline_location

        s = self._settings
        if not s.country_iso_code and not s.cloud_provider:
            logger.warning("no country_iso_code given to the offline tracker: the world average intensity "
                           "(475 g/kWh) is used")
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(resolve_offline_location(
                s.country_iso_code, region=s.region, cloud_provider=s.cloud_provider, cloud_region=s.cloud_region,
                country_2letter_iso_code=s.country_2letter_iso_code))
        except ConfigError:
            raise
        except ValueError as error:  # an unknown country or region: a configuration error like any other
            from codecarbon.core.config import describe_source

            text = str(error)
            named = [n for n in ("country_iso_code", "region", "cloud_provider", "cloud_region",
                                 "country_2letter_iso_code") if n in text and s.get(n)]
            first = min(named, key=text.index) if named else None
            where = f"{first} (from {describe_source(s.source(first))}): " if first and s.is_set(first) else ""
            raise ConfigError(where + text) from None
        return future


class EmissionsTracker(BaseEmissionsTracker):
    """A tracker that finds where it runs (geolocation, cloud metadata) in the background, bounded in time."""

    def _start_location(self) -> Future:
        from concurrent.futures import Future

        future: Future = Future()
        s = self._settings
        if s.get("grid_zone") or s.get("country_iso_code"):  # told where it runs: no geolocation (issue 14)
            from codecarbon.intensity.live import explicit_location

            future.set_result(explicit_location(s.get("grid_zone"), s.get("country_iso_code"), s.get("region")))
            return future

        self._locating = future  # the warm-up thread resolves it right after detection: no thread of its own
        return future

    def _get_geo_metadata(self):
        from codecarbon.intensity.geolocation import locate_once

        return locate_once(timeout_s=1.0)  # one lookup per process, shared by every tracker

    def _get_cloud_metadata(self):
        return self._get_geo_metadata()


_OFFLINE_ONLY = ("country_iso_code", "region", "cloud_provider", "cloud_region", "country_2letter_iso_code")
_ONLINE_PLACE = ("country_iso_code", "region")  # what EmissionsTracker reads of the offline place


def track_emissions(
        fn: Optional[Callable] = None,
        *,
        project_name: Optional[str] = _d("codecarbon"),
        measure_power_secs: float = _d(15),
        api_call_interval: int = _d(8),
        api_endpoint: str = _d("https://api.codecarbon.io"),
        api_key: Optional[str] = _d(None),
        output_dir: str = _d("."),
        output_file: str = _d("emissions.csv"),
        save_to_file: bool = _d(True),
        save_to_api: bool = _d(False),
        save_to_logger: bool = _d(False),
        logging_logger: Any = _d(None),
        save_to_prometheus: bool = _d(False),
        save_to_logfire: bool = _d(False),
        prometheus_url: str = _d("localhost:9091"),
        output_handlers: Optional[list[BaseOutput]] = _d([]),
        gpu_ids: Optional[Union[list[Union[int, str]], str]] = _d(None),
        emissions_endpoint: Optional[str] = _d(None),
        experiment_id: str = _d("5b0fa12a-3dd7-45bb-9766-cc326314d9f1"),
        experiment_name: str = _d("base"),
        electricitymaps_api_token: Optional[str] = _d(None),
        co2_signal_api_token: Optional[str] = _d(None),
        tracking_mode: str = _d("machine"),
        log_level: Union[int, str] = _d("info"),
        on_csv_write: str = _d("append"),
        logger_preamble: str = _d(""),
        force_cpu_power: Optional[float] = _d(None),
        force_ram_power: Optional[float] = _d(None),
        pue: float = _d(1.0),
        force_mode_cpu_load: bool = _d(False),
        allow_multiple_runs: bool = _d(True),
        wue: float = _d(0.0),
        rapl_include_dram: bool = _d(False),
        rapl_prefer_psys: bool = _d(False),
        output_methods: Optional[Union[list[Union[OutputMethod, str]], str]] = _d(None),
        force_carbon_intensity_g_co2e_kwh: Optional[float] = _d(None),
        metadata: Optional[Union[dict[str, Any], str]] = _d(None),
        prometheus_delete_on_exit: bool = _d(False),
        prometheus_port: Optional[int] = _d(None),
        prometheus_host: str = _d("127.0.0.1"),
        otel_endpoint: Optional[str] = _d(None),
        otel_headers: Optional[str] = _d(None),
        delivery_timeout_secs: float = _d(2.0),
        job_detection: bool = _d(True),
        device_ownership: str = _d("host"),
        job_gather_timeout_secs: float = _d(2.0),
        scheduler: Optional[str] = _d(None),
        job_id: Optional[str] = _d(None),
        job_name: Optional[str] = _d(None),
        job_user: Optional[str] = _d(None),
        job_account: Optional[str] = _d(None),
        job_partition: Optional[str] = _d(None),
        rank: Optional[int] = _d(None),
        local_rank: Optional[int] = _d(None),
        world_size: Optional[int] = _d(None),
        local_world_size: Optional[int] = _d(None),
        carbon_intensity_provider: str = _d("auto"),
        grid_zone: Optional[str] = _d(None),
        electricitymaps_api_url: str = _d("https://api.electricitymaps.com/v3"),
        uk_grid_api_url: str = _d("https://api.carbonintensity.org.uk"),
        energidataservice_api_url: str = _d("https://api.energidataservice.dk"),
        watttime_api_url: str = _d("https://api.watttime.org"),
        watttime_username: Optional[str] = _d(None),
        watttime_password: Optional[str] = _d(None),
        offline: bool = _d(False),
        country_iso_code: Optional[str] = _d(None),
        region: Optional[str] = _d(None),
        cloud_provider: Optional[str] = _d(None),
        cloud_region: Optional[str] = _d(None),
        country_2letter_iso_code: Optional[str] = _d(None),
    ) -> Callable:
    """Decorator measuring each call of the function; usable bare (``@track_emissions``) or with arguments.

    Takes every parameter of the trackers, plus ``offline`` (use OfflineEmissionsTracker) and the offline
    tracker's location parameters. An argument left out does not override config files or variables. Each call
    of the function gets a tracker of its own; the function's return value and exceptions pass through
    unchanged, and the row is written either way."""
    given = {k: v for k, v in locals().items() if k != "fn" and not isinstance(v, _Unset)}
    is_offline = bool(given.pop("offline", False))
    offline_arguments = {k: given.pop(k) for k in _OFFLINE_ONLY if k in given}
    tracker_arguments = given
    if not is_offline:  # the online tracker takes an explicit place too (skips geolocation, issue 14)
        tracker_arguments.update({k: offline_arguments[k] for k in _ONLINE_PLACE if k in offline_arguments})
    if is_offline and not offline_arguments.get("country_iso_code") and not offline_arguments.get("cloud_provider"):
        from codecarbon.core.config import load_settings

        configured = load_settings({}, offline=True)
        if not configured.country_iso_code and not configured.cloud_provider:
            raise ValueError("track_emissions(offline=True) needs country_iso_code (ISO 3166 alpha-3, e.g. 'FRA') "
                             "or cloud_provider and cloud_region")

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            module = globals()
            if is_offline:
                tracker = module["OfflineEmissionsTracker"](**tracker_arguments, **offline_arguments)
            else:
                tracker = module["EmissionsTracker"](**tracker_arguments)
            tracker.start()
            try:
                return function(*args, **kwargs)
            finally:
                tracker.stop()

        return wrapped

    return decorate(fn) if fn is not None else decorate


class TaskEmissionsTracker:
    """Context manager measuring one task, on a given tracker or on one of its own."""

    def __init__(self, task_name: str, tracker: Optional[BaseEmissionsTracker] = None):
        self.task_name = task_name
        self.tracker = tracker or EmissionsTracker()
        self._own = tracker is None
        self.emissions_data: Optional[EmissionsData] = None

    def __enter__(self) -> TaskEmissionsTracker:
        self.tracker.start_task(self.task_name)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.emissions_data = self.tracker.stop_task(self.task_name)
        if self._own:
            self.tracker.stop()


def track_task_emissions(fn: Optional[Callable] = None, *, tracker: Optional[BaseEmissionsTracker] = None,
                         task_name: str = "") -> Callable:
    """Decorator measuring each call of the function as a task."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with TaskEmissionsTracker(task_name or function.__name__, tracker):
                return function(*args, **kwargs)

        return wrapped

    return decorate(fn) if fn is not None else decorate
