#!/bin/sh
# README command 2 (and all that .ci/run does): install, build and run the
# whole test suite in three configurations, then print the summary line.
#   plain   debugoptimized, -Werror, every suite
#   asan    AddressSanitizer + UBSan, every suite
#   tsan    ThreadSanitizer, every suite
#   fuzz    clang-14, libFuzzer + ASan + UBSan: the fuzz suite, each fuzzer
#           for a short budget on its corpus (scripts/run-fuzz.sh, tests/fuzz)
# The last line is "N passed, N failed" (", N skipped" when some skipped).
set -u
cd "$(dirname "$0")/.."
./scripts/install-deps.sh || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }

ROOT=${WSYS_CI_BUILD_ROOT:-build-ci}
CONFIGS=${WSYS_CI_CONFIGS:-"plain asan tsan fuzz"}
JOBS=${WSYS_CI_JOBS:-$(nproc)}
dirs=""
mkdir -p "$ROOT"

for cfg in $CONFIGS; do
  dir="$ROOT/$cfg"
  dirs="$dirs $dir"
  case "$cfg" in
    plain) opts="-Dsanitize=none -Dbench=true";  mult=1 ;;
    asan)  opts="-Dsanitize=address -Dbench=false"; mult=3 ;;
    tsan)  opts="-Dsanitize=thread -Dbench=false";  mult=4 ;;
    # Only what the fuzzers need; clang (libFuzzer is clang's).
    fuzz)  opts="-Dfuzz=true -Dtests=false -Dbench=false -Dvulkan=disabled -Dgallium=disabled -Dshim=disabled"
           mult=2 ;;
    *) echo "unknown configuration '$cfg' in WSYS_CI_CONFIGS"; exit 2 ;;
  esac
  echo "== $cfg: configure and build"
  # shellcheck disable=SC2086
  if [ ! -f "$dir/build.ninja" ]; then
    if [ "$cfg" = fuzz ]; then
      CC=clang-14 CXX=clang++-14 meson setup "$dir" --werror --buildtype=debugoptimized $opts \
        >"$ROOT/$cfg-setup.log" 2>&1 \
        || { cat "$ROOT/$cfg-setup.log"; rm -rf "$dir/meson-logs/testlog.json"; continue; }
    else
      meson setup "$dir" --werror --buildtype=debugoptimized $opts >"$ROOT/$cfg-setup.log" 2>&1 \
        || { cat "$ROOT/$cfg-setup.log"; rm -rf "$dir/meson-logs/testlog.json"; continue; }
    fi
  fi
  if ! ninja -C "$dir" -j "$JOBS" >"$ROOT/$cfg-build.log" 2>&1; then
    tail -n 60 "$ROOT/$cfg-build.log"
    echo "build failed for $cfg"
    rm -f "$dir/meson-logs/testlog.json"
    continue
  fi
  echo "== $cfg: test"
  suites=""
  [ "$cfg" = fuzz ] && suites="--suite fuzz"
  # shellcheck disable=SC2086
  meson test -C "$dir" --num-processes "$JOBS" --timeout-multiplier "$mult" $suites \
    --print-errorlogs >"$dir/meson-test-output.txt" 2>&1 || true
  # One line per test program (the full logs stay in $dir/meson-logs).
  grep -E '^ *[0-9]+/[0-9]+ ' "$dir/meson-test-output.txt" | sed "s/^/[$cfg] /" || true
done

# shellcheck disable=SC2086
exec python3 scripts/test-summary.py $dirs
