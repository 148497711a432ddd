"""wsys-conformance: piglit and dEQP-VK on the wsys ICD, judged against
lavapipe alone in the same run.

  wsys-conformance piglit  [--profile quick_gl] [--test-list F] [-t RE] [-x RE] ...
  wsys-conformance deqp-vk [--deqp PATH] [--case PATTERN ...] [--caselist F] ...
  wsys-conformance merge   --results DIR SHARD_RESULTS...

Every mode writes DIR/results.json, DIR/junit.xml and DIR/summary.txt and
prints the comparison. Exit status: 0 when every difference from the
baseline is explained (expectations, flakes, a baseline broken on this
machine), 1 when some is not, 2 for a usage or environment error, 77 when a
required tool (piglit, deqp-vk, lavapipe, Xvfb) is missing.
"""

import argparse
import concurrent.futures
import io
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

from . import compare, deqp, expectations, malloc_env, piglit, results, zink_env
from . import verdicts as V

DEFAULT_DEVICES = ["sim:panthor", "sim:panfrost"]
BASELINE = "lavapipe"


class Config:
    """One side of the comparison: lavapipe alone, or the wsys ICD on one
    wsys device."""

    def __init__(self, name, manifest, wsys_device=None, pin_malloc=False):
        self.name, self.manifest, self.wsys_device = name, manifest, wsys_device
        self.pin_malloc = pin_malloc

    def vulkan_env(self):
        env = dict(os.environ)
        env.pop("MALLOC_PERTURB_", None)  # see zink_env.environment
        if self.pin_malloc:  # the same heap thresholds on every side (malloc_env.py)
            malloc_env.pin(env)
        env["VK_DRIVER_FILES"] = self.manifest
        env["VK_ICD_FILENAMES"] = self.manifest
        if self.wsys_device:
            env["WSYS_DEVICE"] = self.wsys_device
        else:
            env.pop("WSYS_DEVICE", None)
        env.pop("WSYS_VK_REPORT", None)
        return env


def _common_args(p):
    p.add_argument("--device", action="append", dest="devices",
                   help="wsys device to compare with lavapipe alone (repeatable; default "
                        "sim:panthor and sim:panfrost)")
    p.add_argument("--results", required=True, help="directory for the results")
    p.add_argument("--expectations", help="directory of <suite>-<device>-{fails,flakes,skips}.txt")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="processes at once, all configurations together (default: CPUs)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per test (default 60)")
    p.add_argument("--shard", default="1/1", help="K/N: run the K-th of N equal parts (every "
                   "N-th test of the sorted list, from the K-th; deqp-runner's --fraction)")
    p.add_argument("--no-retry", action="store_true",
                   help="do not run a differing test again (flakes then look like regressions)")
    p.add_argument("--wsys-manifest", default=os.environ.get("WSYS_CONFORMANCE_ICD_MANIFEST"),
                   help="the wsys ICD's loader manifest (default: the one this runner was "
                        "built or installed with)")
    p.add_argument("--lavapipe-manifest", default=os.environ.get("WSYS_LAVAPIPE_MANIFEST"),
                   help="lavapipe's loader manifest (default: found on the loader's path)")
    p.add_argument("--baseline-only", action="store_true",
                   help="run lavapipe alone only (no wsys device): a reference run")


def build_parser():
    ap = argparse.ArgumentParser(prog="wsys-conformance", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("piglit", help="piglit's runner on zink over each ICD")
    _common_args(p)
    p.add_argument("--profile", default="quick_gl", help="piglit profile (default quick_gl)")
    p.add_argument("--test-list", help="file of piglit test names, one a line ('#' comments)")
    p.add_argument("-t", "--include", action="append", default=[], help="regex (piglit's -t)")
    p.add_argument("-x", "--exclude", action="append", default=[], help="regex (piglit's -x)")
    p.add_argument("--piglit", default=os.environ.get("WSYS_PIGLIT") or shutil.which("piglit"),
                   help="piglit's command (default: piglit on PATH)")
    p.add_argument("--launcher", default=os.environ.get("WSYS_CONFORMANCE_LAUNCHER"),
                   help="the wsys-gl launcher (default: the one this runner came with)")
    p.add_argument("--no-html", action="store_true", help="skip `piglit summary html`")
    d = sub.add_parser("deqp-vk", help="a deqp-vk binary on each ICD, in batches")
    _common_args(d)
    d.add_argument("--deqp", default=os.environ.get("WSYS_DEQP_VK"),
                   help="the deqp-vk binary (default $WSYS_DEQP_VK); bring your own build of "
                        "Khronos VK-GL-CTS")
    d.add_argument("--archive-dir", help="deqp's --deqp-archive-dir (default: the binary's "
                   "directory, which holds vulkan/)")
    d.add_argument("--case", action="append", default=[], help="case pattern, e.g. "
                   "'dEQP-VK.memory.*' (repeatable)")
    d.add_argument("--caselist", help="file of case names or patterns, one a line")
    d.add_argument("--batch", type=int, default=100, help="cases per process (default 100)")
    d.add_argument("--malloc-defaults", action="store_true",
                   help="leave glibc's heap thresholds to its own adjustment instead of fixing "
                        "them on every side (timing then depends on whether the driver's "
                        "memory is malloc'd: wsysconf/malloc_env.py)")
    m = sub.add_parser("merge", help="join shard results into one summary")
    m.add_argument("--results", required=True, help="directory for the merged results")
    m.add_argument("--expectations", help="expectations directory (as for the runs)")
    m.add_argument("parts", nargs="+", help="results directories of the shards")
    return ap


def _read_lines(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line)
    return out


def _configs(args, lavapipe_manifest):
    pin = args.mode == "deqp-vk" and not args.malloc_defaults
    cfgs = [Config(BASELINE, lavapipe_manifest, pin_malloc=pin)]
    if not args.baseline_only:
        cfgs += [Config(d, args.wsys_manifest, d, pin_malloc=pin) for d in args.devices]
    return cfgs


def _finish(res, exps, outdir, extra_out=None):
    """Judge, print, write junit and summary; the exit status."""
    statuses, stale = compare.judge(res, exps)
    buf = io.StringIO()
    regressions = results.report(res, statuses, stale, buf)
    text = buf.getvalue()
    sys.stdout.write(text)
    with open(os.path.join(outdir, "summary.txt"), "w", encoding="utf-8") as f:
        f.write(text)
        if extra_out:
            f.write(extra_out)
    results.save(res, outdir)
    results.write_junit(res, statuses, os.path.join(outdir, "junit.xml"))
    if regressions:
        print("\nFAIL: %d difference(s) from %s that no expectation explains" % (
            regressions, res["baseline"]))
        return 1
    print("\nOK: no unexplained difference from %s (%s)" % (res["baseline"], outdir))
    return 0


class _Running:
    """Process groups started by the runner, killed on SIGTERM/SIGINT."""

    def __init__(self):
        self.pids, self.lock = set(), threading.Lock()

    def add(self, pid):
        with self.lock:
            self.pids.add(pid)

    def discard(self, pid):
        with self.lock:
            self.pids.discard(pid)

    def kill_all(self):
        with self.lock:
            for pid in list(self.pids):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _install_signal_handlers(running):
    def handler(signum, _frame):
        running.kill_all()
        zink_env._stopping = True  # noqa: SLF001 (shared stop flag)
        with zink_env._running_lock:  # noqa: SLF001
            for pid in list(zink_env._running):  # noqa: SLF001
                zink_env._kill_group(pid)  # noqa: SLF001
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _skipped(names, exp):
    return [n for n in names if exp.skip_reason(n) is None]


# ---------------------------------------------------------------- deqp-vk

def run_deqp(args, exps, lavapipe_manifest, outdir, running):
    if not args.deqp:
        print("SKIP: no deqp-vk given (--deqp or WSYS_DEQP_VK): build Khronos VK-GL-CTS's "
              "deqp-vk and point the runner at it")
        return zink_env.SKIP
    if not os.access(args.deqp, os.X_OK):
        raise ValueError("--deqp %s is not an executable" % args.deqp)
    deqp_bin = os.path.abspath(args.deqp)
    archive = os.path.abspath(args.archive_dir or os.path.dirname(deqp_bin))
    patterns = list(args.case)
    if args.caselist:
        patterns += _read_lines(args.caselist)
    if not patterns:
        raise ValueError("deqp-vk mode needs --case PATTERN or --caselist FILE")
    if args.batch < 1:
        raise ValueError("--batch must be >= 1")
    cfgs = _configs(args, lavapipe_manifest)
    work = tempfile.mkdtemp(prefix="deqp.", dir=outdir)
    names = deqp.list_cases(deqp_bin, archive, patterns, cfgs[0].vulkan_env(), work)
    if not names:
        raise ValueError("no deqp-vk case matches %s" % ", ".join(patterns))
    names = results.select_shard(names, results.parse_shard(args.shard))
    res = results.new("deqp-vk", BASELINE, [c.name for c in cfgs[1:]],
                      results.parse_shard(args.shard))
    # Which heap thresholds the processes ran with (malloc_env.py).
    res["malloc"] = cfgs[0].vulkan_env().get("GLIBC_TUNABLES") or "glibc defaults"
    per_cfg = {}
    for c in cfgs:
        exp = exps.get(c.name)
        per_cfg[c.name] = _skipped(names, exp) if exp else list(names)
    print("deqp-vk %s: %d cases; %s" % (deqp_bin, len(names), ", ".join(
        "%s %d" % (c.name, len(per_cfg[c.name])) for c in cfgs)), flush=True)

    lock = threading.Lock()
    exit_crashes = res.setdefault("exit_crashes", {})  # config -> batches that died at exit
    sections = {}
    counter = [0]
    started = {c.name: None for c in cfgs}
    ended = {c.name: 0.0 for c in cfgs}

    def run_batch(cfg, cases, into):
        """Runs `cases` on `cfg` until every one is settled; returns
        {case: outcome}. Crashes and timeouts re-queue what is left."""
        pending = [list(cases)]
        settled = {}
        while pending:
            chunk = pending.pop(0)
            with lock:
                counter[0] += 1
                tag = "b%05d" % counter[0]
                if started[cfg.name] is None:
                    started[cfg.name] = time.monotonic()
            b = deqp.Batch(deqp_bin, archive, chunk, cfg.vulkan_env(), work, tag, args.timeout)
            got, secs, left, status = b.run(running)
            settled.update(got)
            if status < 0 and not left and b.timed_out is None and len(chunk) > 1:
                with lock:  # every case reported, then the process died: said, not hidden
                    exit_crashes[cfg.name] = exit_crashes.get(cfg.name, 0) + 1
            with lock:
                for c, s in secs.items():
                    sections[(cfg.name, c)] = s
                ended[cfg.name] = time.monotonic()
            if left:
                if status != 0 and not b.timed_out:
                    pending = [[c] for c in left] + pending  # died: one case per process
                else:
                    pending.insert(0, left)  # timed out: the rest as a batch
            for f in (os.path.join(work, tag + ".txt"), os.path.join(work, tag + ".qpa")):
                if os.path.exists(f):
                    os.unlink(f)
        with lock:
            for c, o in settled.items():
                into.setdefault(c, {})[cfg.name] = o
        return len(settled)

    tests = res["tests"]
    jobs = []
    for i in range(0, max(len(v) for v in per_cfg.values()), args.batch):
        for c in cfgs:
            chunk = per_cfg[c.name][i:i + args.batch]
            if chunk:
                jobs.append((c, chunk))
    t0 = time.monotonic()
    done_n = 0
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futs = [pool.submit(run_batch, c, chunk, tests) for c, chunk in jobs]
        total, shown = sum(len(v) for v in per_cfg.values()), 0.0
        for f in concurrent.futures.as_completed(futs):
            done_n += f.result()
            if time.monotonic() - shown >= 30 or done_n == total:  # a line each 30 s
                shown = time.monotonic()
                print("  %d/%d case runs done (%.0f s)" % (done_n, total, shown - t0), flush=True)
    for c in cfgs:
        if started[c.name] is not None:
            res["wall_seconds"][c.name] = ended[c.name] - started[c.name]

    if not args.no_retry and not args.baseline_only:
        retry = _retry_set(res)
        if retry:
            print("running %d differing case(s) again" % len(retry), flush=True)

        def again(cfg, case):
            out = {}
            run_batch(cfg, [case], out)
            return cfg.name, case, out[case][cfg.name]
        by_name = {c.name: c for c in cfgs}
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for cname, case, o in pool.map(lambda j: again(by_name[j[0]], j[1]), sorted(retry)):
                tests[case][cname]["retry"] = o
    # The QPA of every case that did not pass, for each configuration.
    for (cname, case), text in sections.items():
        o = tests.get(case, {}).get(cname)
        if o and o["verdict"] not in (V.PASS, V.SKIP):
            d = os.path.join(outdir, "qpa", expectations.device_key(cname))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, case + ".qpa"), "w", encoding="utf-8") as f:
                f.write(text)
    shutil.rmtree(work, ignore_errors=True)
    return res


def _retry_set(res):
    """(config, test) pairs to run again: both sides of every difference
    that could end as a regression."""
    out = set()
    base = res["baseline"]
    for name, outcomes in res["tests"].items():
        if base not in outcomes:
            continue
        for d in res["devices"]:
            if d in outcomes and compare.needs_retry(outcomes[base], outcomes[d]):
                out.add((d, name))
                out.add((base, name))
    return out


# ---------------------------------------------------------------- piglit

def run_piglit(args, exps, lavapipe_manifest, outdir, running):
    if not args.piglit or not shutil.which(args.piglit):
        print("SKIP: piglit not found (Debian: apt-get install piglit; or --piglit)")
        return zink_env.SKIP
    if not args.launcher or not os.access(args.launcher, os.X_OK):
        raise ValueError("no wsys-gl launcher (--launcher or WSYS_CONFORMANCE_LAUNCHER): %s"
                         % args.launcher)
    piglit_dir = zink_env.find_piglit()
    xvfb = zink_env.find_xvfb()
    cfgs = _configs(args, lavapipe_manifest)
    shard = results.parse_shard(args.shard)
    names = piglit.list_tests(args.piglit, args.profile, args.include, args.exclude, piglit_dir)
    if args.test_list:
        listed = _read_lines(args.test_list)
        have = set(names)
        missing = [n for n in listed if n not in have]
        if missing:
            print("%d listed test(s) not in this piglit's %s (or filtered out), not run: %s%s" % (
                len(missing), args.profile, ", ".join(missing[:5]),
                " ..." if len(missing) > 5 else ""), flush=True)
        names = [n for n in listed if n in have]
    if not names:
        raise ValueError("no piglit test selected")
    names = results.select_shard(sorted(set(names)), shard)
    res = results.new("piglit", BASELINE, [c.name for c in cfgs[1:]], shard)
    per_cfg = {}
    for c in cfgs:
        exp = exps.get(c.name)
        per_cfg[c.name] = _skipped(names, exp) if exp else list(names)
    print("piglit %s (%s): %d tests; %s" % (args.piglit, args.profile, len(names), ", ".join(
        "%s %d" % (c.name, len(per_cfg[c.name])) for c in cfgs)), flush=True)
    jobs_each = max(1, args.jobs // len(cfgs))
    tests = res["tests"]
    with zink_env.Xvfb(xvfb) as x:
        for c in cfgs:  # Mesa must pick zink on the intended ICD, or nothing means anything
            renderer, problem = zink_env.check_renderer(
                args.launcher, _zconfig(c), piglit_dir, x.display, None, args.timeout)
            print("%-14s GL_RENDERER = %s" % (c.name, renderer), flush=True)
            if problem:
                raise RuntimeError(problem)

        def one_config(c):
            d = os.path.join(outdir, "piglit", expectations.device_key(c.name))
            listfile = os.path.join(outdir, "piglit", expectations.device_key(c.name) + ".txt")
            os.makedirs(os.path.dirname(listfile), exist_ok=True)
            with open(listfile, "w", encoding="utf-8") as f:
                f.write("\n".join(per_cfg[c.name]) + "\n")
            env = zink_env.environment(_zconfig(c), x.display)
            env["PIGLIT_COMPRESSION"] = "none"
            cmd = [args.launcher, args.piglit, "run", args.profile, d, "--test-list", listfile,
                   "-p", "glx", "-l", "dummy", "-j", str(jobs_each), "-o",
                   "--timeout", str(int(args.timeout)), "-n", c.name]
            start = time.monotonic()
            # Every test may take its whole timeout, and piglit's own start-up
            # (profile loading) comes on top: one timeout's worth of slack, so
            # that a one-test list is not killed as it finishes.
            r = zink_env.run(cmd, env, piglit_dir, args.timeout * (len(per_cfg[c.name]) + 1))
            wall = time.monotonic() - start
            if r.status != 0:
                raise RuntimeError("piglit run on %s failed (%s):\n%s" % (
                    c.name, r.status, r.output[-3000:]))
            return c, d, wall, piglit.read_results(d)

        raw = {}
        with concurrent.futures.ThreadPoolExecutor(len(cfgs)) as pool:
            for c, d, wall, data in pool.map(one_config, cfgs):
                res["wall_seconds"][c.name] = wall
                raw[c.name] = (d, data["tests"])
                for name, t in data["tests"].items():
                    tests.setdefault(name, {})[c.name] = piglit.outcome_from_piglit(t)
        print("piglit runs done: " + ", ".join("%s %.0f s" % (c, w) for c, w in
                                              res["wall_seconds"].items()), flush=True)

        def rerun(cname, name):
            c = next(cc for cc in cfgs if cc.name == cname)
            t = raw[cname][1][name]
            env = zink_env.environment(_zconfig(c), x.display)
            env.update(piglit.piglit_environment(t))
            argv = t["command"] if isinstance(t["command"], list) else \
                __import__("shlex").split(t["command"])
            r = zink_env.run([args.launcher] + list(argv), env, piglit_dir, args.timeout)
            return cname, name, piglit.outcome_from_run(r)

        # Crashes: run again by the runner, which sees what piglit drops.
        crashed = sorted((c, n) for n, o in tests.items() for c, oc in o.items()
                         if oc["verdict"] == V.CRASH and n in raw[c][1])
        if crashed:
            print("running %d crashed test run(s) again to see whether they reported a result"
                  % len(crashed), flush=True)
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for cname, name, o in pool.map(lambda j: rerun(*j), crashed):
                first = tests[name][cname]
                if o["verdict"] in (V.CRASH, V.CRASH_AT_EXIT):
                    o["detail"] = "piglit: crash; run again by the runner: " + o.get("detail", "")
                    tests[name][cname] = o
                else:
                    first["retry"] = o
        if not args.no_retry and not args.baseline_only:
            retry = sorted(p for p in _retry_set(res) if "retry" not in tests[p[1]][p[0]])
            if retry:
                print("running %d differing test run(s) again" % len(retry), flush=True)
            with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
                for cname, name, o in pool.map(lambda j: rerun(*j), retry):
                    tests[name][cname]["retry"] = o
    if not args.no_html:
        html = os.path.join(outdir, "html")
        dirs = [raw[c.name][0] for c in cfgs]
        r = zink_env.run([args.piglit, "summary", "html", "-o", html] + dirs, dict(os.environ),
                         piglit_dir, 600)
        if r.status != 0:
            print("warning: piglit summary html failed (%s): %s" % (r.status, r.output[-500:]))
        else:
            print("piglit's summary: %s/index.html" % html)
    return res


def _zconfig(c):
    """The zink_env form of a configuration (the launcher's side)."""
    if c.wsys_device:
        return zink_env.Config(c.name, c.manifest, c.wsys_device)
    return zink_env.Config(c.name, c.manifest)


# ---------------------------------------------------------------- main

def main(argv=None):
    args = build_parser().parse_args(argv)
    outdir = os.path.abspath(args.results)
    os.makedirs(outdir, exist_ok=True)
    if args.mode == "merge":
        parts = [results.load(p) for p in args.parts]
        res = results.merge(parts)
        exps = {d: expectations.Expectations.load(args.expectations, res["suite"], d)
                for d in res["devices"]}
        return _finish(res, exps, outdir)

    args.devices = args.devices or list(DEFAULT_DEVICES)
    if args.jobs < 1 or args.timeout <= 0:
        raise ValueError("--jobs must be >= 1 and --timeout > 0")
    results.parse_shard(args.shard)
    if not args.baseline_only and not args.wsys_manifest:
        raise ValueError("no wsys ICD manifest (--wsys-manifest or "
                         "WSYS_CONFORMANCE_ICD_MANIFEST)")
    if not args.baseline_only and not os.path.isfile(args.wsys_manifest):
        raise ValueError("the wsys ICD manifest %s does not exist (build wsys first)"
                         % args.wsys_manifest)
    suite = "piglit" if args.mode == "piglit" else "deqp-vk"
    exps = {BASELINE: expectations.Expectations.load(args.expectations, suite, BASELINE)}
    for d in ([] if args.baseline_only else args.devices):
        exps[d] = expectations.Expectations.load(args.expectations, suite, d)
    if not os.environ.get("XDG_RUNTIME_DIR"):
        rt = tempfile.mkdtemp(prefix="wsys-conformance-xdg.")
        os.environ["XDG_RUNTIME_DIR"] = rt
    running = _Running()
    _install_signal_handlers(running)
    with tempfile.TemporaryDirectory(prefix="wsys-conformance.") as tmp:
        try:
            lvp = args.lavapipe_manifest or zink_env.find_lavapipe_manifest(None, tmp)
        except zink_env.Unavailable as e:
            print("SKIP: %s" % e)
            return zink_env.SKIP
        if args.mode == "piglit":
            res = run_piglit(args, exps, lvp, outdir, running)
        else:
            res = run_deqp(args, exps, lvp, outdir, running)
    if isinstance(res, int):
        return res
    return _finish(res, exps, outdir)


def entry():
    sys.dont_write_bytecode = True
    try:
        sys.exit(main())
    except (ValueError, RuntimeError, OSError, expectations.ExpectationError) as e:
        print("wsys-conformance: error: %s" % e, file=sys.stderr)
        sys.exit(2)
    except zink_env.Unavailable as e:
        print("SKIP: %s" % e)
        sys.exit(zink_env.SKIP)
