"""Judging each wsys device against the baseline (lavapipe alone, same run).

Per test and device, one status:
  same             the same verdict (and reported result, and subtests)
  improved         wsys passes where the baseline does not (the sparse
                   cases lavapipe reports NotSupported, for one)
  baseline-broken  the baseline did not end cleanly on this machine (crash,
                   crash at exit, timeout, no result; in its first run or
                   in the run again of a difference), whatever wsys did:
                   reported, and not held against wsys by itself; wsys is
                   still judged on the result the baseline reported before a
                   crash at exit
  flake            a verdict changed when the test was run again, or the
                   test is in a -flakes.txt file
  expected         the device's -fails.txt lists this verdict for the test
  regression       any other difference: a wsys bug until shown otherwise
Only regressions make the run fail.
"""

from . import verdicts as V

FAILING = ("regression",)
ORDER = ("same", "improved", "baseline-broken", "flake", "expected", "regression")


def _changed_on_retry(outcome):
    """The second run reported something else. A run that reported the same
    and then crashed at exit did not change its verdict (the crash is kept,
    not mistaken for a flake that would hide the verdict)."""
    retry = outcome.get("retry")
    if retry is None:
        return False

    def seen(o):
        r = V.reported_verdict(o)
        return (r if r is not None else o["verdict"], o.get("subtests") or {})
    return seen(retry) != seen(outcome)


def _broken_run(outcome):
    """The run of `outcome` (the first, else its retry) that did not end
    cleanly, or None. A baseline that crashes at exit only on its second
    run is as broken on this machine as one that does so every time: the
    first clean exit was luck (lavapipe's shader-compile threads racing the
    process's exit), and wsys must not be judged against it."""
    if outcome["verdict"] in V.BROKEN:
        return outcome
    retry = outcome.get("retry")
    return retry if retry is not None and retry["verdict"] in V.BROKEN else None


def classify(name, base, got, expectations):
    """(status, reason) of `got` on a wsys device against `base`."""
    broken = _broken_run(base)
    if broken is not None and broken is not base and V.reported_verdict(broken) is not None:
        base = broken  # judged against the run that shows the breakage
    if base["verdict"] in V.BROKEN:
        br, gr = V.reported_verdict(base), V.reported_verdict(got)
        if V.key(got) == V.key(base) or br is None or gr is None or gr == br or gr == V.PASS:
            return "baseline-broken", "%s on the baseline, %s here" % (V.label(base), V.label(got))
    elif V.key(got) == V.key(base) or (got["verdict"] == V.PASS and base["verdict"] == V.PASS):
        return "same", ""
    if got["verdict"] == V.PASS:
        return "improved", "%s on the baseline" % V.label(base)
    for side, outcome in (("wsys", got), ("baseline", base)):
        if _changed_on_retry(outcome):
            return "flake", "%s: %s, then %s on retry" % (side, V.label(outcome),
                                                         V.label(outcome["retry"]))
    why = expectations.flake_reason(name)
    if why:
        return "flake", "listed flake: " + why
    why = expectations.expected_fail(name, got)
    if why:
        return "expected", why
    return "regression", "%s here, %s on the baseline" % (V.label(got), V.label(base))


def judge(results, expectations_by_device):
    """{device: {name: (status, reason)}} for every test run on both sides,
    plus {device: [stale fails entries]}: listed tests that did not give
    their listed verdict (a warning: machines differ)."""
    statuses, stale = {}, {}
    baseline = results["baseline"]
    for device in results["devices"]:
        exp = expectations_by_device[device]
        per = statuses.setdefault(device, {})
        for name, outcomes in results["tests"].items():
            if baseline in outcomes and device in outcomes:
                per[name] = classify(name, outcomes[baseline], outcomes[device], exp)
        stale[device] = sorted(
            "%s,%s" % (n, v) for n, (v, _) in exp.fails.items()
            if n in per and per[n][0] != "expected")
    return statuses, stale


def needs_retry(base, got):
    """Whether a test's pair of outcomes is a difference worth a second run
    (one that could otherwise end as a regression)."""
    if V.key(got) == V.key(base) or got["verdict"] == V.PASS:
        return False
    return not (got["verdict"] == V.PASS and base["verdict"] == V.PASS)
