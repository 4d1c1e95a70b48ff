"""Who this process is within a job of many processes, read from the launcher's own environment.

Launchers already tell each process its place: torchrun (and DeepSpeed / Accelerate, which use its variables),
SLURM's ``srun``, Open MPI's ``mpirun`` and MPICH's Hydra (PMI). Reading those variables costs nothing and needs
neither torch nor mpi4py. The innermost launcher gives the ranks (torchrun inside ``srun`` numbers its workers
itself; ``mpirun`` inside an allocation renumbers the tasks); the scheduler gives the job's identity (id, name,
user, account, partition). Schedulers we do not read (PBS, LSF, Flux, ...) are described through the settings
``scheduler``, ``job_id``, ``rank``, ... (``CODECARBON_SCHEDULER``, ``CODECARBON_JOB_ID``, ...), which also
override whatever was detected.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from codecarbon.core.state import hostname
from codecarbon.external.logger import log_once
from codecarbon.output_methods.columns import JOB_COLUMNS  # the row columns this module fills

#: settings that override detection (text fields, then integer fields)
TEXT_OVERRIDES: tuple[str, ...] = ("scheduler", "job_id", "job_name", "job_user", "job_account", "job_partition")
NUMBER_OVERRIDES: tuple[str, ...] = ("rank", "local_rank", "world_size", "local_world_size")


@dataclass(frozen=True)
class JobInfo:
    """This process's place in its job; empty / None fields are unknown. ``found`` names each field's origin."""

    node_name: str
    scheduler: str = ""
    launcher: str = ""
    job_id: str = ""
    job_name: str = ""
    job_user: str = ""
    job_account: str = ""
    job_partition: str = ""
    step_id: str = ""
    rank: Optional[int] = None
    local_rank: Optional[int] = None
    world_size: Optional[int] = None
    local_world_size: Optional[int] = None
    node_rank: Optional[int] = None
    #: field -> the variable (or setting) it came from, for ``codecarbon detect``
    found: Mapping[str, str] = field(default_factory=dict)
    #: the launcher's process id, which groups a job's local processes when the launcher gives no job id
    launcher_pid: Optional[int] = None

    @property
    def in_job(self) -> bool:
        """Whether anything says this process belongs to a job (one process alone is not one)."""
        return bool(self.scheduler or self.launcher or self.job_id or self.rank is not None
                    or self.world_size is not None)

    def host_key(self) -> str:
        """Names this job on this host: the processes sharing it elect the owners of the host's devices.

        The job id when known (a re-launch with the same id elects again, since ownership dies with its holder);
        otherwise the launcher's process, which every local process of one launch shares. The host name is part
        of it: a state directory on a network home shared by many hosts must not elect one owner for all."""
        if self.job_id:
            identity = f"{self.node_name}|{self.scheduler}|{self.job_id}"
        else:
            identity = f"{self.node_name}|{self.scheduler}|{self.launcher}|ppid={self.launcher_pid}"
        from codecarbon.support.statedir import sha256_hex  # the same digest without mapping OpenSSL

        return sha256_hex(identity.encode("utf-8", "surrogatepass"))[:20]

    def columns(self, attribution: str = "") -> dict[str, str]:
        """The job columns of a row: text, empty when unknown (node_name is always the host name)."""
        def number(value: Optional[int]) -> str:
            return "" if value is None else str(value)

        if not self.in_job:
            return {**dict.fromkeys(JOB_COLUMNS, ""), "node_name": self.node_name}
        return {
            "scheduler": self.scheduler, "job_id": self.job_id, "job_name": self.job_name,
            "job_user": self.job_user, "job_account": self.job_account, "job_partition": self.job_partition,
            "node_name": self.node_name, "rank": number(self.rank), "local_rank": number(self.local_rank),
            "world_size": number(self.world_size), "attribution": attribution,
        }

    def describe(self) -> list[str]:
        """Lines for ``codecarbon detect``."""
        if not self.in_job:
            return [f"  Job:       none detected (host {self.node_name})"]
        lines = [f"  Job:       {self.scheduler or '?'}" + (f" (launcher {self.launcher})"
                                                            if self.launcher and self.launcher != self.scheduler
                                                            else "")]
        for name in ("job_id", "job_name", "job_user", "job_account", "job_partition", "step_id", "node_name",
                     "rank", "local_rank", "world_size", "local_world_size", "node_rank"):
            value = getattr(self, name)
            if value is None or value == "":
                continue
            origin = self.found.get(name)
            lines.append(f"    {name + ':':<18}{value}" + (f"  ({origin})" if origin else ""))
        return lines


# --------------------------------------------------------------------------------------------- reading

#: the most digits a rank or a size may have: more is no launcher's value (and ``int()`` of 5,000 digits raises)
MAX_DIGITS = 9


def _integer(text: Optional[str], name: str = "") -> Optional[int]:
    """A launcher's rank or size: plain ASCII digits only. Anything else (``²``, ``②``, a sign, thousands of
    digits) is no rank: ignored with one warning, never an error that stops the tracker."""
    if text is None:
        return None
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and len(stripped) <= MAX_DIGITS:
        return int(stripped)
    if stripped:
        shown = stripped if len(stripped) <= 24 else stripped[:20] + "..."
        log_once(f"job-variable:{name}", logging.WARNING,
                 "ignoring %s=%r: a launcher's rank or size is a whole number of at most %d digits",
                 name or "a job variable", shown, MAX_DIGITS)
    return None


class _Reader:
    """Collects fields from variables, remembering which variable gave each (first found wins)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.values: dict[str, Any] = {}
        self.found: dict[str, str] = {}

    def has(self, *names: str) -> bool:
        return any(self.environ.get(name) not in (None, "") for name in names)

    def text(self, target: str, *names: str) -> None:
        if target in self.values:
            return
        for name in names:
            value = self.environ.get(name)
            if value not in (None, ""):
                self.values[target], self.found[target] = value.strip(), name
                return

    def number(self, target: str, *names: str) -> None:
        if target in self.values:
            return
        for name in names:
            value = _integer(self.environ.get(name), name)
            if value is not None:
                self.values[target], self.found[target] = value, name
                return


def _launcher(reader: _Reader) -> str:
    """The innermost launcher of this process: its variables give the ranks."""
    env = reader.environ
    if reader.has("TORCHELASTIC_RUN_ID") or (reader.has("RANK", "LOCAL_RANK") and reader.has("WORLD_SIZE")):
        reader.number("rank", "RANK")
        reader.number("local_rank", "LOCAL_RANK")
        reader.number("world_size", "WORLD_SIZE")
        reader.number("local_world_size", "LOCAL_WORLD_SIZE")
        reader.number("node_rank", "GROUP_RANK")
        run_id = (env.get("TORCHELASTIC_RUN_ID") or "").strip()
        if run_id and run_id.lower() != "none":  # torchrun's default rendezvous id is the word "none"
            reader.values.setdefault("launcher_job_id", run_id)
            reader.found.setdefault("launcher_job_id", "TORCHELASTIC_RUN_ID")
        return "torchrun"
    if reader.has("OMPI_COMM_WORLD_RANK"):
        reader.number("rank", "OMPI_COMM_WORLD_RANK")
        reader.number("local_rank", "OMPI_COMM_WORLD_LOCAL_RANK")
        reader.number("world_size", "OMPI_COMM_WORLD_SIZE")
        reader.number("local_world_size", "OMPI_COMM_WORLD_LOCAL_SIZE")
        reader.number("node_rank", "OMPI_COMM_WORLD_NODE_RANK")
        reader.text("launcher_job_id", "PMIX_NAMESPACE", "OMPI_MCA_ess_base_jobid", "OMPI_MCA_orte_ess_jobid")
        return "openmpi"
    if reader.has("PMI_RANK") or reader.has("MPI_LOCALRANKID") or reader.has("PMIX_RANK"):
        reader.number("rank", "PMI_RANK", "PMIX_RANK")
        reader.number("local_rank", "MPI_LOCALRANKID", "PMI_LOCAL_RANK", "MPI_LOCALRANK")
        reader.number("world_size", "PMI_SIZE", "PMIX_SIZE")
        reader.number("local_world_size", "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE")
        reader.text("launcher_job_id", "PMIX_NAMESPACE")
        return "mpich"
    if reader.has("SLURM_JOB_ID", "SLURM_JOBID") and reader.has("SLURM_PROCID"):
        reader.number("rank", "SLURM_PROCID")
        reader.number("local_rank", "SLURM_LOCALID")
        reader.number("world_size", "SLURM_NTASKS", "SLURM_NPROCS")
        reader.number("node_rank", "SLURM_NODEID")
        return "slurm"
    return ""


def _slurm(reader: _Reader) -> bool:
    """The SLURM job's identity; an array task is ``<array job>_<task>``, as Slurm itself names it."""
    if not reader.has("SLURM_JOB_ID", "SLURM_JOBID"):
        return False
    env = reader.environ
    array_job, array_task = env.get("SLURM_ARRAY_JOB_ID", "").strip(), env.get("SLURM_ARRAY_TASK_ID", "").strip()
    if array_job and array_task:
        reader.values["job_id"] = f"{array_job}_{array_task}"
        reader.found["job_id"] = "SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID"
    reader.text("job_id", "SLURM_JOB_ID", "SLURM_JOBID")
    reader.text("job_name", "SLURM_JOB_NAME")
    reader.text("job_user", "SLURM_JOB_USER")
    reader.text("job_account", "SLURM_JOB_ACCOUNT")
    reader.text("job_partition", "SLURM_JOB_PARTITION")
    reader.text("step_id", "SLURM_STEP_ID", "SLURM_STEPID")
    if "node_rank" not in reader.values:
        reader.number("node_rank", "SLURM_NODEID")
    return True


def detect_job(environ: Optional[Mapping[str, str]] = None, *, enabled: bool = True,
               overrides: Optional[Mapping[str, Any]] = None, node_name: Optional[str] = None) -> JobInfo:
    """This process's job, from the launcher's variables (when ``enabled``) then the explicit ``overrides``
    (settings named as in ``TEXT_OVERRIDES`` / ``NUMBER_OVERRIDES``; None means not given)."""
    env = os.environ if environ is None else environ
    reader = _Reader(env if enabled else {})
    launcher = _launcher(reader)
    scheduler = launcher
    if _slurm(reader):
        scheduler = "slurm"
    if "job_id" not in reader.values and "launcher_job_id" in reader.values:
        reader.values["job_id"] = reader.values["launcher_job_id"]
        reader.found["job_id"] = reader.found["launcher_job_id"]
    values = {k: v for k, v in reader.values.items() if k != "launcher_job_id"}
    found = {k: v for k, v in reader.found.items() if k != "launcher_job_id"}
    if scheduler:
        found["scheduler"] = "environment"
    info = JobInfo(node_name=node_name or hostname(), scheduler=scheduler, launcher=launcher,
                   found=found, launcher_pid=os.getppid() if launcher else None, **values)
    return apply_overrides(info, overrides or {})


def apply_overrides(info: JobInfo, overrides: Mapping[str, Any]) -> JobInfo:
    """Explicit settings win over what the environment said."""
    changes: dict[str, Any] = {}
    found = dict(info.found)
    for name in TEXT_OVERRIDES:
        value = overrides.get(name)
        if value is not None and str(value).strip():
            changes[name] = str(value).strip()
            found[name] = "setting"
    for name in NUMBER_OVERRIDES:
        value = overrides.get(name)
        if value is not None:
            changes[name] = int(value)
            found[name] = "setting"
    if not changes:
        return info
    if info.launcher_pid is None:
        changes["launcher_pid"] = os.getppid()
    return replace(info, found=found, **changes)


def job_from_settings(settings: Any, environ: Optional[Mapping[str, str]] = None) -> JobInfo:
    """The job as the tracker's settings describe it (``job_detection`` and the override settings)."""
    def get(name: str, default: Any = None) -> Any:
        try:
            return settings.get(name, default)
        except Exception:  # settings may be any mapping-like object; a missing value is the default
            return default

    overrides = {name: get(name) for name in TEXT_OVERRIDES + NUMBER_OVERRIDES}
    return detect_job(environ, enabled=bool(get("job_detection", True)), overrides=overrides)
