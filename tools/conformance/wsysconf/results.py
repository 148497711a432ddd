"""The runner's own results: one results.json per run (or shard), the
printed comparison, JUnit XML, and merging shards.

results.json:
  {"format": 1, "suite": "piglit" | "deqp-vk", "baseline": "lavapipe",
   "devices": ["sim:panthor", ...], "shard": [K, N],
   "wall_seconds": {config: seconds},
   "malloc": the programs' GLIBC_TUNABLES (deqp-vk; malloc_env.py),
   "tests": {name: {config: outcome}}}
An outcome is verdicts.make()'s dict, with "retry" holding the outcome of the
second run when there was one. Statuses are not stored: they are judged from
the outcomes and the expectations each time (so `merge` can judge shards
against the checked-in files).
"""

import json
import os
import xml.etree.ElementTree as ET

from . import compare
from . import verdicts as V

FORMAT = 1


def parse_shard(text):
    """'K/N' -> (K, N), 1 <= K <= N; deqp-runner's --fraction-start K
    --fraction N: test i (0-based, in the sorted list) is in shard K when
    i % N == K - 1, the same split on every machine."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError("--shard takes K/N (for example 2/4), got '%s'" % text) from None
    if not 1 <= k <= n:
        raise ValueError("--shard K/N needs 1 <= K <= N, got '%s'" % text)
    return k, n


def select_shard(names, shard):
    k, n = shard
    return [t for i, t in enumerate(sorted(names)) if i % n == k - 1]


def new(suite, baseline, devices, shard):
    return {"format": FORMAT, "suite": suite, "baseline": baseline, "devices": list(devices),
            "shard": list(shard), "wall_seconds": {}, "tests": {}}


def save(results, directory):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "results.json")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
    return path


def load(directory):
    path = os.path.join(directory, "results.json") if os.path.isdir(directory) else directory
    with open(path, encoding="utf-8") as f:
        r = json.load(f)
    if r.get("format") != FORMAT:
        raise ValueError("%s: not a wsys-conformance results file (format %r)"
                         % (path, r.get("format")))
    return r


def merge(parts):
    """One results dict from shard results of the same suite and devices.
    A test present in two parts is an error (shards overlap)."""
    if not parts:
        raise ValueError("merge needs at least one results directory")
    first = parts[0]
    out = new(first["suite"], first["baseline"], first["devices"], (1, 1))
    for p in parts:
        if (p["suite"], p["baseline"], p["devices"]) != (first["suite"], first["baseline"],
                                                         first["devices"]):
            raise ValueError("cannot merge %s/%s on %s with %s/%s on %s" % (
                first["suite"], first["baseline"], first["devices"], p["suite"],
                p["baseline"], p["devices"]))
        for name, outcomes in p["tests"].items():
            if name in out["tests"]:
                raise ValueError("test %s is in two of the merged results (overlapping shards)"
                                 % name)
            out["tests"][name] = outcomes
        for c, s in p["wall_seconds"].items():
            out["wall_seconds"][c] = out["wall_seconds"].get(c, 0.0) + s
        for c, n in (p.get("exit_crashes") or {}).items():
            ec = out.setdefault("exit_crashes", {})
            ec[c] = ec.get(c, 0) + n
        if p.get("malloc"):  # shards run with different thresholds time differently
            m = out.setdefault("malloc", p["malloc"])
            if m != p["malloc"]:
                out["malloc"] = "mixed: " + " / ".join(sorted({m, p["malloc"]}))
    return out


def configs(results):
    return [results["baseline"]] + results["devices"]


def verdict_counts(results):
    """{config: {verdict: count}}"""
    counts = {c: {} for c in configs(results)}
    for outcomes in results["tests"].values():
        for c, o in outcomes.items():
            if c in counts:
                counts[c][o["verdict"]] = counts[c].get(o["verdict"], 0) + 1
    return counts


def test_seconds(results):
    """{config: the sum of every test's own time}"""
    out = {c: 0.0 for c in configs(results)}
    for outcomes in results["tests"].values():
        for c, o in outcomes.items():
            if c in out:
                out[c] += o.get("seconds", 0.0)
    return out


def report(results, statuses, stale, out):
    """Prints the comparison; returns the number of regressions."""
    cfgs = configs(results)
    counts = verdict_counts(results)
    secs = test_seconds(results)
    w = max(12, max(len(c) for c in cfgs))
    print("%s: %d tests, baseline %s, shard %d/%d" % (
        results["suite"], len(results["tests"]), results["baseline"], *results["shard"]), file=out)
    print("%-*s" % (w, "verdict") + "".join(" %*s" % (w, c) for c in cfgs), file=out)
    for v in V.ALL:
        if any(counts[c].get(v) for c in cfgs):
            print("%-*s" % (w, v) + "".join(" %*d" % (w, counts[c].get(v, 0)) for c in cfgs),
                  file=out)
    print("%-*s" % (w, "test seconds") + "".join(" %*.1f" % (w, secs[c]) for c in cfgs), file=out)
    if results["wall_seconds"]:
        print("%-*s" % (w, "wall seconds") + "".join(
            " %*.1f" % (w, results["wall_seconds"].get(c, 0.0)) for c in cfgs), file=out)
    if results.get("malloc"):
        print("heap thresholds (every side): %s" % results["malloc"], file=out)
    for c, n in sorted((results.get("exit_crashes") or {}).items()):
        print("%s: %d batch process(es) died after their last case (a crash at exit; their "
              "cases' verdicts stand)" % (c, n), file=out)
    regressions = 0
    for device in results["devices"]:
        per = statuses[device]
        by = {}
        for name, (st, why) in per.items():
            by.setdefault(st, []).append((name, why))
        base_pass = counts[results["baseline"]].get(V.PASS, 0)
        dev_pass = counts[device].get(V.PASS, 0)
        print("\n%s against %s: %s; passing %d vs %d%s" % (
            device, results["baseline"],
            ", ".join("%d %s" % (len(by.get(s, [])), s) for s in compare.ORDER),
            dev_pass, base_pass, "" if dev_pass >= base_pass else "  (fewer than the baseline)"),
            file=out)
        for st in ("regression", "flake", "expected", "baseline-broken", "improved"):
            items = sorted(by.get(st, []))
            if not items:
                continue
            shown = items if st in ("regression", "flake", "baseline-broken") else items[:20]
            title = "baseline broken here" if st == "baseline-broken" else st
            print("  %s (%d):" % (title, len(items)), file=out)
            for name, why in shown:
                print("    %s: %s" % (name, why), file=out)
            if len(shown) < len(items):
                print("    ... %d more in results.json" % (len(items) - len(shown)), file=out)
        if stale.get(device):
            print("  listed in fails but not failing that way here (%d): %s" % (
                len(stale[device]), ", ".join(stale[device][:10])), file=out)
        regressions += len(by.get("regression", []))
    return regressions


def write_junit(results, statuses, path):
    """One <testsuite> per wsys device, one <testcase> per test: a failure
    for a regression, skipped for tests skipped on the device."""
    root = ET.Element("testsuites", name="wsys-conformance " + results["suite"])
    for device in results["devices"]:
        per = statuses[device]
        suite = ET.SubElement(root, "testsuite", name="%s.%s" % (results["suite"], device))
        n_fail = n_skip = 0
        for name in sorted(per):
            st, why = per[name]
            got = results["tests"][name][device]
            case = ET.SubElement(suite, "testcase", classname="%s.%s" % (
                results["suite"], device), name=name, time="%.3f" % got.get("seconds", 0.0))
            if st in compare.FAILING:
                n_fail += 1
                ET.SubElement(case, "failure", message=why, type=got["verdict"]).text = \
                    got.get("detail", "")
            elif got["verdict"] == V.SKIP:
                n_skip += 1
                ET.SubElement(case, "skipped", message=got.get("raw", V.SKIP))
            if st not in ("same",):
                ET.SubElement(case, "system-out").text = "%s: %s" % (st, why)
        suite.set("tests", str(len(per)))
        suite.set("failures", str(n_fail))
        suite.set("skipped", str(n_skip))
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
