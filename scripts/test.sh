#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine, lints, type-checks, then runs the
# whole suite. From Debian's packages: the real Prometheus Pushgateway and server, Open MPI (tests/test_job_mpi.py) and
# headless Chromium (the view tests); Python packages from PyPI. Tests needing a missing tool skip cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus-pushgateway >/dev/null 2>&1 || [ -x /usr/bin/prometheus-pushgateway ] \
  || missing+=(prometheus-pushgateway)
command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ] || missing+=(prometheus)
command -v mpirun >/dev/null 2>&1 || missing+=(openmpi-bin libopenmpi-dev)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || echo "some of ${missing[*]} could not be installed: the tests that need them skip" >&2
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
python3 -m pip install -q --disable-pip-version-check 'mpi4py>=3.1' || echo "mpi4py did not build: its tests skip" >&2

echo "ruff:"; python3 -m ruff check .
echo "mypy:"; python3 -m mypy
python3 -m pytest -q -p no:cacheprovider "$@"
