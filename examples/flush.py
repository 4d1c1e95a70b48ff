"""Long jobs: write the run so far with flush(), here replacing the row each time (on_csv_write="update")."""

from codecarbon import OfflineEmissionsTracker

tracker = OfflineEmissionsTracker(country_iso_code="GBR", measure_power_secs=0.5, on_csv_write="update")
tracker.start()
for epoch in range(3):
    sum(i * i for i in range(700_000))
    print(f"epoch {epoch}: {tracker.flush() * 1e6:.3g} mg CO2eq so far")
tracker.stop()
