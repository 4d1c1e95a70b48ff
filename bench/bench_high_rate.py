#!/usr/bin/env python3
"""What ``measure_power_secs=0.01`` (100 readings a second) costs, source by source, on this machine.

Each case runs the real Sampler on its own thread for ``--seconds`` with the UtilizationMeter, as a run with a
live output does (a CSV-only run of counter sources reads only at checkpoints and window ends), while the main
thread sleeps; the process CPU over that time is the sampling thread's. Printed per case: readings per second
achieved, CPU milliseconds per second of run, and CPU per reading. Then the same through a whole tracker with a
live output. Cases: RAPL (a fake powercap tree: 2 packages + DRAM, read through sysfs as on a real machine), NVML
energy counters (8 fake GPUs: the Python side only, a real driver call costs more), the TDP load model over this
machine's real /proc CPU times, and constant power (the floor: the sampler's own work).

    python3 bench/bench_high_rate.py [--seconds 5] [--interval 0.01]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codecarbon.core.sampler import Sampler  # noqa: E402
from codecarbon.hardware import HardwareOptions, SystemSeams, detect_hardware  # noqa: E402
from codecarbon.hardware.ram import ConstantPowerSource  # noqa: E402
from codecarbon.hardware.utilization import UtilizationMeter  # noqa: E402
from codecarbon.output_methods.base_output import BaseOutput  # noqa: E402
from tests.fakes.fake_pynvml import make_fake_nvml  # noqa: E402
from tests.fakes.sysfs import FakeSysfs  # noqa: E402


def rapl_tree(root: Path) -> FakeSysfs:
    fs = FakeSysfs(root)
    for socket in (0, 1):
        fs.add_zone(f"intel-rapl:{socket}", f"package-{socket}", socket * 10_000_000_000)
        fs.add_zone(f"intel-rapl:{socket}:1", "dram", socket * 3_000_000_000)
    return fs


def run_sampler(sources: list, seconds: float, interval: float) -> tuple[float, float]:
    """(readings per second, CPU ms per second of run) of a Sampler reading ``sources`` every ``interval``."""
    meter = UtilizationMeter()
    sampler = Sampler(sources, interval=interval, intensity_g_per_kwh=lambda: 56.0, utilization=meter.sample)
    first = sampler.open()
    sampler.start()
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    latest = sampler.latest
    sampler.stop()
    sampler.close()
    ticks = (latest.ticks - first.ticks) if latest is not None else 0
    return ticks / wall, cpu * 1000 / wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=0.01)
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp())
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        fs = rapl_tree(Path(tmp))
        rapl = detect_hardware(HardwareOptions(rapl_include_dram=True, force_ram_power=None),
                               SystemSeams(fs.sys, Path("/proc"), nvml=make_fake_nvml(0), environ={}))
        cases.append(("rapl (2 packages + dram, sysfs)", [s for s in rapl.sources if s.method.startswith("rapl")]))
        gpus = detect_hardware(HardwareOptions(), SystemSeams(Path(tmp) / "none", Path("/proc"),
                                                              nvml=make_fake_nvml(8), environ={}))
        cases.append(("nvml-energy (8 fake GPUs)", [s for s in gpus.sources if s.component == "gpu"]))
        model = detect_hardware(HardwareOptions(force_mode_cpu_load=True),
                                SystemSeams(Path(tmp) / "none", Path("/proc"), nvml=make_fake_nvml(0), environ={}))
        cases.append(("tdp-model (/proc CPU times)", [s for s in model.sources if s.component == "cpu"]))
        cases.append(("constant power (the floor)", [ConstantPowerSource(10.0, component="ram")]))
        print(f"measure_power_secs={args.interval:g} ({1 / args.interval:.0f} readings/s asked), "
              f"{args.seconds:g} s per case, utilisation sampled at each reading")
        for label, sources in cases:
            rate, cpu_ms = run_sampler(sources, args.seconds, args.interval)
            per = cpu_ms / rate * 1000 if rate else float("nan")
            print(f"  {label:34s} {rate:7.1f} readings/s  {cpu_ms:7.2f} ms CPU per s of run "
                  f"({cpu_ms / 10:.2f} % of a core)  {per:7.1f} µs per reading")

    class Live(BaseOutput):
        def live_out(self, total, delta) -> None:
            pass

    from codecarbon import OfflineEmissionsTracker

    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=args.interval, log_level="error",
                                      output_handlers=[Live()], api_call_interval=100)
    tracker.start()
    start = tracker._sampler.latest.ticks
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(args.seconds)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    ticks = tracker._sampler.latest.ticks - start
    tracker.stop()
    print(f"  whole tracker, this machine's sources ({', '.join(s.method for s in tracker._sampler.sources)}), "
          f"a live output every 100 readings: {ticks / wall:.1f} readings/s, {cpu * 1000 / wall:.2f} ms CPU per s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
