#!/bin/sh
# The main job's two programs (suite main): wsys-vk-demo on the wsys Vulkan
# ICD and wsys-gl-demo on zink over it, as scripts/run-main.sh runs them.
# Each program checks every result it computes; this checks that they ran
# on the wsys device, succeeded, and that the memory report came out with
# the figures the README promises. Skips (77) only when lavapipe or Xvfb is
# missing.
#   main_job_test.sh vk|gl DEMO LAUNCHER LOCATE_PROGRAM
set -u
which=$1
demo=$2
launcher=$3
locate=$4
for p in "$demo" "$locate"; do
  [ -x "$p" ] || { echo "FAIL: $p is not an executable (build the project first)"; exit 1; }
done
if ! where=$("$locate" --child locate); then
  echo "SKIP: $where"
  exit 77
fi
fail=0
check() {
  if ! printf '%s\n' "$out" | grep -q -- "$1"; then
    echo "FAIL: expected a line with: $1"
    fail=1
  fi
}
# WSYS_MAIN_OUT set: each program writes a WSYS_TRACE there and WSYS_PLOT
# (tools/plot/wsys-plot) draws it; the plot must be a non-empty SVG.
out_dir=${WSYS_MAIN_OUT:-}
trace_file=
if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir"
  # %p: one file per process that makes a wsys Device (docs/trace.md).
  trace_file="$out_dir/$which-trace-%p.json"
  rm -f "$out_dir/$which-trace-"*.json "$out_dir/$which-memory.svg"
fi
plot_check() {
  [ -n "$out_dir" ] || return 0
  if ! python3 "${WSYS_PLOT:?}" "$out_dir/$which-trace-"*.json -o "$out_dir/$which-memory.svg" \
       --title "wsys memory: wsys-$which-demo (main job)"; then
    echo "FAIL: wsys-plot on $out_dir/$which-trace-*.json"
    fail=1
    return
  fi
  python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); n = sum(1 for p in r.iter("{http://www.w3.org/2000/svg}polyline") if p.get("class") == "series"); sys.exit(0 if n >= 3 else 1)' "$out_dir/$which-memory.svg" ||
    { echo "FAIL: $out_dir/$which-memory.svg has fewer than 3 series"; fail=1; }
  echo "trace: $(ls "$out_dir/$which-trace-"*.json | tr '\n' ' ')"
  echo "plot:  $out_dir/$which-memory.svg"
}

# The number before WORD on the report line starting with LABEL.
figure() {
  printf '%s\n' "$out" | sed -n "s/^ *$1 *\([0-9][0-9]*\) $2.*/\1/p" | head -n 1
}

case "$which" in
  vk)
    # Decay off: what the cache keeps must not depend on how fast frames
    # run (a sanitizer build runs them far slower than the half-life).
    out=$(WSYS_TRACE=$trace_file WSYS_BO_CACHE_HALF_LIFE_MS=0 "$demo" --frames 40 2>&1)
    status=$?
    echo "$out"
    [ $status -eq 0 ] || { echo "FAIL: exit status $status"; fail=1; }
    check "wsys-vk-demo on wsys (sim:panthor, Mali-G610 model) on lavapipe: 40 frames, .* all right"
    check "wsys memory report: sim:panthor"
    # 40 frames of 4 equal buffers, at most 8 distinct sizes: with nothing
    # decaying, only the first frame of each size may miss (160 - 32).
    hits=$(figure "BO cache:" hits)
    binds=$(figure "VM binds:" "bind calls")
    [ -n "$hits" ] && [ "$hits" -ge 128 ] || { echo "FAIL: BO cache hits '$hits', expected >= 128"; fail=1; }
    [ -n "$binds" ] && [ "$binds" -ge 1 ] || { echo "FAIL: VM bind calls '$binds'"; fail=1; }
    plot_check
    ;;
  gl)
    if ! command -v Xvfb >/dev/null 2>&1; then
      echo "SKIP: Xvfb not found (Debian: xvfb)"
      exit 77
    fi
    unset DISPLAY WAYLAND_DISPLAY
    out=$(WSYS_TRACE=$trace_file "$launcher" --report "$demo" --frames 24 2>&1)
    status=$?
    echo "$out"
    [ $status -eq 0 ] || { echo "FAIL: exit status $status"; fail=1; }
    check "wsys-gl-demo on zink (wsys (sim:panthor, Mali-G610 model) on lavapipe): 24 frames, every pixel right"
    check "wsys memory report: sim:panthor"
    created=$(figure "BOs:" created)
    [ -n "$created" ] && [ "$created" -ge 1 ] || { echo "FAIL: BOs created '$created'"; fail=1; }
    check "peak: .* committed"
    plot_check
    ;;
  *)
    echo "usage: main_job_test.sh vk|gl DEMO LAUNCHER LOCATE_PROGRAM" >&2
    exit 2
    ;;
esac
exit $fail
