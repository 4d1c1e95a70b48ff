#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine, then runs the whole suite.
# The real Prometheus Pushgateway comes from Debian's package; Python packages from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus-pushgateway >/dev/null 2>&1 && [ ! -x /usr/bin/prometheus-pushgateway ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus-pushgateway
fi

# Real MPI for the job tests (tests/test_job_mpi.py: mpirun --allow-run-as-root --oversubscribe -np 4):
# Debian's Open MPI, and mpi4py built against it. The tests skip cleanly where mpirun is absent.
if ! command -v mpirun >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends openmpi-bin libopenmpi-dev
fi

# Headless Chromium (Debian's package) loads carbonboard and the HTML report in the view tests; they skip only
# where it cannot be installed.
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      chromium; } || echo "chromium could not be installed: the browser tests of the views will be skipped" >&2
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
python3 -m pip install -q --disable-pip-version-check 'mpi4py>=3.1' || echo "mpi4py did not build: its tests skip"
python3 -m pytest -q -p no:cacheprovider "$@"
