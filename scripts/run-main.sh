#!/bin/sh
# README command 1: install, build, and run wsys's main job on the default
# device (the kernel model when no Mali render node is present).
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD=${WSYS_BUILD_DIR:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" --buildtype=release -Dtests=false -Dbench=false >/dev/null
fi
ninja -C "$BUILD" >/dev/null
exec "$BUILD/tools/wsys-info" "$@"
