#!/usr/bin/env python3
"""WSYS_VK_REPORT=json:FILE (suite vulkan): wsys-vk-demo on the ICD writes
one JSON line per VkDevice whose figures are those of the text report the
demo prints.
    vk_report_json_test.py WSYS_VK_DEMO
"""
import json
import os
import re
import subprocess
import sys
import tempfile

demo = sys.argv[1]
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL: " + what)


with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "report.json")
    env = dict(os.environ, WSYS_VK_REPORT="json:" + path, WSYS_BO_CACHE_HALF_LIFE_MS="0")
    r = subprocess.run([demo, "--frames", "8"], env=env, capture_output=True, text=True, timeout=240)
    if r.returncode != 0 and "lavapipe" in (r.stdout + r.stderr) and "not found" in (r.stdout + r.stderr):
        print("SKIP: " + r.stderr)
        sys.exit(77)
    check(r.returncode == 0, "demo exit %d: %s" % (r.returncode, r.stderr[-2000:]))
    with open(path) as f:
        reports = [json.loads(l) for l in f if l.strip()]
    check(len(reports) >= 1, "one JSON line per VkDevice")
    j = reports[-1]
    check(j["schema"] == "wsys.memory_report" and j["version"] == 1, "schema and version")
    text = r.stdout + r.stderr
    m = re.search(r"BOs: +(\d+) created, (\d+) destroyed", text)
    c = re.search(r"BO cache: +(\d+) hits, (\d+) misses, (\d+) returned", text)
    v = re.search(r"VM binds: +(\d+) bind calls, (\d+) maps, (\d+) unmaps", text)
    check(m and c and v, "the demo printed its text report")
    if m and c and v:
        # The demo's report is taken before vkDestroyDevice, the JSON at it:
        # counts only grow in between.
        check(j["bos"]["created"] >= int(m.group(1)), "created %s" % j["bos"]["created"])
        check(j["cache"]["hits"] == int(c.group(1)), "hits %s vs %s" % (j["cache"]["hits"], c.group(1)))
        check(j["cache"]["misses"] == int(c.group(2)), "misses")
        check(j["vm"]["bind_calls"] >= int(v.group(1)), "bind calls")
        check(j["vm"]["maps"] == int(v.group(2)), "maps")
print("%d failure(s)" % len(fails))
sys.exit(1 if fails else 0)
