"""Split a run into named tasks; each task gets its own row in emissions_<experiment>_<run_id>.csv."""

from codecarbon import OfflineEmissionsTracker

tracker = OfflineEmissionsTracker(country_iso_code="DEU", measure_power_secs=0.5, experiment_name="tasks-demo")
tracker.start()
for name, size in (("load", 500_000), ("train", 2_000_000), ("evaluate", 300_000)):
    tracker.start_task(name)
    sum(i * i for i in range(size))
    task = tracker.stop_task(name)
    print(f"{name}: {task.energy_consumed * 1e6:.3g} mWh, {task.emissions * 1e6:.3g} mg CO2eq")
tracker.stop()
