#!/bin/sh
# Installs what wsys needs from Debian 12's packages only. Safe to run again.
# Set WSYS_SKIP_APT=1 to skip (a machine already set up).
#
#   install-deps.sh          build and test: everything (README command 2)
#   install-deps.sh --main   build and run the main job only (README command 1):
#                            no test frameworks, no piglit (about 2 GB installed)
set -eu
[ "${WSYS_SKIP_APT:-0}" = 1 ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Building wsys, its Vulkan ICD and the main job's programs, and running
# them (lavapipe executes, zink and Xvfb for GL).
PACKAGES="
  g++ gcc pkg-config python3 meson ninja-build
  libdrm-dev
  libvulkan-dev vulkan-tools mesa-vulkan-drivers glslang-tools spirv-tools
  xvfb mesa-utils libgl-dev libx11-dev
"
# The tests and benchmarks on top (libpng16-16 and zlib1g: what a deqp-vk
# build needs at run time, for the conformance suite when one is given;
# glmark2-x11: bench/glmark2_ratio's workload).
TEST_PACKAGES="
  libgtest-dev libgmock-dev libbenchmark-dev
  piglit libpng16-16 zlib1g vulkan-validationlayers glmark2-x11
  clang-14 libclang-rt-14-dev
"
case "${1:-}" in
  --main) ;;
  "") PACKAGES="$PACKAGES $TEST_PACKAGES" ;;
  *) echo "usage: install-deps.sh [--main]" >&2; exit 2 ;;
esac

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
