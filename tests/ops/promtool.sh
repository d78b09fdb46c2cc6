#!/usr/bin/env bash
# Runs promtool for ctest (OpsRules.*); exits 77 (ctest: skipped) when the
# prometheus package is not installed (scripts/install-deps.sh installs it).
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not installed (package prometheus)" >&2
  exit 77
fi
exec promtool "$@"
