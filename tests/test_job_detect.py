"""Knowing the job from the launcher's variables, and the settings that override or turn it off."""

from __future__ import annotations

import pytest

from codecarbon.core.config import load_settings
from codecarbon.core.job import JOB_COLUMNS, detect_job, job_from_settings
from codecarbon.support.errors import ConfigError


def test_torchrun_variables_give_ranks_and_the_run_id() -> None:
    job = detect_job({"RANK": "5", "LOCAL_RANK": "1", "WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4",
                      "GROUP_RANK": "1", "TORCHELASTIC_RUN_ID": "run-7"}, node_name="n1")
    assert (job.scheduler, job.launcher, job.job_id) == ("torchrun", "torchrun", "run-7")
    assert (job.rank, job.local_rank, job.world_size, job.local_world_size, job.node_rank) == (5, 1, 8, 4, 1)
    assert job.found["rank"] == "RANK"


def test_torchruns_default_run_id_none_is_no_job_id() -> None:
    job = detect_job({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "TORCHELASTIC_RUN_ID": "none"})
    assert job.in_job and job.job_id == "" and job.launcher_pid is not None


def test_slurm_srun_task() -> None:
    env = {"SLURM_JOB_ID": "991", "SLURM_STEP_ID": "2", "SLURM_PROCID": "3", "SLURM_LOCALID": "1",
           "SLURM_NODEID": "1", "SLURM_NTASKS": "4", "SLURM_JOB_NAME": "train", "SLURM_JOB_USER": "bob",
           "SLURM_JOB_ACCOUNT": "acc", "SLURM_JOB_PARTITION": "gpu"}
    job = detect_job(env, node_name="gpu-07")
    assert job.columns("cpu=host;gpu=0;ram=host") == {
        "scheduler": "slurm", "job_id": "991", "job_name": "train", "job_user": "bob", "job_account": "acc",
        "job_partition": "gpu", "node_name": "gpu-07", "rank": "3", "local_rank": "1", "world_size": "4",
        "attribution": "cpu=host;gpu=0;ram=host"}
    assert job.step_id == "2" and job.node_rank == 1
    assert list(job.columns()) == list(JOB_COLUMNS)


def test_slurm_array_task_is_named_as_slurm_names_it() -> None:
    job = detect_job({"SLURM_JOB_ID": "1001", "SLURM_ARRAY_JOB_ID": "1000", "SLURM_ARRAY_TASK_ID": "3",
                      "SLURM_PROCID": "0", "SLURM_NTASKS": "1"})
    assert job.job_id == "1000_3"


def test_torchrun_inside_srun_takes_ranks_from_torchrun_and_the_id_from_slurm() -> None:
    job = detect_job({"SLURM_JOB_ID": "77", "SLURM_PROCID": "1", "SLURM_NTASKS": "2", "SLURM_LOCALID": "0",
                      "RANK": "6", "LOCAL_RANK": "2", "WORLD_SIZE": "8", "TORCHELASTIC_RUN_ID": "abc"})
    assert (job.scheduler, job.launcher, job.job_id, job.rank, job.world_size) == ("slurm", "torchrun", "77", 6, 8)


def test_mpirun_inside_an_allocation_renumbers_the_tasks() -> None:
    job = detect_job({"SLURM_JOB_ID": "77", "SLURM_PROCID": "0", "SLURM_NTASKS": "1",
                      "OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_LOCAL_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4",
                      "OMPI_COMM_WORLD_LOCAL_SIZE": "4", "PMIX_NAMESPACE": "prterun-x-1@1"})
    assert (job.scheduler, job.launcher, job.job_id, job.rank, job.world_size) == ("slurm", "openmpi", "77", 3, 4)


def test_open_mpi_alone_uses_its_namespace_as_job_id() -> None:
    job = detect_job({"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
                      "OMPI_COMM_WORLD_LOCAL_SIZE": "2", "PMIX_NAMESPACE": "1602748417"})
    assert (job.scheduler, job.job_id, job.rank, job.local_rank, job.local_world_size) == \
        ("openmpi", "1602748417", 1, 1, 2)


def test_mpich_hydra_pmi_variables() -> None:
    job = detect_job({"PMI_RANK": "2", "PMI_SIZE": "4", "MPI_LOCALRANKID": "0", "MPI_LOCALNRANKS": "2"})
    assert (job.scheduler, job.rank, job.world_size, job.local_rank, job.local_world_size) == ("mpich", 2, 4, 0, 2)


def test_no_launcher_is_no_job_and_gives_empty_columns() -> None:
    job = detect_job({"HOME": "/root"}, node_name="laptop")
    assert not job.in_job
    assert job.columns("ignored") == {**dict.fromkeys(JOB_COLUMNS, ""), "node_name": "laptop"}


def test_settings_describe_an_unknown_scheduler_and_override_detection() -> None:
    environ = {"CODECARBON_SCHEDULER": "pbs", "CODECARBON_JOB_ID": "12.pbs01", "CODECARBON_RANK": "1",
               "CODECARBON_WORLD_SIZE": "2", "SLURM_JOB_ID": "5", "SLURM_PROCID": "0", "SLURM_NTASKS": "9"}
    settings = load_settings({"job_name": "sim"}, environ=environ)
    job = job_from_settings(settings, environ=environ)
    assert (job.scheduler, job.job_id, job.job_name, job.rank, job.world_size) == ("pbs", "12.pbs01", "sim", 1, 2)
    assert job.found["job_id"] == "setting"


def test_job_detection_off_ignores_the_launcher_but_keeps_explicit_settings() -> None:
    environ = {"SLURM_JOB_ID": "5", "SLURM_PROCID": "1", "SLURM_NTASKS": "2"}
    assert not job_from_settings(load_settings({"job_detection": False}, environ={}), environ=environ).in_job
    job = job_from_settings(load_settings({"job_detection": "no", "job_id": "mine"}, environ={}), environ=environ)
    assert job.in_job and job.job_id == "mine" and job.rank is None


def test_bad_job_settings_fail_at_construction_naming_the_parameter() -> None:
    with pytest.raises(ConfigError, match="rank"):
        load_settings({"rank": -1}, environ={})
    with pytest.raises(ConfigError, match="CODECARBON_WORLD_SIZE"):
        load_settings({}, environ={"CODECARBON_WORLD_SIZE": "many"})
    with pytest.raises(ConfigError, match="device_ownership"):
        load_settings({"device_ownership": "sometimes"}, environ={})


def test_the_host_key_groups_one_job_and_separates_others() -> None:
    a = detect_job({"SLURM_JOB_ID": "1", "SLURM_PROCID": "0", "SLURM_NTASKS": "2"})
    b = detect_job({"SLURM_JOB_ID": "1", "SLURM_PROCID": "1", "SLURM_NTASKS": "2"})
    c = detect_job({"SLURM_JOB_ID": "2", "SLURM_PROCID": "0", "SLURM_NTASKS": "2"})
    assert a.host_key() == b.host_key() != c.host_key()


def test_codecarbon_detect_shows_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from codecarbon.cli.main import main

    for name, value in {"SLURM_JOB_ID": "31", "SLURM_PROCID": "2", "SLURM_NTASKS": "4",
                        "SLURM_JOB_NAME": "bert"}.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["detect"]) == 0
    text = out.getvalue()
    assert "Job:       slurm" in text and "31  (SLURM_JOB_ID)" in text and "bert" in text
    assert "each device of this host measured once" in text


@pytest.mark.parametrize("rank, world", [("²", "②"), ("1" * 5000, "4"), ("-1", "+2"), ("٣", "8")],
                         ids=["superscript-and-circled", "5000-digits", "signed", "arabic-indic-digit"])
def test_a_launchers_unusable_numbers_are_ignored_with_one_warning(codecarbon_log, monkeypatch: pytest.MonkeyPatch,
                                                                    rank: str, world: str) -> None:
    from codecarbon.external import logger as logger_module

    monkeypatch.setattr(logger_module, "_said_once", set())
    job = detect_job({"RANK": rank, "LOCAL_RANK": "0", "WORLD_SIZE": world, "TORCHELASTIC_RUN_ID": "r1"})
    assert job.launcher == "torchrun" and job.local_rank == 0 and job.job_id == "r1"
    assert job.rank is None and "rank" not in job.found
    warned = [r.getMessage() for r in codecarbon_log.records if "ignoring RANK=" in r.getMessage()]
    assert len(warned) == 1 and len(warned[0]) < 300  # a 5,000-digit value is cut in the message
    detect_job({"RANK": rank, "LOCAL_RANK": "0", "WORLD_SIZE": world})
    assert len([r for r in codecarbon_log.records if "ignoring RANK=" in r.getMessage()]) == 1  # once
