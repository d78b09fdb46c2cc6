#!/usr/bin/env bash
# Configures and builds surge (RelWithDebInfo) into ${SURGE_BUILD_DIR:-build}.
# Extra arguments are passed to `cmake --build` (e.g. --target surge-server).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${SURGE_BUILD_DIR:-build}"
JOBS="${SURGE_JOBS:-$(nproc)}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${SURGE_BUILD_TYPE:-RelWithDebInfo}" \
  ${SURGE_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" "$@"
