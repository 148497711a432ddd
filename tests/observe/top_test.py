#!/usr/bin/env python3
"""wsys-top (suite core): a running observe_workload shows up in batch mode
with numbers that move between two samples, and is gone once it exits; a
segment left by a dead process is ignored and removed; under a
pseudo-terminal the interactive view shows the process and quits on q.
    top_test.py WORKLOAD WSYS_TOP
"""
import json
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time

workload, top = sys.argv[1], sys.argv[2]
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL: " + what)


def samples(d, *args):
    r = subprocess.run([top, "--dir", d, "--json"] + list(args), capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, "wsys-top exit %d: %s" % (r.returncode, r.stderr))
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


with tempfile.TemporaryDirectory() as d:
    env = dict(os.environ, WSYS_STATS_DIR=d)
    env.pop("WSYS_TRACE", None)
    # It runs until this test stops it (SIGTERM: a normal exit), however slow
    # the configuration (ASan on a loaded 2-core machine took longer than a
    # fixed 8 s run left for the checks below).
    p = subprocess.Popen([workload, "--seconds", "600"], env=env, stdout=subprocess.DEVNULL)
    try:
        # Wait for its segment.
        deadline = time.time() + 60
        mine = []
        while time.time() < deadline and not mine:
            mine = [x for x in samples(d, "--once")[0]["devices"] if x["pid"] == p.pid]
            time.sleep(0.1)
        check(mine, "the workload's pid %d is listed" % p.pid)
        two = samples(d, "-n", "2", "-d", "1")
        check(len(two) == 2, "-n 2 prints two samples")
        if len(two) == 2:
            a = [x for x in two[0]["devices"] if x["pid"] == p.pid]
            b = [x for x in two[1]["devices"] if x["pid"] == p.pid]
            check(a and b, "listed in both samples")
            if a and b:
                a, b = a[0], b[0]
                check(b["cache_hits"] + b["cache_misses"] > a["cache_hits"] + a["cache_misses"],
                      "allocations move: %s -> %s" % (a["cache_hits"], b["cache_hits"]))
                check(b["bind_calls"] > a["bind_calls"], "binds move")
                check(b.get("binds_per_s", 0) > 0, "a bind rate")
                check(b["process"] == "observe_workloa", "the process name: %s" % b["process"])
                labels = {l["label"] for l in b["labels"]}
                check({"vk memory", "staging"} <= labels, "labels: %s" % labels)
        # The text view too.
        r = subprocess.run([top, "--dir", d, "--once"], capture_output=True, text=True, timeout=60)
        check(str(p.pid) in r.stdout and "sim:panthor" in r.stdout, "text mode shows it:\n" + r.stdout)

        # Interactive, under a pseudo-terminal: shows the pid, quits on q.
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(top, [top, "--dir", d, "-d", "0.3"])
        out = b""
        deadline = time.time() + 60
        while time.time() < deadline and str(p.pid).encode() not in out:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break
        check(str(p.pid).encode() in out, "the pty view shows the pid")
        check(b"\x1b[2J" in out, "the pty view redraws the screen")
        os.write(fd, b"q")
        status = None
        deadline = time.time() + 30
        while time.time() < deadline:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid:
                status = st
                break
            try:
                if select.select([fd], [], [], 0.2)[0]:
                    os.read(fd, 65536)
            except OSError:
                pass
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        check(status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
              "q quits cleanly (%s)" % status)
        os.close(fd)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)
    check(p.returncode == 0, "workload exit %d" % p.returncode)
    gone = [x for x in samples(d, "--once")[0]["devices"] if x["pid"] == p.pid]
    check(not gone, "gone after it exits")
    check(not [f for f in os.listdir(d) if f.startswith("%d-" % p.pid)], "its file removed")

    # A segment left by a dead process: ignored and removed.
    q = subprocess.Popen([workload, "--seconds", "600"], env=env, stdout=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline and not [f for f in os.listdir(d) if f.startswith("%d-" % q.pid)]:
        time.sleep(0.1)
    q.kill()
    q.wait()
    check([f for f in os.listdir(d) if f.startswith("%d-" % q.pid)], "a killed process leaves its file")
    stale = [x for x in samples(d, "--once")[0]["devices"] if x["pid"] == q.pid]
    check(not stale, "a dead process is not listed")
    check(not [f for f in os.listdir(d) if f.startswith("%d-" % q.pid)], "its stale file removed")

    # A process killed after creating its file but before publishing the
    # segment (the magic is stored last) leaves a file that never becomes
    # valid: removed too. Made deterministic here with a dead pid's name.
    t = subprocess.Popen(["true"])
    t.wait()
    for name, body in (("%d-0.stats" % t.pid, b""), ("%d-1.stats" % t.pid, b"\0" * 4096)):
        with open(os.path.join(d, name), "wb") as f:
            f.write(body)
    samples(d, "--once")
    check(not [f for f in os.listdir(d) if f.startswith("%d-" % t.pid)],
          "an unpublished file of a dead process removed")

print("%d failure(s)" % len(fails))
sys.exit(1 if fails else 0)
