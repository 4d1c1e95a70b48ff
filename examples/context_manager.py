"""Measure one block of code with a ``with`` statement."""

from codecarbon import OfflineEmissionsTracker

with OfflineEmissionsTracker(country_iso_code="USA", region="california", measure_power_secs=0.5) as tracker:
    squares = [i * i for i in range(2_000_000)]

print(f"{tracker.final_emissions * 1e6:.3g} mg CO2eq in California")
