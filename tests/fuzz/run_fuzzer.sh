#!/bin/sh
# Runs one fuzzer for a fixed budget on a scratch copy of its corpus (the
# checked-in corpus is never written). Exit status: 0 when the budget ran
# out without a finding, libFuzzer's non-zero status on a crash, leak,
# timeout or sanitizer report.
#
#   run_fuzzer.sh FUZZER CORPUS_DIR DICT [extra libFuzzer flags...]
#
# Environment: WSYS_FUZZ_SECONDS (default 45), the budget in seconds.
set -eu
fuzzer=$1; corpus=$2; dict=$3; shift 3
seconds=${WSYS_FUZZ_SECONDS:-45}

work=$(mktemp -d "${TMPDIR:-/tmp}/wsys-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "$corpus" ]; then cp -R "$corpus"/. "$work/corpus"/; fi

dict_flag=""
if [ -f "$dict" ]; then dict_flag="-dict=$dict"; fi

# halt on the first report: a finding is a failed test, not a log line.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
# shellcheck disable=SC2086
"$fuzzer" -max_total_time="$seconds" -timeout=20 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" $dict_flag "$@" "$work/corpus" || status=$?
if [ "$status" != 0 ]; then
  for f in "$work/artifacts"/*; do
    [ -f "$f" ] || continue
    echo "reproducer $(basename "$f") (base64):"
    base64 "$f"
  done
fi
exit "$status"
