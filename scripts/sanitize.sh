#!/usr/bin/env bash
# Sanitizer runs of the test suite.
#
#   scripts/sanitize.sh asan   # ASan+UBSan build (build-asan), the whole ctest suite
#   scripts/sanitize.sh tsan   # TSan build (build-tsan), event store + projection tests,
#                              # against an Abseil built for TSan (scripts/build-absl-tsan.sh)
#
# Every sanitizer report (also from child surge-server processes, which
# inherit the options) is written to <build>/sanitizer-logs/ and listed at the
# end; a report makes the process fail, so the test fails too. Extra
# arguments go to ctest (e.g. -LE integration). Exit status: ctest's, or 1
# when reports were written although every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-}"
shift || true
JOBS="${SURGE_JOBS:-2}"
build_rc=0
case "$MODE" in
  asan)
    BUILD_DIR="${SURGE_ASAN_BUILD_DIR:-build-asan}"
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSURGE_SANITIZE=ON -DSURGE_TSAN=OFF >/dev/null
    # Keep going past a target that does not build (a folder being written):
    # its tests then show up as NOT_BUILT failures instead of hiding the rest.
    # SURGE_ASAN_TARGETS="a_test b_test" builds only those (a partial run on a
    # busy machine); the tests of targets not built are then left out.
    if [[ -n "${SURGE_ASAN_TARGETS:-}" ]]; then
      # shellcheck disable=SC2086
      cmake --build "$BUILD_DIR" -j "$JOBS" --target $SURGE_ASAN_TARGETS -- -k || build_rc=$?
      set -- -E _NOT_BUILT "$@"
      echo "== partial run: $SURGE_ASAN_TARGETS"
    else
      cmake --build "$BUILD_DIR" -j "$JOBS" -- -k || build_rc=$?
    fi
    TEST_DIRS=("$BUILD_DIR")
    ;;
  tsan)
    BUILD_DIR="${SURGE_TSAN_BUILD_DIR:-build-tsan}"
    # Debian's libabsl is not instrumented: TSan would not see absl::Mutex
    # and report false races. Link an Abseil built with -fsanitize=thread
    # (same version and options, static) instead; built once, then reused.
    ABSL_PREFIX="$(pwd)/$BUILD_DIR/absl-tsan"
    scripts/build-absl-tsan.sh "$ABSL_PREFIX"
    # --as-needed: surge_proto carries gRPC in its link interface, but these
    # tests use no gRPC symbol, so libgrpc*.so (and, through it, Debian's
    # shared libabsl) is dropped; the ldd check below proves it.
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSURGE_TSAN=ON -DSURGE_SANITIZE=OFF \
      -DCMAKE_PREFIX_PATH="$ABSL_PREFIX" -DCMAKE_EXE_LINKER_FLAGS="-Wl,--as-needed" >/dev/null
    absl_dir=$(sed -n 's/^absl_DIR:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
    if [[ "$absl_dir" != "$ABSL_PREFIX"/* ]]; then
      echo "== FAIL: find_package(absl) picked $absl_dir, not the TSan build in $ABSL_PREFIX" >&2
      exit 1
    fi
    # The test binaries those two folders declare, whatever they are called.
    targets=$(sed -n 's/^ *add_executable(\([A-Za-z0-9_.+-]*\).*/\1/p' \
      tests/eventstore/CMakeLists.txt tests/projections/CMakeLists.txt | tr '\n' ' ')
    build_start=$(date +%s)
    # shellcheck disable=SC2086
    cmake --build "$BUILD_DIR" -j "$JOBS" --target $targets -- -k || build_rc=$?
    echo "== build of $targets: $(( $(date +%s) - build_start ))s"
    TEST_DIRS=("$BUILD_DIR/tests/eventstore" "$BUILD_DIR/tests/projections")
    # A shared libabsl in a test binary means two Abseils (one uninstrumented):
    # the run would be meaningless, so refuse it.
    bad=0
    for bin in $(find "${TEST_DIRS[@]}" -maxdepth 1 -type f -executable); do
      libs=$(ldd "$bin")
      if ! grep -q 'libtsan\.so' <<<"$libs"; then
        echo "== FAIL: $bin is not built with -fsanitize=thread" >&2; bad=1
      fi
      if grep -E 'libabsl_[^ ]*\.so|libgrpc' <<<"$libs" >&2; then
        echo "== FAIL: $bin links the shared libraries above (Debian's uninstrumented Abseil)" >&2
        bad=1
      fi
    done
    [[ $bad -eq 0 ]] || exit 1
    SUPP="$(pwd)/scripts/tsan.supp"
    if [[ -f "$SUPP" ]]; then export TSAN_OPTIONS="suppressions=$SUPP:${TSAN_OPTIONS:-}"; fi
    ;;
  *)
    echo "usage: $0 asan|tsan [ctest args...]" >&2
    exit 2
    ;;
esac

LOGS="$(pwd)/$BUILD_DIR/sanitizer-logs"
rm -rf "$LOGS" && mkdir -p "$LOGS"
export ASAN_OPTIONS="log_path=$LOGS/asan:detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="log_path=$LOGS/ubsan:print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export TSAN_OPTIONS="log_path=$LOGS/tsan:halt_on_error=0:second_deadlock_stack=1:${TSAN_OPTIONS:-}"

start=$(date +%s)
rc=$build_rc
[[ $build_rc -ne 0 ]] && echo "== build failed (rc $build_rc); running what was built"
for dir in "${TEST_DIRS[@]}"; do
  ctest --test-dir "$dir" --output-on-failure --timeout 900 -j "$JOBS" "$@" || rc=$?
done
echo "ctest wall time: $(( $(date +%s) - start ))s"

reports=$(find "$LOGS" -type f | sort)
if [[ -n "$reports" ]]; then
  echo "== sanitizer reports in $LOGS:"
  for f in $reports; do
    echo "--- $f"
    grep -m3 -E 'ERROR: |WARNING: ThreadSanitizer|runtime error|SUMMARY' "$f" || head -5 "$f"
  done
  [[ $rc -eq 0 ]] && rc=1
fi
exit $rc
