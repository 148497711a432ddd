#!/usr/bin/env python3
"""wsys-info --json (suite core): parses, carries the schema and version,
and says what the text output says: every device, driver version, property
and memory figure.
    info_json_test.py WSYS_INFO
"""
import json
import subprocess
import sys

info = sys.argv[1]
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL: " + what)


text = subprocess.run([info], capture_output=True, text=True).stdout
r = subprocess.run([info, "--json"], capture_output=True, text=True)
j = json.loads(r.stdout)
check(j["schema"] == "wsys.info" and j["version"] == 1, "schema and version")
lines = text.splitlines()


def has_prop(key, value):
    want = "      %-18s %s" % (key, value)
    return want in lines


for n in j["render_nodes"]:
    check(any(l.startswith("  " + n["path"] + "  ") for l in lines), "node %s in the text" % n["path"])
    for k, v in n["properties"].items():
        check(has_prop(k, v), "node property %s: %s" % (k, v))
check(j["model"], "model flavours listed")
for m in j["model"]:
    drv = m["driver"]
    head = "  %s  driver %s %d.%d.%d" % (m["spec"], drv["name"], drv["major"], drv["minor"],
                                         drv["patchlevel"])
    check(any(l.startswith(head) for l in lines), "model line: " + head)
    for k, v in m["properties"].items():
        check(has_prop(k, v), "%s property %s: %s" % (m["spec"], k, v))
    mem = m["memory"]
    check(has_prop("memory budget", "%.1f MiB (WSYS_SIM_MEMORY_BUDGET)" % (mem["budget_bytes"] / 2**20)),
          "%s budget %d" % (m["spec"], mem["budget_bytes"]))
    check(has_prop("memory charged", "%.1f MiB" % (mem["charged_bytes"] / 2**20)), "charged")
    check(has_prop("shrinker", "%d purged (%.1f MiB)" % (mem["purges"], mem["purged_bytes"] / 2**20)),
          "shrinker")
sel = j["selected"]
check(("Selected (WSYS_DEVICE=%s):" % sel["env"]) in lines, "the selection's variable")
if "node" in sel:
    check(any(l.startswith("  %s  driver %s" % (sel["node"], sel["driver"]["name"])) for l in lines),
          "the selected node")
print("%d failure(s)" % len(fails))
sys.exit(1 if fails else 0)
