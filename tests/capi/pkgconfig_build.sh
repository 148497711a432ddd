#!/bin/sh
# Builds the C API test the way a user would, with pkg-config (the build
# tree's uninstalled wsys.pc) and the system C compiler, then runs it.
# Usage: pkgconfig_build.sh <build dir> <source file> <cc>
set -eu
build=$1 src=$2 cc=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=$(PKG_CONFIG_PATH="$build/meson-uninstalled" pkg-config --cflags --libs wsys-uninstalled)
# shellcheck disable=SC2086
$cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Werror -o "$out/capi" "$src" $flags
LD_LIBRARY_PATH="$build/src/winsys/capi" "$out/capi"
