"""Send each measurement as one JSON message to your own logger (or to Google Cloud Logging).

Run: python examples/logging_output.py
"""

import logging
import time

from codecarbon import OfflineEmissionsTracker
from codecarbon.output import LoggerOutput

emissions_logger = logging.getLogger("my-emissions")  # a logger of yours, not codecarbon's own
emissions_logger.addHandler(logging.StreamHandler())
emissions_logger.setLevel(logging.INFO)

# For Google Cloud Logging instead (pip install 'codecarbon[google-cloud-logging]'):
#   import google.cloud.logging
#   from codecarbon.output import GoogleCloudLoggerOutput
#   my_logger = GoogleCloudLoggerOutput(google.cloud.logging.Client().logger("codecarbon"))
my_logger = LoggerOutput(emissions_logger, logging.INFO)

tracker = OfflineEmissionsTracker(country_iso_code="FRA", output_methods=["csv", "logger"],
                                  logging_logger=my_logger, measure_power_secs=1)
tracker.start()
time.sleep(3)  # your computation
tracker.stop()
