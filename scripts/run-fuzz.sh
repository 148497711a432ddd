#!/bin/sh
# Configures the fuzz build (clang, -Dfuzz=true: libFuzzer + ASan + UBSan)
# and runs the `fuzz` suite: every fuzzer for a fixed budget on a scratch
# copy of its checked-in corpus; a crash, leak or sanitizer report fails.
#
#   scripts/run-fuzz.sh [BUILD_DIR]      (default build-fuzz)
#
# Environment: WSYS_FUZZ_SECONDS, each fuzzer's budget (default 45);
# CC/CXX, the compilers (default clang-14/clang++-14). Long runs:
# tests/fuzz/README.md.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
export CC="${CC:-clang-14}" CXX="${CXX:-clang++-14}"
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "run-fuzz.sh: $CXX not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi
if [ ! -d "$build" ]; then
  # Only what the fuzzers need: the libraries and tests/fuzz.
  meson setup "$build" -Dfuzz=true -Dtests=false -Dbench=false \
    -Dvulkan=disabled -Dgallium=disabled -Dshim=disabled --werror
fi
ninja -C "$build"
meson test -C "$build" --suite fuzz --num-processes 1 --print-errorlogs
