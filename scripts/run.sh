#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running surge-server:
# installs missing packages, builds, and starts the server in the foreground
# with the embedded Kafka broker and data in ./surge-data. Extra arguments
# are passed to surge-server (see `surge-server --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target surge-server surge-cli
exec "${SURGE_BUILD_DIR:-build}/server/surge-server" --data_dir=./surge-data "$@"
