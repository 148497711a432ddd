"""deqp-vk mode: dEQP cases in batches per process, the way deqp-runner
runs them.

A batch is one deqp-vk process over a case-list file, writing a QPA log.
Progress is read from its stdout ("Test case 'NAME'.."), so a case that runs
longer than the per-case timeout is killed and recorded as Timeout. When a
batch process dies (a crash, a kill), every case it had not finished is run
again one per process, so one crash costs one case. A case that reported a
result and whose process then died is CrashAtExit, with the reported result.
"""

import os
import re
import select
import signal
import subprocess
import time

from . import verdicts as V

_CASE_START = re.compile(r"^Test case '([^']+)'\.\.")
# deqp-vk's line after a case: its status code and message, indented.
_CASE_END = re.compile(r"^  (Pass|Fail|NotSupported|QualityWarning|CompatibilityWarning|"
                       r"InternalError|ResourceError|Crash|Timeout|Waiver)\b")
_BETWEEN = "(between cases)"
_BEGIN = "#beginTestCaseResult "
_END = "#endTestCaseResult"
_TERMINATE = "#terminateTestCaseResult"
_STATUS = re.compile(r'<Result StatusCode="([A-Za-z]+)"')


def parse_qpa(text):
    """{case: (status code, the case's section of the log)} for every case
    whose result the log holds. A case cut off by #terminateTestCaseResult
    REASON gets REASON ("Timeout", "Crash", ...)."""
    out = {}
    name, lines = None, []
    for line in text.splitlines():
        if line.startswith(_BEGIN):
            name, lines = line[len(_BEGIN):].strip(), [line]
            continue
        if name is None:
            continue
        lines.append(line)
        if line.startswith(_TERMINATE):
            reason = line[len(_TERMINATE):].strip() or "Crash"
            out[name] = (reason, "\n".join(lines))
            name = None
        elif line.startswith(_END):
            m = None
            for ln in lines:
                m = _STATUS.search(ln) or m
            out[name] = (m.group(1) if m else "InternalError", "\n".join(lines))
            name = None
    return out


def list_cases(deqp, archive_dir, patterns, env, cwd):
    """The case names matching each --deqp-case pattern, in deqp's order."""
    names = []
    for pat in patterns:
        r = subprocess.run([deqp, "--deqp-runmode=stdout-caselist", "--deqp-case=" + pat,
                            "--deqp-archive-dir=" + archive_dir, "--deqp-log-filename=" + os.devnull],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                           cwd=cwd, check=False)
        got = [ln[len("TEST: "):].strip() for ln in r.stdout.splitlines()
               if ln.startswith("TEST: ")]
        if r.returncode != 0 and not got:
            raise RuntimeError("%s could not list '%s' (exit %d):\n%s" % (
                deqp, pat, r.returncode, r.stdout[-2000:]))
        names += got
    seen = set()
    return [n for n in names if not (n in seen or seen.add(n))]


class Batch:
    """One deqp-vk process over `cases`; run() returns {case: outcome} for
    the cases it settled and the list of cases it did not reach."""

    def __init__(self, deqp, archive_dir, cases, env, workdir, tag, case_timeout_s):
        self.deqp, self.archive_dir, self.cases = deqp, archive_dir, list(cases)
        self.env, self.workdir, self.tag = env, workdir, tag
        self.case_timeout_s = case_timeout_s
        self.timed_out = None  # after run(): the case killed for its time, if any

    def run(self, running):
        caselist = os.path.join(self.workdir, self.tag + ".txt")
        qpa = os.path.join(self.workdir, self.tag + ".qpa")
        with open(caselist, "w", encoding="utf-8") as f:
            f.write("\n".join(self.cases) + "\n")
        if os.path.exists(qpa):
            os.unlink(qpa)
        cmd = [self.deqp, "--deqp-archive-dir=" + self.archive_dir,
               "--deqp-caselist-file=" + caselist, "--deqp-log-filename=" + qpa,
               "--deqp-shadercache=disable", "--deqp-log-images=disable",
               "--deqp-log-shader-sources=disable", "--deqp-watchdog=disable"]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=self.env, cwd=self.workdir, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        running.add(proc.pid)
        current, case_start, case_end, out, timed_out = None, {}, {}, [], None
        last_output = start
        buf = b""
        try:
            fd = proc.stdout.fileno()
            while True:
                now = time.monotonic()
                if current and now - case_start[current] > self.case_timeout_s:
                    timed_out = current
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
                if not current and now - last_output > self.case_timeout_s:
                    timed_out = _BETWEEN  # silent outside any case (start-up, exit)
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
                if not select.select([fd], [], [], 0.2)[0]:
                    continue
                last_output = time.monotonic()
                data = os.read(fd, 65536)
                if not data:
                    break
                buf += data
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    line = raw.decode(errors="replace")
                    out.append(line)
                    m = _CASE_START.match(line)
                    if m:
                        current = m.group(1)
                        case_start[current] = time.monotonic()
                    elif current and _CASE_END.match(line):
                        case_end[current] = time.monotonic()
                        current = None
            status = proc.wait()
        finally:
            running.discard(proc.pid)
            proc.stdout.close()
        elapsed = time.monotonic() - start
        text = ""
        if os.path.exists(qpa):
            with open(qpa, encoding="utf-8", errors="replace") as f:
                text = f.read()
        logged = parse_qpa(text)
        settled, sections = {}, {}
        for c in (c for c in self.cases if c in case_start):
            secs = case_end.get(c, start + elapsed) - case_start[c]
            if c == timed_out:
                settled[c] = V.make(V.TIMEOUT, "Timeout", seconds=secs,
                                    detail="\n".join(out[-40:]))
            elif c in logged:
                code, section = logged[c]
                settled[c] = V.make(V.from_deqp(code), code, seconds=secs)
                sections[c] = section
        # deqp-vk exits 1 when a case failed: only a signal is a crash.
        signalled = status < 0 and timed_out is None
        died = status != 0 and timed_out is None
        if signalled and len(self.cases) == 1 and self.cases[0] in settled:
            # The one case reported and then its process died: at exit.
            c = self.cases[0]
            rep = settled[c]
            settled[c] = V.make(V.CRASH_AT_EXIT, "CrashAtExit(%s)" % rep["raw"],
                                reported=rep["verdict"], seconds=rep["seconds"],
                                detail="exit status %d\n%s" % (status, "\n".join(out[-40:])))
        elif died and len(self.cases) == 1 and self.cases[0] not in settled:
            c = self.cases[0]
            settled[c] = V.make(V.CRASH, "Crash", seconds=elapsed,
                                detail="exit status %d\n%s" % (status, "\n".join(out[-40:])))
        left = [c for c in self.cases if c not in settled]
        if died and len(self.cases) > 1:
            # Which case the crash belongs to is found by running the
            # unfinished ones alone; a batch that died at exit after
            # finishing every case loses nothing.
            pass
        elif not died and timed_out is None and left:
            # deqp-vk exited cleanly without reaching these: it never started
            # them (an unknown name): recorded, not re-run forever.
            for c in left:
                settled[c] = V.make(V.MISSING, "Missing", detail="not run by deqp-vk")
            left = []
        if left and not settled:
            # Nothing settled (a hang or crash before the first case): the
            # first case takes the blame, so every batch makes progress.
            c = left.pop(0)
            settled[c] = V.make(V.TIMEOUT if timed_out else V.CRASH, "Timeout" if timed_out
                                else "Crash", seconds=elapsed, detail="exit status %d\n%s" % (
                                    status, "\n".join(out[-40:])))
        self.timed_out = timed_out
        return settled, sections, left, status
