#!/usr/bin/env python3
"""CPU cost of the sampling loop: one tick = every source's read_joules() + UtilizationMeter.sample().

Runs over a fake two-socket RAPL tree (with DRAM zones) and, when the GPU helper's fake NVML is present,
8 fake GPUs; then reports CPU seconds per tick and the share of one core that costs at a 0.1 s and 1 s
``measure_power_secs``. Also times detect_hardware() cold (first call) and warm (facts cached).

Usage: python bench/bench_sampling.py [--ticks N] [--mode machine|process]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from codecarbon.hardware import HardwareOptions, SystemSeams, clear_cache, detect_hardware  # noqa: E402
from codecarbon.hardware.utilization import UtilizationMeter  # noqa: E402
from tests.fakes.sysfs import FakeSysfs  # noqa: E402


def build_tree(root: Path) -> FakeSysfs:
    fs = FakeSysfs(root)
    fs.write_cpuinfo("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", sockets=2, cores_per_socket=16)
    fs.write_meminfo(256 * 1024 * 1024, 128 * 1024 * 1024)
    fs.write_stat(100_000, 20_000, 500_000)
    for socket in (0, 1):
        fs.add_zone(f"intel-rapl:{socket}", f"package-{socket}", socket * 10_000_000_000)
        fs.add_zone(f"intel-rapl:{socket}:0", "core", 0)
        fs.add_zone(f"intel-rapl:{socket}:1", "dram", socket * 3_000_000_000)
    return fs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=5000)
    parser.add_argument("--mode", choices=("machine", "process"), default="machine")
    args = parser.parse_args()
    nvml = None
    try:
        from tests.fakes.fake_pynvml import make_fake_nvml

        nvml = make_fake_nvml(8)
    except ImportError:
        print("no fake NVML found: RAPL and RAM only")
    with tempfile.TemporaryDirectory() as tmp:
        fs = build_tree(Path(tmp))
        seams = SystemSeams(fs.sys, fs.proc, nvml=nvml, environ={})
        options = HardwareOptions(tracking_mode=args.mode, rapl_include_dram=True)
        start = time.perf_counter()
        hardware = detect_hardware(options, seams)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        detect_hardware(options, seams)
        warm = time.perf_counter() - start
        refresh = float("inf")
        for _ in range(5):  # modules imported; facts re-read each time (best of 5)
            clear_cache()
            start = time.perf_counter()
            detect_hardware(HardwareOptions(), SystemSeams(fs.sys, fs.proc, environ={}))
            refresh = min(refresh, time.perf_counter() - start)
        print(f"detect_hardware: first {cold * 1e3:.2f} ms, cached {warm * 1e3:.2f} ms, "
              f"facts re-read (modules warm) {refresh * 1e3:.2f} ms")
        print("sources:", ", ".join(f"{s.component}:{s.method}" for s in hardware.sources),
              f"({hardware.gpu_count} GPUs)")
        meter = UtilizationMeter(seams)
        for source in hardware.sources:
            source.open()
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for _ in range(args.ticks):
            for source in hardware.sources:
                source.read_joules()
            meter.sample()
        per_tick = (time.process_time() - cpu_start) / args.ticks
        wall_per_tick = (time.perf_counter() - wall_start) / args.ticks
        for source in hardware.sources:
            source.close()
    print(f"per tick: {per_tick * 1e6:.1f} µs CPU ({wall_per_tick * 1e6:.1f} µs wall) over {args.ticks} ticks")
    for interval in (0.1, 1.0):
        print(f"measure_power_secs={interval:g}: {100 * per_tick / interval:.3f} % of one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
