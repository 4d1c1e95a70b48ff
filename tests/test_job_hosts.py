"""One job on two hosts, simulated with separate UTS and mount namespaces: different host names, each its own
state directory at the same path (as on real machines), one shared output directory."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from codecarbon.core.units import JOULES_PER_KWH
from tests.fakes.job_launch import REPO, Job, clean_environment, launcher_environment, rows
from tests.fakes.shared_machine import SharedHost

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) for UTS and mount namespaces")

JOB_ID = "5150"
HOSTS = ("node-a", "node-b")


def _can_unshare() -> bool:
    probe = subprocess.run(["unshare", "--uts", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory: pytest.TempPathFactory):
    if not _can_unshare():
        pytest.skip("this kernel or container refuses new UTS/mount namespaces")
    root = tmp_path_factory.mktemp("two-hosts")
    shared_output = root / "shared-out"
    shared_output.mkdir()
    common_state = root / "state"  # every host sees its own directory here
    common_state.mkdir()
    hosts, jobs, launches = {}, {}, []
    for node, name in enumerate(HOSTS):
        host = SharedHost(root / name / "machine", gpus=2)
        own_state = root / name / "state"
        own_state.mkdir(parents=True)
        job = Job(root / name / "control", host, shared_output)
        env = clean_environment(common_state)
        ranks = []
        for local in range(2):
            variables = launcher_environment("slurm", JOB_ID, node * 2 + local, local, 4, 2, node=node)
            assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items())
            ranks.append(f"env {assignments} {shlex.quote(sys.executable)} -m tests.job_worker "
                         f"{shlex.quote(str(job.control))} &")
        script = (f"hostname {name} && mount --bind {shlex.quote(str(own_state))} "
                  f"{shlex.quote(str(common_state))} && {' '.join(ranks)} wait")
        launches.append(subprocess.Popen(["unshare", "--uts", "--mount", "sh", "-c", script], env=env, cwd=REPO))
        hosts[name], jobs[name] = host, job
    for job in jobs.values():
        job.wait_started(2)
    hosts["node-a"].advance(cpu_j=500.0, ram_j=50.0, gpu_j=[120.0, 80.0])
    hosts["node-b"].advance(cpu_j=200.0, ram_j=20.0, gpu_j=[300.0, 0.0])
    for job in jobs.values():
        (job.control / "stop").write_text("")
    deadline = time.monotonic() + 90
    for launch in launches:
        assert launch.wait(timeout=max(1.0, deadline - time.monotonic())) == 0
    yield hosts, rows(shared_output / "emissions.csv"), shared_output, root


def test_each_hosts_rows_sum_to_that_hosts_energy(two_hosts) -> None:
    hosts, found, _, root = two_hosts
    assert sorted(r["node_name"] for r in found) == ["node-a", "node-a", "node-b", "node-b"]
    for name, host in hosts.items():
        mine = [r for r in found if r["node_name"] == name]
        for component in ("cpu", "gpu", "ram"):
            joules = sum(float(r[f"{component}_energy"]) for r in mine) * JOULES_PER_KWH
            assert joules == pytest.approx(host.joules[component], rel=0.01), (name, component)
        assert sum(r["attribution"].startswith("cpu=host") for r in mine) == 1  # one owner per host
        assert list((root / name / "state").iterdir()), "each host elected in its own state directory"
    assert not list((root / "state").iterdir())  # the namespaces' directory never reached the real one


def test_the_merged_report_equals_the_sum_of_both_hosts(two_hosts) -> None:
    hosts, _, shared_output, _ = two_hosts
    done = subprocess.run([sys.executable, "-m", "codecarbon", "report", str(shared_output), "--format", "json"],
                          capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (job,) = [j for j in report["jobs"] if j["job_id"] == JOB_ID]
    assert job["scheduler"] == "slurm" and set(job["nodes"]) == set(HOSTS)
    for component in ("cpu", "gpu", "ram"):
        expected = sum(h.joules[component] for h in hosts.values()) / JOULES_PER_KWH
        assert job["total"][f"{component}_energy"] == pytest.approx(expected, rel=0.01)
        for name, host in hosts.items():
            assert job["nodes"][name][f"{component}_energy"] == pytest.approx(
                host.joules[component] / JOULES_PER_KWH, rel=0.01)
    assert job["total"]["energy_consumed"] == pytest.approx(
        sum(sum(h.joules.values()) for h in hosts.values()) / JOULES_PER_KWH, rel=0.01)
    assert job["total"]["emissions"] == pytest.approx(sum(n["emissions"] for n in job["nodes"].values()),
                                                      rel=1e-6)
