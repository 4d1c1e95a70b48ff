"""The rows' column names, in file order: a module of its own so that what needs only the names (the CSV output,
built at construction) does not build the record dataclasses of ``emissions_data`` (issue 16)."""

from __future__ import annotations

# The 38 documented columns, in the order files contain them. Readers index by name or by position.
CSV_COLUMNS: tuple[str, ...] = (
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
    "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
    "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
    "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude",
    "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
)

# Who wrote the row, in a job of many processes (empty outside one; node_name is always the host name);
# core/job.py fills them.
JOB_COLUMNS: tuple[str, ...] = (
    "scheduler", "job_id", "job_name", "job_user", "job_account", "job_partition", "node_name", "rank",
    "local_rank", "world_size", "attribution",
)

# Our additions, only ever after the 38: how each figure was obtained, then the job columns.
EXTRA_COLUMNS: tuple[str, ...] = (
    "cpu_measure", "gpu_measure", "ram_measure", "carbon_intensity", "intensity_source", *JOB_COLUMNS,
)
