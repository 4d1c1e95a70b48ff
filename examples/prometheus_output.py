"""Push each measurement to a Prometheus Pushgateway, then look for the codecarbon_ metrics.

Start a gateway first (e.g. `prometheus-pushgateway` or the prom/pushgateway container on :9091), then run
(a plain `pip install codecarbon` includes prometheus_client; no extra is needed):
    python examples/prometheus_output.py
    curl -s localhost:9091/metrics | grep codecarbon_
The values stay on the gateway after stop(); pass prometheus_delete_on_exit=True to remove them instead.
Credentials, when the gateway wants them, come from PROMETHEUS_USERNAME / PROMETHEUS_PASSWORD.
"""

import time

from codecarbon import OfflineEmissionsTracker

tracker = OfflineEmissionsTracker(country_iso_code="FRA", project_name="prometheus-demo",
                                  output_methods=["csv", "prometheus"], prometheus_url="localhost:9091",
                                  measure_power_secs=1, api_call_interval=2)
tracker.start()
time.sleep(3)  # your computation; a push every 2 measurements, and one at stop()
tracker.stop()  # returns within delivery_timeout_secs (2 s by default) even if the gateway is down
