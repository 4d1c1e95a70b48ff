"""Track a short computation with no network at all, print the result and write emissions.csv."""

import math

from codecarbon import OfflineEmissionsTracker

tracker = OfflineEmissionsTracker(country_iso_code="FRA", project_name="quickstart", measure_power_secs=0.5)
tracker.start()
total = sum(math.sqrt(i) for i in range(3_000_000))  # the computation being measured
emissions_kg = tracker.stop()

data = tracker.final_emissions_data
print(f"{emissions_kg * 1e6:.3g} mg CO2eq, {data.energy_consumed * 1e6:.3g} mWh in {data.duration:.2f} s "
      f"(cpu: {data.cpu_measure}, ram: {data.ram_measure}) -> emissions.csv")
