#!/bin/sh
# Points the Vulkan loader at the wsys ICD of a build tree, for one command
# or for the current shell.
#
#   scripts/wsys-vk-env.sh [-C BUILD_DIR] COMMAND [ARGS...]   run COMMAND with the wsys ICD
#   eval "$(scripts/wsys-vk-env.sh [-C BUILD_DIR])"           export the variables here
#
# BUILD_DIR defaults to $WSYS_BUILD_DIR, else "build". The loader then sees
# the wsys ICD only (VK_DRIVER_FILES, and VK_ICD_FILENAMES for loaders older
# than 1.3.234). `meson devenv -C BUILD_DIR` sets the same variables.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WSYS_BUILD_DIR:-build}
if [ "${1:-}" = "-C" ]; then
  [ $# -ge 2 ] || { echo "wsys-vk-env.sh: -C needs a build directory" >&2; exit 2; }
  build=$2
  shift 2
fi
case "$build" in /*) ;; *) build="$root/$build" ;; esac

manifest=""
for m in "$build"/src/vulkan/wsys_icd.*.json; do
  case "$m" in *.install.json) continue ;; esac
  [ -f "$m" ] && manifest=$m && break
done
if [ -z "$manifest" ]; then
  echo "wsys-vk-env.sh: no wsys ICD manifest in $build/src/vulkan (build with: meson setup $build && ninja -C $build)" >&2
  exit 1
fi

if [ $# -eq 0 ]; then
  printf "export VK_DRIVER_FILES='%s'\n" "$manifest"
  printf "export VK_ICD_FILENAMES='%s'\n" "$manifest"
  exit 0
fi
VK_DRIVER_FILES=$manifest
VK_ICD_FILENAMES=$manifest
export VK_DRIVER_FILES VK_ICD_FILENAMES
exec "$@"
