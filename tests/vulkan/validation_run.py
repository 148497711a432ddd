#!/usr/bin/env python3
"""validation_run.py PROGRAM [ARGS...]: runs a Vulkan program on the wsys ICD
under Debian's Khronos validation layer and fails on any validation error.

Passes when the layer was inserted (the loader says so), the program exited
0 and the layer reported no "Validation Error". Exits 77 (skipped) only when
the layer is not installed (Debian: vulkan-validationlayers).

The layer's unique-handle wrapping is disabled: the tests read the ICD's own
debug entry points (vkGetWsysMemoryInfoWSYS, ...) with the handles they
hold, and a wrapped handle means nothing to the ICD. Every check of the
Vulkan API itself stays on.
"""
import glob
import os
import re
import subprocess
import sys

SKIP = 77
LAYER = "VK_LAYER_KHRONOS_validation"


def layer_installed():
    dirs = (os.environ.get("VK_LAYER_PATH") or "").split(":") + [
        "/usr/share/vulkan/explicit_layer.d", "/usr/local/share/vulkan/explicit_layer.d",
        "/etc/vulkan/explicit_layer.d"]
    return any(glob.glob(os.path.join(d, "*khronos_validation*.json")) for d in dirs if d)


def main():
    if len(sys.argv) < 2:
        print("usage: validation_run.py PROGRAM [ARGS...]")
        return 2
    if not layer_installed():
        print("SKIP: the Khronos validation layer is not installed "
              "(Debian: apt-get install vulkan-validationlayers)")
        return SKIP
    env = dict(os.environ)
    preload = env.pop("WSYS_TEST_PRELOAD", None)
    if preload:  # an uninstrumented program loading the instrumented ICD
        env["LD_PRELOAD"] = preload
    env["VK_INSTANCE_LAYERS"] = LAYER
    env["VK_LAYER_DISABLES"] = "VK_VALIDATION_FEATURE_DISABLE_UNIQUE_HANDLES_EXT"
    env["VK_LOADER_DEBUG"] = "layer"
    # Under ASan, no leak check at exit: the layer is not ours and keeps
    # memory to the end; the ICD's own leaks are the plain vulkan runs' to find.
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":detect_leaks=0"
    p = subprocess.run(sys.argv[1:], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace", check=False)
    out = p.stdout
    errors = [ln for ln in out.splitlines() if "Validation Error" in ln]
    warnings = [ln for ln in out.splitlines() if "Validation Warning" in ln]
    inserted = re.search(r'Insert instance layer "%s"' % LAYER, out) is not None
    # the program's own output, without the loader's chatter
    print("\n".join(ln for ln in out.splitlines() if "| LAYER:" not in ln)[-20000:])
    problems = []
    if not inserted:
        problems.append("the loader did not insert %s" % LAYER)
    if p.returncode != 0:
        problems.append("%s exited with %d" % (sys.argv[1], p.returncode))
    if errors:
        vuids = sorted(set(re.findall(r"VUID-[A-Za-z0-9_-]+", "\n".join(errors))))
        problems.append("%d validation error(s): %s" % (len(errors), ", ".join(vuids) or "?"))
    print("validation: layer %s, %d error(s), %d warning(s)" % (
        "inserted" if inserted else "NOT inserted", len(errors), len(warnings)))
    if problems:
        print("FAIL: " + "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
