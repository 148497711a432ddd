"""One vocabulary for piglit's and dEQP's verdicts, and what counts as worse.

The names are deqp-runner's (the ones its -fails.txt files use), so one
expectations format serves both suites: Pass, Fail, Warn, Skip, Crash,
Timeout, Missing, plus CrashAtExit: the test reported a result and then the
process died. That last one is kept apart from Crash because Debian's
lavapipe (Mesa 22.3, LLVM 15) crashes at exit on some CPUs on its own; the
result the test reported is kept in `reported` and compared too.
"""

PASS, FAIL, WARN, SKIP = "Pass", "Fail", "Warn", "Skip"
CRASH, CRASH_AT_EXIT, TIMEOUT, MISSING = "Crash", "CrashAtExit", "Timeout", "Missing"
ALL = (PASS, FAIL, WARN, SKIP, CRASH, CRASH_AT_EXIT, TIMEOUT, MISSING)

# The verdicts of a test that did not end cleanly on its own.
BROKEN = (CRASH, CRASH_AT_EXIT, TIMEOUT, MISSING)

_PIGLIT = {
    "pass": PASS, "fail": FAIL, "warn": WARN, "skip": SKIP, "crash": CRASH,
    "timeout": TIMEOUT, "incomplete": CRASH, "notrun": MISSING,
    "dmesg-warn": WARN, "dmesg-fail": FAIL,
}

_DEQP = {
    "Pass": PASS, "Fail": FAIL, "NotSupported": SKIP, "QualityWarning": WARN,
    "CompatibilityWarning": WARN, "InternalError": FAIL, "ResourceError": FAIL,
    "Crash": CRASH, "Timeout": TIMEOUT, "Waiver": SKIP,
}


def from_piglit(result):
    """A piglit result string ("pass", "dmesg-fail", ...) as a verdict."""
    return _PIGLIT.get(result, FAIL)


def from_deqp(status_code):
    """A dEQP <Result StatusCode=...> as a verdict."""
    return _DEQP.get(status_code, FAIL)


def make(verdict, raw=None, reported=None, seconds=0.0, subtests=None, detail=""):
    """One test's outcome on one configuration, as stored in results.json."""
    if verdict not in ALL:
        raise ValueError("unknown verdict %r" % verdict)
    out = {"verdict": verdict, "raw": raw if raw is not None else verdict,
           "seconds": round(float(seconds), 3)}
    if reported is not None:
        out["reported"] = reported
    if subtests:
        out["subtests"] = dict(subtests)
    if detail:
        out["detail"] = detail[-4000:]
    return out


def key(outcome):
    """What two outcomes must share to count as the same verdict."""
    return (outcome["verdict"], outcome.get("reported"), outcome.get("subtests") or {})


def reported_verdict(outcome):
    """The verdict the test itself reported: the verdict for a clean end,
    the reported one after a crash at exit, None when it reported nothing."""
    if outcome["verdict"] == CRASH_AT_EXIT:
        return outcome.get("reported")
    if outcome["verdict"] in BROKEN:
        return None
    return outcome["verdict"]


def label(outcome):
    """A short human form: 'Pass', 'CrashAtExit(Pass)'."""
    if outcome["verdict"] == CRASH_AT_EXIT and outcome.get("reported"):
        return "%s(%s)" % (CRASH_AT_EXIT, outcome["reported"])
    return outcome["verdict"]
