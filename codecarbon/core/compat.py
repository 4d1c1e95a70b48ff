"""CodeCarbon 3.3.2's private tracker attributes that libraries in the wild read, kept as a documented surface.

sentence-transformers and setfit model cards call ``tracker._prepare_emissions_data()`` after checking
``tracker._start_time``; benchmark tools read ``tracker._total_energy.kWh`` and the per-component totals; training
loops log ``tracker._cpu_power.W`` and call ``tracker._measure_power_and_energy()``. The figures come from the
tracker's own sampler, so they are the same measurements the rows hold (PUE applied, as in 3.3.2).

The mixin reads only these parts of the tracker: ``_run`` (None unless running; ``.start`` is the run's first
``Reading``), ``_sampler.read()``, ``_settings.pue``, ``_settings.wue``, ``_record(start, end)`` (an
EmissionsData of a window) and ``final_emissions_data``. docs/compat.md lists what each attribute means.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Optional

from codecarbon.core.parameters import PARAMETERS, _Invalid
from codecarbon.core.sampler import Reading, window_between
from codecarbon.core.units import Energy, Power, Water
from codecarbon.external.logger import log_once, logger
from codecarbon.support.errors import ConfigError

#: Attribute reads this close together share one reading, so the per-component totals add up to the total.
SHARED_READING_S = 0.05

#: ``tracker._<name>`` for these settings reads and writes the tracker's settings (3.x code sets them).
#: ``_output_handlers`` is the list of outputs built at construction, as in 3.3.2, not the setting.
SETTING_ATTRIBUTES = frozenset(name for name in PARAMETERS if name != "output_handlers")
#: Written while running, these show in the next row; the others in WHEN_STARTED apply from the next start().
ROW_SETTINGS = frozenset({"project_name", "experiment_id", "experiment_name", "wue"})
WHEN_STARTED = frozenset({"measure_power_secs", "api_call_interval", "allow_multiple_runs", "pue",
                          "delivery_timeout_secs", "device_ownership", "job_gather_timeout_secs"})


class TrackerCompat:
    """3.3.2's private attributes on top of the tracker's live run state. Read-only; never raises."""

    # provided by the tracker (see the module docstring)
    _settings: Any
    _run: Any
    _sampler: Any
    final_emissions_data: Any

    _compat_run: Any = None  # the run the two readings below belong to
    _compat_mark: Optional[Reading] = None  # the reading at the previous _measure_power_and_energy()
    _compat_latest: Optional[Reading] = None

    # --- settings as attributes --------------------------------------------------------------------------------
    if not TYPE_CHECKING:  # hidden from mypy, which would otherwise accept any attribute name on a tracker
        def __getattr__(self, name: str) -> Any:
            """``tracker._project_name`` and the other ``_<setting>`` reads: the setting's current value."""
            if name[:1] == "_" and name[1:] in SETTING_ATTRIBUTES:
                settings = self.__dict__.get("_settings")
                if settings is not None:
                    return settings.get(name[1:])
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name[:1] == "_" and name[1:] in SETTING_ATTRIBUTES and "_settings" in self.__dict__:
            self._write_setting(name[1:], value)
            return
        object.__setattr__(self, name, value)

    def _write_setting(self, name: str, value: Any) -> None:
        """A 3.x-style write of ``tracker._<name>``: parsed like the argument, kept in the settings, and the row's
        columns rebuilt from them. Nonsense is refused as at construction (ConfigError naming the attribute)."""
        parameter = PARAMETERS[name]
        if value is None and parameter.none_means_not_given:
            parsed = parameter.default
        else:
            try:
                parsed = parameter.none_argument if value is None else parameter.convert(value)
            except _Invalid as problem:
                raise ConfigError(f"_{name} (set on the tracker): expected {problem}") from None
        settings = self.__dict__["_settings"]
        self.__dict__["_settings"] = settings.replaced(**{name: parsed})
        conf = self.__dict__.get("_conf")
        if isinstance(conf, dict):
            conf[name] = parsed
        self.__dict__["_static_cache"] = None  # the next row's static columns come from the new settings
        if name not in ROW_SETTINGS and name not in WHEN_STARTED:
            log_once(f"compat-setting-fixed:{name}", 30, "_%s was set on the tracker: kept in its settings, but "
                     "what it configures was built at construction; pass it to the constructor instead", name)

    # --- readings --------------------------------------------------------------------------------------------
    def _compat_lock(self) -> threading.Lock:
        return self.__dict__.setdefault("_compat_lock_", threading.Lock())  # setdefault is atomic

    def _compat_reading(self, fresh: bool = False) -> Optional[Reading]:
        """The latest reading of the running run (a new one unless one was taken very recently); None if idle."""
        run = getattr(self, "_run", None)
        sampler = getattr(self, "_sampler", None)
        if run is None or sampler is None:
            return None
        with self._compat_lock():
            if self._compat_run is not run:
                self._compat_run, self._compat_mark, self._compat_latest = run, run.start, None
            latest = self._compat_latest
            if fresh or latest is None or time.monotonic() - latest.at > SHARED_READING_S:
                try:
                    latest = sampler.read()
                except Exception as error:  # a reading never raises into user code
                    logger.debug("compat reading failed: %s", error)
                    return self._compat_latest
                self._compat_latest = latest
            return latest

    def _compat_final(self, field: str) -> float:
        data = getattr(self, "final_emissions_data", None)
        value = getattr(data, field, 0.0) if data is not None else 0.0
        return float(value or 0.0)

    def _compat_energy_kwh(self, component: Optional[str]) -> float:
        reading = self._compat_reading()
        if reading is None:  # stopped: the final row's figures; never started: 0
            return self._compat_final(f"{component}_energy" if component else "energy_consumed")
        window = window_between(self._compat_run.start, reading, self._settings.pue)
        return window.energy_kwh[component] if component else window.energy_consumed

    def _compat_power_w(self, component: str) -> float:
        reading = self._compat_reading()
        if reading is None:
            return self._compat_final(f"{component}_power")
        mark = self._compat_mark if self._compat_mark is not None else self._compat_run.start
        return window_between(mark, reading, self._settings.pue).power_w[component]

    # --- 3.3.2's attributes ------------------------------------------------------------------------------------
    @property
    def _start_time(self) -> Optional[float]:
        """When the running run started, on the ``time.perf_counter()`` clock; None when not running."""
        run = getattr(self, "_run", None)
        if run is None:
            return None
        return time.perf_counter() - (time.monotonic() - run.start.at)

    @property
    def _total_energy(self) -> Energy:
        """Energy of the run so far (after the run: of the run), all components, PUE applied."""
        return Energy(self._compat_energy_kwh(None))

    @property
    def _total_cpu_energy(self) -> Energy:
        return Energy(self._compat_energy_kwh("cpu"))

    @property
    def _total_gpu_energy(self) -> Energy:
        return Energy(self._compat_energy_kwh("gpu"))

    @property
    def _total_ram_energy(self) -> Energy:
        return Energy(self._compat_energy_kwh("ram"))

    @property
    def _total_water(self) -> Water:
        return Water(self._compat_energy_kwh(None) * float(self._settings.wue))

    @property
    def _cpu_power(self) -> Power:
        """Mean power since the previous ``_measure_power_and_energy()`` (or the start), PUE applied."""
        return Power.from_watts(self._compat_power_w("cpu"))

    @property
    def _gpu_power(self) -> Power:
        return Power.from_watts(self._compat_power_w("gpu"))

    @property
    def _ram_power(self) -> Power:
        return Power.from_watts(self._compat_power_w("ram"))

    @property
    def _co2_signal_api_token(self) -> Optional[str]:
        """The deprecated name of electricitymaps_api_token."""
        return self._settings.electricitymaps_api_token

    def _measure_power_and_energy(self) -> None:
        """Take a measurement now: the powers then cover the time since the previous one."""
        with self._compat_lock():
            previous = self._compat_latest if self._compat_run is getattr(self, "_run", None) else None
        reading = self._compat_reading(fresh=True)
        if reading is None:
            log_once("compat-measure-idle", 30, "_measure_power_and_energy() needs a started tracker")
            return
        with self._compat_lock():
            self._compat_mark = previous if previous is not None else self._compat_run.start

    def _prepare_emissions_data(self) -> Any:
        """The EmissionsData of the run so far (after the run: its final data; never started: None)."""
        reading = self._compat_reading(fresh=True)
        if reading is None:
            data = getattr(self, "final_emissions_data", None)
            if data is None:
                log_once("compat-prepare-idle", 30, "_prepare_emissions_data() needs a started tracker")
            return data
        return self._record(self._compat_run.start, reading)  # type: ignore[attr-defined]  # the tracker's


__all__ = ["SHARED_READING_S", "TrackerCompat"]
