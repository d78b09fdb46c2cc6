#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the whole test suite:
# installs missing packages, builds everything, runs every test with ctest.
# Extra arguments are passed to ctest (e.g. -L integration, -R EventStore).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${SURGE_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j "${SURGE_TEST_JOBS:-2}" "$@"
