#!/usr/bin/env bash
# Builds Abseil with ThreadSanitizer for scripts/sanitize.sh tsan.
#
#   scripts/build-absl-tsan.sh [prefix]   # default: build-tsan/absl-tsan
#
# Debian's libabsl is not instrumented, so TSan cannot see absl::Mutex's
# synchronisation and reports false races on everything it guards. This
# script builds the SAME Abseil as the installed libabsl-dev (Debian's source
# package, Debian's patches, Debian's absl/base/options.h) as static, -fPIC,
# -fsanitize=thread archives with CMake config files under <prefix>, so that
# `-DCMAKE_PREFIX_PATH=<prefix>` makes find_package(absl) pick it up.
#
# Opt-in and root-only: it adds a deb-src entry (a separate file under
# /etc/apt/sources.list.d/, built from the existing debian.sources), runs
# apt-get update and installs dpkg-dev if missing. Nothing else uses it.
# Skips everything when <prefix> already holds a build of that version.
# SURGE_JOBS sets the build parallelism (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="$(realpath -m "${1:-build-tsan/absl-tsan}")"
JOBS="${SURGE_JOBS:-2}"
CXX_BIN="${CXX:-g++}"  # must be the compiler of the surge build (same TSan runtime)

VERSION="$(dpkg-query -W -f='${Version}' libabsl-dev)"
SRC_PKG="$(dpkg-query -W -f='${source:Package}' libabsl-dev)"
STAMP="$PREFIX/.surge-absl-tsan"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SRC_PKG $VERSION $CXX_BIN" ]]; then
  echo "== TSan Abseil $VERSION already in $PREFIX"
  exit 0
fi
echo "== building TSan Abseil ($SRC_PKG $VERSION, $CXX_BIN) into $PREFIX"
start=$(date +%s)

# deb-src entries: same URIs/Suites/Components/Signed-By as the binary ones.
SYS_SOURCES=/etc/apt/sources.list.d/debian.sources
SRC_LIST=/etc/apt/sources.list.d/surge-deb-src.sources
if [[ ! -f "$SRC_LIST" ]]; then
  [[ -f "$SYS_SOURCES" ]] || { echo "no $SYS_SOURCES to copy deb-src entries from" >&2; exit 1; }
  sed -e 's/^Types:.*/Types: deb-src/' "$SYS_SOURCES" >"$SRC_LIST"
  echo "== added $SRC_LIST"
fi
apt-get update -qq
if ! dpkg-query -W -f='${Status}' dpkg-dev 2>/dev/null | grep -q 'install ok installed'; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev
fi

WORK="$PREFIX.work"
rm -rf "$WORK" && mkdir -p "$WORK"
# apt-get source unpacks with dpkg-source, which applies Debian's patches.
(cd "$WORK" && apt-get source -qq "$SRC_PKG=$VERSION" >/dev/null)
SRC_DIR="$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name "${SRC_PKG}-*" | head -1)"
[[ -d "$SRC_DIR" ]] || { echo "apt-get source left no source tree in $WORK" >&2; exit 1; }

# Debian fixes options.h at package build time (std::string_view etc. are
# NOT the std types, inline namespace "debian3"): the ABI must be that of the
# installed headers, so build with exactly the installed options.h.
OPTIONS=absl/base/options.h
if ! diff -u "$SRC_DIR/$OPTIONS" "/usr/include/$OPTIONS" >"$WORK/options.diff"; then
  echo "== source $OPTIONS differs from the installed one; using the installed one:"
  grep -E '^[-+]#define ABSL_OPTION' "$WORK/options.diff" || true
  cp "/usr/include/$OPTIONS" "$SRC_DIR/$OPTIONS"
fi

cmake -S "$SRC_DIR" -B "$WORK/build" -G "Unix Makefiles" \
  -DCMAKE_CXX_COMPILER="$CXX_BIN" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_STANDARD=17 -DABSL_PROPAGATE_CXX_STD=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF -DABSL_BUILD_TESTING=OFF \
  -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
cmake --build "$WORK/build" -j "$JOBS" >"$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log"; echo "Abseil build failed (log: $WORK/build.log)" >&2; exit 1; }
rm -rf "$PREFIX"
cmake --install "$WORK/build" >/dev/null
# The installed options.h must be Debian's, or the two ABIs differ.
cmp -s "$PREFIX/include/$OPTIONS" "/usr/include/$OPTIONS" \
  || { echo "installed $OPTIONS differs from /usr/include/$OPTIONS" >&2; exit 1; }
echo "$SRC_PKG $VERSION $CXX_BIN" >"$STAMP"
rm -rf "$WORK"
echo "== TSan Abseil built in $(( $(date +%s) - start ))s"
