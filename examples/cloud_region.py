"""Measure on a cloud VM: the cloud region's own published intensity is used (no network needed)."""

from codecarbon import OfflineEmissionsTracker

with OfflineEmissionsTracker(cloud_provider="gcp", cloud_region="europe-west1", project_name="cloud",
                             measure_power_secs=0.5) as tracker:
    total = sum(i * i for i in range(1_500_000))
data = tracker.final_emissions_data
print(f"{tracker.final_emissions * 1e6:.3g} mg CO2eq at {data.carbon_intensity:.0f} g/kWh ({data.intensity_source})")
