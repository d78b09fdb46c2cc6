#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (libraries
# instrumented for coverage, ASan and UBSan) and runs each for N seconds.
#
#   scripts/fuzz.sh            # 10 s per target
#   scripts/fuzz.sh 600        # a longer run
#   SURGE_FUZZ_TARGETS="validation_fuzzer" scripts/fuzz.sh 60
#
# Each target starts from its committed seeds (tests/fuzz/corpus/<target>/,
# copied, never written) plus the inputs earlier runs found
# (<build>/corpus/<target>/).
# A crash leaves the input in <build>/artifacts/; after fixing the bug, copy
# it into tests/fuzz/corpus/<target>/ so the corpus replay test (part of the
# default gcc suite) keeps it fixed. Exit status 1 when any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-10}"
BUILD_DIR="${SURGE_FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${SURGE_JOBS:-2}"
TARGETS="${SURGE_FUZZ_TARGETS:-validation_fuzzer event_fuzzer dead_letter_envelope_fuzzer relay_headers_fuzzer}"

scripts/install-deps.sh --fuzz
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found after install-deps" >&2; exit 2; }

# fuzzer-no-link: coverage instrumentation everywhere (our libraries too), the
# libFuzzer main only in the fuzz targets (tests/fuzz/CMakeLists.txt).
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link $SAN" \
  -DCMAKE_EXE_LINKER_FLAGS="$SAN" >/dev/null
# shellcheck disable=SC2086
cmake --build "$BUILD_DIR" -j "$JOBS" --target $TARGETS

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
summary=()
for target in $TARGETS; do
  seeds="tests/fuzz/corpus/$target"
  work="$BUILD_DIR/corpus/$target"
  artifacts="$BUILD_DIR/artifacts"
  mkdir -p "$work" "$artifacts"
  # Seeds go into the work corpus, except "finding_*" files: inputs of known,
  # still open bugs, which the corpus replay tests run but which would stop
  # the fuzzer at its first step.
  find "$seeds" -maxdepth 1 -type f ! -name 'finding_*' -exec cp -n {} "$work/" \;
  log="$BUILD_DIR/$target.log"
  echo "== $target: ${SECONDS_PER_TARGET}s (log $log)"
  status=0
  "$BUILD_DIR/tests/fuzz/$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
    -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$target-" "$work" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  summary+=("$target: exit $status, ${runs:-?} inputs, ${cov:-cov ?}, corpus $(ls "$work" | wc -l) files")
  if [[ $status -ne 0 ]]; then
    failed+=("$target")
    grep -E 'ERROR:|runtime error|fuzz check failed|Test unit written' "$log" | head -20 || true
  fi
done
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "FAILED: ${failed[*]} (inputs in $BUILD_DIR/artifacts/)" >&2
  exit 1
fi
