"""Measure every call of a function with the decorator; its return value passes through."""

from codecarbon import track_emissions


@track_emissions(offline=True, country_iso_code="CAN", region="quebec", project_name="decorated",
                 measure_power_secs=0.5)
def train() -> int:
    return sum(i % 7 for i in range(2_000_000))


if __name__ == "__main__":
    print("result:", train())
