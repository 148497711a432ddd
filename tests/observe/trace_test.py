#!/usr/bin/env python3
"""WSYS_TRACE and wsys-plot (suite core): a scripted run of observe_workload
writes a trace that parses as JSON with the expected events, flows and
counters; wsys-plot turns it into a well-formed, non-empty SVG with one
series per counter track.
    trace_test.py WORKLOAD WSYS_PLOT
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

workload, plot = sys.argv[1], sys.argv[2]
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL: " + what)


with tempfile.TemporaryDirectory() as tmp:
    trace = os.path.join(tmp, "trace-%p.json")
    env = dict(os.environ, WSYS_TRACE=trace, WSYS_STATS="0")
    r = subprocess.run([workload, "--frames", "40"], env=env, capture_output=True, text=True)
    check(r.returncode == 0, "workload exit %d: %s" % (r.returncode, r.stderr))
    files = [f for f in os.listdir(tmp) if f.startswith("trace-")]
    check(len(files) == 1, "one trace file per process (%%p): %s" % files)
    path = os.path.join(tmp, files[0])
    with open(path) as f:
        events = json.load(f)  # the whole file: the closing bracket was written at exit
    check(isinstance(events, list) and events, "a JSON array of events")
    by = {}
    for e in events:
        by.setdefault((e.get("ph"), e.get("name")), []).append(e)
    for ph, name in [("M", "process_name"), ("X", "bo_alloc"), ("X", "bo_free"),
                     ("X", "vm_bind"), ("X", "vm_unmap"), ("X", "cache_trim"),
                     ("X", "app frame")]:
        check((ph, name) in by, "a %s event %s" % (ph, name))
    for e in events:
        check({"ph", "pid", "name"} <= set(e), "every event has ph, pid, name: %s" % e)
        if e["ph"] in ("X", "i", "C", "s", "f"):
            check(isinstance(e.get("ts"), (int, float)) and "tid" in e, "ts and tid: %s" % e)
        if e["ph"] == "X":
            check(e.get("dur", -1) >= 0, "a span has a duration: %s" % e)
    allocs = by.get(("X", "bo_alloc"), [])
    check(all({"size", "hit", "label"} <= set(a["args"]) for a in allocs), "bo_alloc args")
    check(any(a["args"]["hit"] for a in allocs) and any(not a["args"]["hit"] for a in allocs),
          "bo_alloc hits and misses")
    check({a["args"]["label"] for a in allocs} >= {"vk memory", "staging"}, "labels")
    binds = by.get(("X", "vm_bind"), [])
    check(all(b["args"]["ops"] >= 1 and b["args"]["mode"] in ("immediate", "async", "deferred")
              for b in binds), "vm_bind ops and mode")
    counters = [e for e in events if e["ph"] == "C"]
    check(counters and all(set(c["args"]) == {"live_bytes", "cached_bytes", "heap_committed_bytes"}
                           for c in counters), "memory counters")
    check(any(c["args"]["live_bytes"] > 0 for c in counters), "live bytes counted")
    starts = {e["id"] for e in events if e["ph"] == "s"}
    ends = {e["id"] for e in events if e["ph"] == "f"}
    check(starts and starts == ends, "flows start and end in pairs (%d, %d)" % (len(starts), len(ends)))
    check(all(e.get("bp") == "e" for e in events if e["ph"] == "f"), "flow ends bind to their slice")

    # wsys-plot: a well-formed SVG with one series per counter track.
    svg = os.path.join(tmp, "memory.svg")
    r = subprocess.run([sys.executable, plot, path, "-o", svg], capture_output=True, text=True)
    check(r.returncode == 0, "wsys-plot exit %d: %s" % (r.returncode, r.stderr))
    check(os.path.getsize(svg) > 1000, "the SVG is not empty")
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    check(root.tag == ns + "svg", "an svg root")
    series = [p for p in root.iter(ns + "polyline") if p.get("class") == "series"]
    tracks = {(c["name"], k) for c in counters for k in c["args"]}
    check(len(series) == len(tracks) and len(tracks) >= 3,
          "%d series for %d counter tracks" % (len(series), len(tracks)))
    check(all(len(p.get("points").split()) >= 2 for p in series), "every series has points")
    marks = [p for p in root.iter(ns + "path") if p.get("class") == "marks"]
    check(len(marks) >= 4, "event lanes marked (%d)" % len(marks))

    # A trace cut short (no closing bracket) still plots.
    cut = os.path.join(tmp, "cut.json")
    with open(path) as f, open(cut, "w") as g:
        g.write(f.read().rstrip().rstrip("]"))
    r = subprocess.run([sys.executable, plot, cut, "-o", svg], capture_output=True, text=True)
    check(r.returncode == 0, "wsys-plot reads a trace without its closing bracket")

print("%d failure(s)" % len(fails))
sys.exit(1 if fails else 0)
