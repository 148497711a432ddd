#!/bin/sh
# glxinfo -B through wsys-gl (suite gl): GL on Gallium zink over the wsys
# Vulkan ICD, on a private Xvfb display the launcher starts, reports zink on
# the wsys device, and the ICD prints wsys's memory report for zink's
# VkDevice. Skips (77) only when lavapipe or Xvfb is missing.
#   glxinfo_test.sh LAUNCHER LOCATE_PROGRAM
set -u
launcher=$1
locate=$2
for p in "$launcher" "$locate"; do
  [ -x "$p" ] || { echo "FAIL: $p is not an executable (build the project first)"; exit 1; }
done
if ! where=$("$locate" --child locate); then
  echo "SKIP: $where"
  exit 77
fi
if ! command -v Xvfb >/dev/null 2>&1; then
  echo "SKIP: Xvfb not found (Debian: xvfb)"
  exit 77
fi
if ! command -v glxinfo >/dev/null 2>&1; then
  echo "FAIL: glxinfo not found (Debian: mesa-utils, installed by scripts/install-deps.sh)"
  exit 1
fi
unset DISPLAY WAYLAND_DISPLAY
# Sanitizer builds: glxinfo is not instrumented but loads the instrumented
# ICD, so it (and only it, not the launcher's shell) gets the runtime.
if [ -n "${WSYS_TEST_PRELOAD:-}" ]; then
  set -- env "LD_PRELOAD=$WSYS_TEST_PRELOAD" glxinfo -B
else
  set -- glxinfo -B
fi
out=$(WSYS_VK_REPORT=1 "$launcher" "$@" 2>&1)
status=$?
echo "$out"
fail=0
check() {
  if ! printf '%s\n' "$out" | grep -q -- "$1"; then
    echo "FAIL: expected a line with: $1"
    fail=1
  fi
}
[ $status -eq 0 ] || { echo "FAIL: exit status $status"; fail=1; }
check "OpenGL renderer string: zink (wsys (sim:panthor, Mali-G610 model) on lavapipe)"
check "direct rendering: Yes"
check "wsys memory report: sim:panthor"
check "BO cache: "
check "VM binds: "
# The launcher's display is its own, and gone with it.
disp=$("$launcher" sh -c 'echo "$DISPLAY"')
case "$disp" in
  :[0-9]*) [ ! -e "/tmp/.X${disp#:}-lock" ] || { echo "FAIL: Xvfb $disp still running"; fail=1; } ;;
  *) echo "FAIL: the launcher set no display ('$disp')"; fail=1 ;;
esac
# A display that is given is used as it is.
[ "$(DISPLAY=:4242 "$launcher" sh -c 'echo "$DISPLAY"')" = ":4242" ] || { echo "FAIL: DISPLAY replaced"; fail=1; }
[ $fail -eq 0 ] && echo "PASS"
exit $fail
