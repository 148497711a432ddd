"""piglit mode: piglit's own runner (`piglit run`) once per configuration,
all configurations at the same time, through the wsys-gl launcher (which
points the Vulkan loader at one ICD and Mesa at zink).

piglit records a process that reported a result and then died as plain
"crash" and drops the reported line from its log, so the runner runs every
crashed test once more itself, reading the output piglit hides: reported and
then died is CrashAtExit (with the reported verdict), died before reporting
is Crash, anything else means the first crash did not repeat (a flake).
"""

import bz2
import gzip
import json
import lzma
import os
import shlex
import subprocess

from . import verdicts as V
from . import zink_env


def list_tests(piglit_bin, profile, includes, excludes, cwd):
    """Test names of `profile` after piglit's own -t/-x filtering."""
    cmd = [piglit_bin, "print-cmd", profile, "--format", "{name}"]
    # attached ("-tREGEX"), so a regex that starts with '-' is not an option
    cmd += ["-t" + t for t in includes] + ["-x" + x for x in excludes]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                       check=False)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr[-2000:]))
    return [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]


def read_results(outdir):
    """piglit's results file in `outdir`, whatever its compression."""
    for name, opener in (("results.json", open), ("results.json.bz2", bz2.open),
                         ("results.json.gz", gzip.open), ("results.json.xz", lzma.open)):
        path = os.path.join(outdir, name)
        if os.path.exists(path):
            with opener(path, "rt", encoding="utf-8") as f:
                return json.load(f)
    raise RuntimeError("piglit left no results in %s" % outdir)


def _seconds(t):
    tm = t.get("time") or {}
    try:
        return max(0.0, float(tm.get("end", 0)) - float(tm.get("start", 0)))
    except (TypeError, ValueError):
        return 0.0


def outcome_from_piglit(t):
    """One test of piglit's results.json as an outcome."""
    subtests = {k: v for k, v in (t.get("subtests") or {}).items() if k != "__type__"}
    detail = ""
    if t.get("result") != "pass":
        detail = "returncode %s\n%s\n%s" % (t.get("returncode"), (t.get("out") or "")[-2000:],
                                            (t.get("err") or "")[-2000:])
    return V.make(V.from_piglit(t.get("result", "fail")), t.get("result"), seconds=_seconds(t),
                  subtests=subtests, detail=detail)


def piglit_environment(t):
    """The variables piglit gave the test (its results keep them as
    'NAME="value" ...')."""
    env = {}
    for word in shlex.split(t.get("environment") or ""):
        name, sep, value = word.partition("=")
        if sep:
            env[name] = value
    return env


def outcome_from_run(run):
    """An outcome from the runner's own run of a test command."""
    result, subtests = zink_env.parse_piglit(run.output)
    if run.status is None:
        return V.make(V.TIMEOUT, "timeout", seconds=run.seconds, subtests=subtests,
                      detail=run.output[-3000:])
    crashed = run.status < 0 or run.status > 127
    if crashed and result:
        return V.make(V.CRASH_AT_EXIT, "crash-at-exit", reported=V.from_piglit(result),
                      seconds=run.seconds, subtests=subtests,
                      detail="reported %s, then exit status %d\n%s" % (result, run.status,
                                                                      run.output[-3000:]))
    if crashed or not result:
        return V.make(V.CRASH, "crash", seconds=run.seconds, subtests=subtests,
                      detail="exit status %d\n%s" % (run.status, run.output[-3000:]))
    if run.status != 0 and result == "pass":
        result = "warn"  # piglit's own rule
    return V.make(V.from_piglit(result), result, seconds=run.seconds, subtests=subtests,
                  detail="" if result == "pass" else run.output[-3000:])
