"""Test-only bootstrap: one process of a simulated job, measuring a ``SharedHost`` through the real tracker.

Run as ``python -m tests.job_worker <control dir>`` with the launcher's variables in the environment (or under a
real ``mpirun``). ``<control dir>/machine.json`` describes the fake host (``tests.fakes.shared_machine``) and
the tracker's arguments. The worker starts its tracker, says so (``started-<pid>``), waits for the test to write
``stop``, stops, and leaves what it saw in ``done-<pid>.json``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main(control: Path) -> int:
    description = json.loads((control / "machine.json").read_text())
    if description.get("mpi4py"):
        from mpi4py import MPI  # the real library, initialised by the real launcher

        communicator = MPI.COMM_WORLD
        mpi = {"rank": communicator.Get_rank(), "size": communicator.Get_size()}
    else:
        mpi = None

    from codecarbon import OfflineEmissionsTracker
    from codecarbon.hardware import SystemSeams
    from tests.fakes.shared_machine import nvml_from

    class HostTracker(OfflineEmissionsTracker):
        _system_seams = SystemSeams(sysfs_root=Path(description["sysfs"]), nvml=nvml_from(description),
                                    environ=os.environ)

    tracker = HostTracker(country_iso_code="FRA", measure_power_secs=999, rapl_include_dram=True,
                          output_dir=description["output_dir"], **description.get("arguments", {}))
    started = time.perf_counter()
    tracker.start()
    start_cost = time.perf_counter() - started
    (control / f"started-{os.getpid()}").write_text("")
    deadline = time.monotonic() + 120
    while not (control / "stop").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    tracker.stop()
    data = tracker.final_emissions_data
    result = {"mpi": mpi, "start_s": start_cost, "attribution": data.attribution if data else None,
              "rank": data.rank if data else None}
    (control / f"done-{os.getpid()}.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
