#!/bin/sh
# Installs everything wsys needs to build and test, from Debian 12's packages
# only. Safe to run again. Set WSYS_SKIP_APT=1 to skip (a machine already set up).
set -eu
[ "${WSYS_SKIP_APT:-0}" = 1 ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PACKAGES="
  g++ gcc pkg-config python3 meson ninja-build
  libdrm-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libvulkan-dev vulkan-tools mesa-vulkan-drivers glslang-tools spirv-tools
  xvfb mesa-utils piglit libgl-dev libx11-dev
"

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
