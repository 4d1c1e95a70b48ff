"""Fleet outputs: what a scrape costs, what an OpenTelemetry export costs, the memory the otel extra adds, and
that ``import codecarbon`` loads neither.

1. Scrape: a ``/metrics`` endpoint holding ``--series`` label sets (one per tracker of a node: 1 for a node-level
   monitor), scraped over HTTP ``--scrapes`` times; wall ms per scrape (median) and the process's CPU per
   scrape (endpoint and client are in this process, so this is an upper bound for the endpoint), turned into
   CPU per minute at a 15 s scrape interval.
2. OpenTelemetry: one window recorded and encoded by the SDK (``out()``, on the tracker's side) and one OTLP/HTTP
   request to a local receiver (``drain()``, on the delivery thread); median ms of each over ``--exports`` runs.
3. RSS added by the otel extra: a fresh interpreter builds a tracker with the CSV output, then with CSV and
   otel and sends one window; VmRSS after each, in MiB.
4. ``import codecarbon`` and ``from codecarbon import EmissionsTracker``: median wall time in a fresh interpreter,
   this tree against the tree at ``--baseline`` (default /work/main), and whether any opentelemetry or
   prometheus_client module was loaded.

    PYTHONPATH=. python3 bench/bench_fleet.py [--series 1] [--scrapes 400] [--exports 200] [--baseline /work/main]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.otlp import otlp_receiver  # noqa: E402
from tests.test_output_records import make_record  # noqa: E402


def scrape_cost(series: int, scrapes: int) -> None:
    from codecarbon.output_methods.metrics.scrape import PrometheusScrapeOutput, stop_serving

    output = PrometheusScrapeOutput(0)
    for number in range(series):
        record = make_record(project_name=f"bench-{number}", rank=str(number))
        output.out(record, record)
    walls, cpus = [], []
    size = 0
    for _ in range(scrapes):
        cpu, wall = time.process_time(), time.perf_counter()
        with urllib.request.urlopen(output.url, timeout=5) as response:
            size = len(response.read())
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    stop_serving(output.endpoint)
    cpu_per_scrape = statistics.mean(cpus)
    print(f"scrape: {series} label set(s), {size} bytes; {statistics.median(walls) * 1000:.2f} ms per scrape "
          f"(median wall over {scrapes}); CPU {cpu_per_scrape * 1000:.2f} ms per scrape (server and client), "
          f"{cpu_per_scrape * 4 * 1000:.1f} ms CPU per minute at a 15 s interval")


def otel_cost(exports: int) -> None:
    from codecarbon.output_methods.metrics.otel import OtelOutput

    total = make_record(project_name="bench-otel")
    with otlp_receiver() as receiver:
        output = OtelOutput(receiver.url)
        records, sends = [], []
        for number in range(exports):
            delta = replace(total, cpu_energy=0.001 * (number + 1), emissions=0.0001)
            started = time.perf_counter()
            output.out(total, delta)
            records.append(time.perf_counter() - started)
            started = time.perf_counter()
            output.drain(5.0)
            sends.append(time.perf_counter() - started)
        body = len(receiver.bodies[-1])
    print(f"otel: record + encode one window {statistics.median(records) * 1000:.2f} ms (tracker side), "
          f"OTLP/HTTP request {statistics.median(sends) * 1000:.2f} ms (delivery thread), {body} bytes; "
          f"median over {exports}")


RSS_CODE = """
import sys, tempfile
from dataclasses import replace
sys.path.insert(0, {repo!r})
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
from codecarbon import OfflineEmissionsTracker
folder = tempfile.mkdtemp()
plain = OfflineEmissionsTracker(country_iso_code='FRA', output_dir=folder, output_methods=['csv'])
before = rss()
from tests.fakes.otlp import otlp_receiver
from tests.test_output_records import make_record
with otlp_receiver() as receiver:
    rss_receiver = rss()
    tracker = OfflineEmissionsTracker(country_iso_code='FRA', output_dir=folder, output_methods=['csv', 'otel'],
                                      otel_endpoint=receiver.url)
    output = tracker._output_handlers[-1]
    record = make_record()
    output.out(record, record)
    output.drain(5.0)
    after = rss()
print(before, after - rss_receiver)
"""


def rss_added() -> None:
    result = subprocess.run([sys.executable, "-c", RSS_CODE.format(repo=str(REPO))], capture_output=True,
                            text=True, timeout=300, check=True)
    before, added = (float(x) for x in result.stdout.split())
    print(f"rss: tracker with CSV {before:.1f} MiB; the otel output (SDK, exporter encoder, protobuf) adds "
          f"{added:.1f} MiB")


IMPORT_CODE = ("import time, sys; t = time.perf_counter(); {statement}; d = time.perf_counter() - t; "
               "print(d, sum(1 for m in sys.modules if m.startswith(('opentelemetry', 'prometheus_client'))))")
STATEMENTS = ("import codecarbon", "from codecarbon import EmissionsTracker")


def import_time(tree: Path, statement: str, runs: int = 9) -> tuple[float, int]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    times, loaded = [], 0
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", IMPORT_CODE.format(statement=statement)], env=env,
                             capture_output=True, text=True, timeout=120, check=True).stdout.split()
        times.append(float(out[0]))
        loaded = max(loaded, int(out[1]))
    return statistics.median(times), loaded


def import_cost(baseline: Path) -> None:
    for statement in STATEMENTS:
        ours, loaded = import_time(REPO, statement)
        line = f"{statement}: {ours * 1000:.1f} ms (median of 9 fresh interpreters), {loaded} opentelemetry/" \
               f"prometheus_client modules loaded"
        if baseline.is_dir():
            theirs, _ = import_time(baseline, statement)
            line += f"; baseline {baseline}: {theirs * 1000:.1f} ms (ratio {ours / theirs:.2f})"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1)
    parser.add_argument("--scrapes", type=int, default=400)
    parser.add_argument("--exports", type=int, default=200)
    parser.add_argument("--baseline", type=Path, default=Path("/work/main"))
    args = parser.parse_args()
    scrape_cost(args.series, args.scrapes)
    scrape_cost(16, args.scrapes // 4)
    otel_cost(args.exports)
    rss_added()
    import_cost(args.baseline)


if __name__ == "__main__":
    main()
