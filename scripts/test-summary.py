#!/usr/bin/env python3
"""Counts test results from one or more meson build directories.

Reads each build's meson-logs/testlog.json (one line per meson test) and
meson-logs/testlog.junit.xml (which carries every GoogleTest case of tests
registered with protocol 'gtest'). A gtest program counts once per test
case; any other program counts once. A program that meson saw fail but whose
cases all passed (a crash, a sanitizer report at exit, a timeout) counts as
one more failure, so nothing is lost.

For each failed program, the last lines of its output come first (CI keeps
only this script's output, so a failure must be diagnosable from it); then
one line per build directory and, last, the plain total:
    N passed, N failed[, N skipped]
Exit status 0 only if nothing failed and at least one test ran.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

FAIL_RESULTS = {"FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"}
LOG_TAIL_LINES = 40


def log_tail(t):
    """The last lines of a meson test's captured output."""
    text = (t.get("stdout") or "") + (t.get("stderr") or "")
    return text.splitlines()[-LOG_TAIL_LINES:]


def gtest_cases(junit_path, project):
    """{meson test name: [passed, failed, skipped]} from the junit file."""
    out = {}
    if not os.path.exists(junit_path):
        return out
    root = ET.parse(junit_path).getroot()
    for suite in root.iter("testsuite"):
        name = suite.get("name", "")
        prefix = project + "."
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        test_name = rest.rsplit(".", 1)[0] if "." in rest else rest
        counts = out.setdefault(test_name, [0, 0, 0])
        for case in suite.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                counts[1] += 1
            elif case.find("skipped") is not None or case.get("result") == "skipped" \
                    or case.get("status") == "notrun":
                counts[2] += 1
            else:
                counts[0] += 1
    return out


def summarise(build_dir, project="wsys"):
    logs = os.path.join(build_dir, "meson-logs")
    json_path = os.path.join(logs, "testlog.json")
    passed = failed = skipped = 0
    failures = []  # (message, last lines of its output)
    if not os.path.exists(json_path):
        return 0, 1, 0, [(f"{build_dir}: no test log (build or setup failed)", [])]
    cases = gtest_cases(os.path.join(logs, "testlog.junit.xml"), project)
    with open(json_path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            name, result = t["name"], t["result"]
            c = cases.get(name)
            if c and sum(c) > 0:
                passed += c[0]
                failed += c[1]
                skipped += c[2]
                if c[1]:
                    failures.append((f"{name}: {c[1]} case(s) failed", log_tail(t)))
                elif result in FAIL_RESULTS:
                    failed += 1
                    failures.append((f"{name}: {result} outside any test case (crash or sanitizer report)",
                                     log_tail(t)))
            elif result == "SKIP":
                skipped += 1
            elif result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            else:
                failed += 1
                failures.append((f"{name}: {result}", log_tail(t)))
    return passed, failed, skipped, failures


def fmt(p, f, s):
    line = f"{p} passed, {f} failed"
    if s:
        line += f", {s} skipped"
    return line


def main(argv):
    if len(argv) < 2:
        print("usage: test-summary.py BUILD_DIR [BUILD_DIR...]", file=sys.stderr)
        return 2
    tp = tf = ts = 0
    results = [(d, summarise(d)) for d in argv[1:]]
    for d, (_, _, _, failures) in results:
        for msg, tail in failures:
            if tail:
                print(f"---- [{os.path.basename(d)}] {msg}: last {len(tail)} lines of its output")
                for line in tail:
                    print(f"  | {line}")
    for d, (p, f, s, failures) in results:
        for msg, _ in failures:
            print(f"FAILED [{os.path.basename(d)}] {msg}")
        print(f"[{os.path.basename(d)}] {fmt(p, f, s)}")
        tp, tf, ts = tp + p, tf + f, ts + s
    print(fmt(tp, tf, ts))
    return 0 if tf == 0 and tp > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
