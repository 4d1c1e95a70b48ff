"""Write a BoAmps report (boamps_report_<run_id>.json) describing what was measured and on what.

Run: python examples/boamps_output.py
The report is valid against the BoAmps schema as written; the task description below makes it useful.
The same context can come from a JSON file: BoAmpsOutput.from_file("boamps.json"), or the tracker's
metadata="boamps.json" parameter with output_methods=["boamps"].
"""

import time

from codecarbon import OfflineEmissionsTracker
from codecarbon.output import BoAmpsOutput

report = BoAmpsOutput.from_dict({
    "task": {
        "taskStage": "inference",
        "taskFamily": "text classification",
        "nbRequest": 1000,
        "algorithms": [{"algorithmType": "llm", "foundationModelName": "distilbert-base-uncased"}],
        "dataset": [{"dataUsage": "input", "dataType": "text", "dataQuantity": 1000}],
    },
    "header": {"publisher": {"name": "my lab", "confidentialityLevel": "public"}},
    "quality": "medium",
})

tracker = OfflineEmissionsTracker(country_iso_code="FRA", output_handlers=[report], measure_power_secs=1)
tracker.start()
time.sleep(3)  # your computation
tracker.stop()
print("report written to", report.last_report_path)
