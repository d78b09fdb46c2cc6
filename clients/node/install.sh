#!/usr/bin/env bash
# Installs the Node.js client's npm packages (clients/node/node_modules)
# exactly as package-lock.json pins them, with `npm ci`, when they are missing
# or older than the lockfile. The test suite calls it before running the
# client (ctest NodeClient.NpmCi); run it by hand before the first use.
#
#   clients/node/install.sh            # installs when needed, else does nothing
#   clients/node/install.sh --force    # always runs npm ci
#
# Needs node and npm (scripts/install-deps.sh installs Debian's nodejs and
# npm) and access to the npm registry npm is configured with.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install.sh: $tool not found; run scripts/install-deps.sh" >&2
    exit 2
  fi
done

# One installer at a time (parallel test runs share this folder).
exec 9<"$here"
flock 9

stamp=node_modules/.package-lock.json  # written by npm ci/install
if [ "${1:-}" != "--force" ] && [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ] &&
  [ -d node_modules/@grpc/grpc-js ] && [ -d node_modules/@grpc/proto-loader ]; then
  exit 0
fi

echo "install.sh: npm ci in $here (node $(node --version), npm $(npm --version))" >&2
npm ci --no-audit --no-fund
