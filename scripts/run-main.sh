#!/bin/sh
# README command 1: install, build, and run wsys's main job on the default
# device (the kernel model when no Mali render node is present):
#   1. wsys-info: the devices wsys can use;
#   2. wsys-vk-demo, a Vulkan program, on the wsys Vulkan ICD;
#   3. wsys-shared-vk-demo: camera -> compute on the ICD -> display, with
#      dma-buf memory from the kernel model's central allocator;
#   4. wsys-gl-demo, a GL program, on Gallium zink over the wsys ICD;
# each of 2 and 4 followed by wsys's memory report for its VkDevice, and
# writing a memory trace (WSYS_TRACE, docs/trace.md) that wsys-plot draws:
# $WSYS_MAIN_OUT (default BUILD/main-job)/{vk,gl}-memory.svg.
# Arguments are passed to wsys-info.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --main
BUILD=${WSYS_BUILD_DIR:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" --buildtype=release -Dtests=false -Dbench=false >/dev/null
fi
ninja -C "$BUILD" >/dev/null
"$BUILD/tools/wsys-info" "$@"

# Headless Vulkan and GL want a runtime directory.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/wsys-xdg.XXXXXX")
  export XDG_RUNTIME_DIR
  trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi

OUT=${WSYS_MAIN_OUT:-$BUILD/main-job}
mkdir -p "$OUT"
rm -f "$OUT"/vk-trace-*.json "$OUT"/gl-trace-*.json
plot() {
  "$BUILD/tools/wsys-plot" "$OUT/$1"-trace-*.json -o "$OUT/$1-memory.svg" \
    --title "wsys memory: wsys-$1-demo (main job)"
}

echo
echo "== Vulkan: wsys-vk-demo on the wsys ICD =="
WSYS_TRACE="$OUT/vk-trace-%p.json" \
  ./scripts/wsys-vk-env.sh -C "$BUILD" "$BUILD/tools/wsys-vk-demo"
plot vk

echo
echo "== Shared buffers: wsys-shared-vk-demo, camera -> compute on the wsys ICD -> display =="
# The central allocator, camera and display are kernel-model extensions
# (docs/deferred-allocation.md): the demo says so and exits 77 elsewhere.
rc=0
./scripts/wsys-vk-env.sh -C "$BUILD" "$BUILD/tools/wsys-shared-vk-demo" || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then exit "$rc"; fi

echo
echo "== GL: wsys-gl-demo on zink over the wsys ICD =="
# The report is printed when zink's VkDevice goes, at the program's end.
WSYS_TRACE="$OUT/gl-trace-%p.json" "$BUILD/src/gallium/wsys-gl" --report "$BUILD/tools/wsys-gl-demo"
plot gl

echo
echo "Memory over time: $OUT/vk-memory.svg, $OUT/gl-memory.svg (open in a browser);"
echo "the traces $OUT/*-trace-*.json open in https://ui.perfetto.dev."
