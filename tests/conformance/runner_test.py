#!/usr/bin/env python3
"""Tests of the conformance runner (tools/conformance) on its own: the
expectations format, the judging rules, sharding and merging, and whole
runs of both modes on fakes (tests/conformance/fakes) whose misbehaviour is
known: crashes, hangs, crashes at exit, flakes, wsys-only failures."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "conformance"))
from wsysconf import compare, expectations, malloc_env, results  # noqa: E402
from wsysconf import verdicts as V  # noqa: E402

RUNNER = os.path.join(ROOT, "tools", "conformance", "wsys-conformance")
FAKES = os.path.join(HERE, "fakes")


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class ExpectationFiles(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_entries_with_reasons_load_per_device_and_for_all(self):
        write(os.path.join(self.dir, "deqp-vk-sim-panthor-fails.txt"),
              "# the model\n# has no X\ndEQP-VK.a.b,Fail\ndEQP-VK.a.c,Crash  # why not\n"
              "dEQP-VK.a.d,Fail\n")
        write(os.path.join(self.dir, "deqp-vk-all-skips.txt"), "# too slow\ndEQP-VK\\.slow\\..*\n")
        write(os.path.join(self.dir, "deqp-vk-sim-panthor-flakes.txt"), "# races\n.*flaky.*\n")
        e = expectations.Expectations.load(self.dir, "deqp-vk", "sim:panthor")
        self.assertEqual(e.fails["dEQP-VK.a.b"], ("Fail", "the model has no X"))
        self.assertEqual(e.fails["dEQP-VK.a.c"], ("Crash", "why not"))
        self.assertEqual(e.fails["dEQP-VK.a.d"], ("Fail", "the model has no X"))
        self.assertEqual(e.skip_reason("dEQP-VK.slow.x"), "too slow")
        self.assertIsNone(e.skip_reason("dEQP-VK.fast.x"))
        self.assertEqual(e.flake_reason("a.flaky.b"), "races")
        other = expectations.Expectations.load(self.dir, "deqp-vk", "sim:panfrost")
        self.assertEqual(other.fails, {})
        self.assertEqual(other.skip_reason("dEQP-VK.slow.x"), "too slow")

    def test_an_entry_without_a_reason_is_an_error_naming_file_and_line(self):
        write(os.path.join(self.dir, "piglit-sim-panthor-fails.txt"), "# ok\na,Fail\n\nb,Fail\n")
        with self.assertRaisesRegex(expectations.ExpectationError, r"fails.txt:4: 'b,Fail'"):
            expectations.Expectations.load(self.dir, "piglit", "sim:panthor")

    def test_a_bad_verdict_or_regex_is_an_error(self):
        write(os.path.join(self.dir, "piglit-sim-panthor-fails.txt"), "# x\na,Broken\n")
        with self.assertRaisesRegex(expectations.ExpectationError, "test,Verdict"):
            expectations.Expectations.load(self.dir, "piglit", "sim:panthor")
        os.unlink(os.path.join(self.dir, "piglit-sim-panthor-fails.txt"))
        write(os.path.join(self.dir, "piglit-sim-panthor-skips.txt"), "# x\n(unclosed\n")
        with self.assertRaisesRegex(expectations.ExpectationError, "bad regex"):
            expectations.Expectations.load(self.dir, "piglit", "sim:panthor")


def o(verdict, reported=None, retry=None):
    out = V.make(verdict, reported=reported)
    if retry:
        out["retry"] = V.make(retry)
    return out


class Judging(unittest.TestCase):
    none = expectations.Expectations()

    def st(self, base, got, exp=None, name="t"):
        return compare.classify(name, base, got, exp or self.none)[0]

    def test_statuses(self):
        self.assertEqual(self.st(o(V.PASS), o(V.PASS)), "same")
        self.assertEqual(self.st(o(V.FAIL), o(V.FAIL)), "same")
        self.assertEqual(self.st(o(V.SKIP), o(V.PASS)), "improved")
        self.assertEqual(self.st(o(V.PASS), o(V.FAIL)), "regression")
        self.assertEqual(self.st(o(V.PASS), o(V.SKIP)), "regression")
        self.assertEqual(self.st(o(V.FAIL), o(V.CRASH)), "regression")

    def test_a_crash_at_exit_is_its_own_verdict_whatever_the_signal(self):
        a = o(V.CRASH_AT_EXIT, reported=V.PASS)
        b = o(V.CRASH_AT_EXIT, reported=V.PASS)
        b["raw"] = "SIGSEGV rather than SIGABRT"
        self.assertEqual(V.key(a), V.key(b))
        # the same on both sides, and still the baseline's fault, said so
        self.assertEqual(self.st(a, b), "baseline-broken")
        # wsys crashing at exit where the baseline ends cleanly is wsys's
        self.assertEqual(self.st(o(V.PASS), a), "regression")

    def test_a_broken_baseline_is_reported_and_not_held_against_wsys(self):
        base = o(V.CRASH_AT_EXIT, reported=V.PASS)
        self.assertEqual(self.st(base, o(V.PASS)), "baseline-broken")
        self.assertEqual(self.st(o(V.CRASH), o(V.FAIL)), "baseline-broken")
        self.assertEqual(self.st(o(V.TIMEOUT), o(V.PASS)), "baseline-broken")
        # ...but what the baseline reported before crashing still judges wsys
        self.assertEqual(self.st(base, o(V.FAIL)), "regression")
        self.assertEqual(self.st(base, o(V.CRASH_AT_EXIT, reported=V.FAIL)), "regression")

    def test_a_crash_at_exit_on_retry_after_the_same_report_is_no_flake(self):
        got = o(V.FAIL)
        got["retry"] = V.make(V.CRASH_AT_EXIT, reported=V.FAIL)
        self.assertEqual(self.st(o(V.PASS), got), "regression")
        got["retry"] = V.make(V.CRASH_AT_EXIT, reported=V.PASS)
        self.assertEqual(self.st(o(V.PASS), got), "flake")

    def test_a_baseline_that_crashes_at_exit_on_retry_is_broken_here(self):
        base = o(V.PASS)
        base["retry"] = V.make(V.CRASH_AT_EXIT, reported=V.PASS)
        self.assertEqual(self.st(base, o(V.CRASH_AT_EXIT, reported=V.PASS)), "baseline-broken")
        self.assertEqual(self.st(base, o(V.PASS)), "baseline-broken")
        # what it reported still judges wsys
        self.assertEqual(self.st(base, o(V.CRASH_AT_EXIT, reported=V.FAIL)), "regression")
        self.assertEqual(self.st(base, o(V.FAIL)), "regression")
        # a clean retry leaves a wsys crash at exit wsys's
        clean = o(V.PASS, retry=V.PASS)
        self.assertEqual(self.st(clean, o(V.CRASH_AT_EXIT, reported=V.PASS)), "regression")

    def test_a_verdict_that_changes_on_retry_is_a_flake(self):
        self.assertEqual(self.st(o(V.PASS), o(V.FAIL, retry=V.PASS)), "flake")
        self.assertEqual(self.st(o(V.PASS, retry=V.FAIL), o(V.FAIL)), "flake")
        self.assertEqual(self.st(o(V.PASS, retry=V.PASS), o(V.FAIL, retry=V.FAIL)),
                         "regression")

    def test_expectations_explain_only_the_listed_verdict(self):
        e = expectations.Expectations(fails={"t": (V.FAIL, "why")},
                                      flakes=[(__import__("re").compile("^f"), "racy")])
        self.assertEqual(self.st(o(V.PASS), o(V.FAIL), e), "expected")
        self.assertEqual(self.st(o(V.PASS), o(V.CRASH), e), "regression")
        self.assertEqual(self.st(o(V.PASS), o(V.FAIL), e, name="flaky"), "flake")


class ShardsAndMerge(unittest.TestCase):
    def test_shards_partition_the_sorted_list_the_same_way_everywhere(self):
        names = ["t%03d" % i for i in range(101)]
        shuffled = list(reversed(names))
        parts = [results.select_shard(shuffled, (k, 4)) for k in range(1, 5)]
        self.assertEqual(sorted(sum(parts, [])), names)
        self.assertEqual(sum(len(p) for p in parts), len(names))
        self.assertEqual(parts[0][:2], ["t000", "t004"])
        self.assertEqual(results.select_shard(names, (1, 4)), parts[0])

    def test_bad_shard_text_is_an_error(self):
        for bad in ("0/4", "5/4", "x", "1/0", "1-2"):
            with self.assertRaises(ValueError):
                results.parse_shard(bad)

    def test_merge_joins_and_refuses_overlap_or_mismatch(self):
        a = results.new("deqp-vk", "lavapipe", ["sim:panthor"], (1, 2))
        b = results.new("deqp-vk", "lavapipe", ["sim:panthor"], (2, 2))
        a["tests"]["x"] = {"lavapipe": o(V.PASS), "sim:panthor": o(V.PASS)}
        b["tests"]["y"] = {"lavapipe": o(V.PASS), "sim:panthor": o(V.FAIL)}
        a["wall_seconds"] = {"lavapipe": 1.0}
        b["wall_seconds"] = {"lavapipe": 2.0}
        m = results.merge([a, b])
        self.assertEqual(sorted(m["tests"]), ["x", "y"])
        self.assertEqual(m["wall_seconds"]["lavapipe"], 3.0)
        with self.assertRaisesRegex(ValueError, "overlapping"):
            results.merge([a, a])
        c = results.new("deqp-vk", "lavapipe", ["sim:panfrost"], (1, 1))
        with self.assertRaisesRegex(ValueError, "cannot merge"):
            results.merge([a, c])

    def test_pin_adds_only_the_thresholds_not_set(self):
        self.assertEqual(malloc_env.pin({})["GLIBC_TUNABLES"],
                         "glibc.malloc.mmap_threshold=33554432:"
                         "glibc.malloc.trim_threshold=1073741824")
        env = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536:"}
        self.assertEqual(malloc_env.pin(env)["GLIBC_TUNABLES"],
                         "glibc.malloc.mmap_threshold=65536:"
                         "glibc.malloc.trim_threshold=1073741824")

    def test_merge_keeps_the_heap_thresholds_and_says_when_shards_differ(self):
        a = results.new("deqp-vk", "lavapipe", ["sim:panthor"], (1, 2))
        b = results.new("deqp-vk", "lavapipe", ["sim:panthor"], (2, 2))
        a["malloc"] = b["malloc"] = "glibc.malloc.mmap_threshold=1"
        self.assertEqual(results.merge([a, b])["malloc"], "glibc.malloc.mmap_threshold=1")
        b["malloc"] = "glibc defaults"
        self.assertEqual(results.merge([a, b])["malloc"],
                         "mixed: glibc defaults / glibc.malloc.mmap_threshold=1")


class FakeRuns(unittest.TestCase):
    """Whole runs of the runner as a user runs it, on the fakes."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state)
        self.manifest = os.path.join(self.tmp, "icd.json")
        write(self.manifest, "{}")
        self.env = dict(os.environ)
        for v in ("WSYS_DEVICE", "WSYS_DEQP_VK", "WSYS_CONFORMANCE_ICD_MANIFEST"):
            self.env.pop(v, None)
        self.env.update({"FAKE_STATE_DIR": self.state,
                         "WSYS_PIGLIT_DIR": os.path.join(FAKES, "piglit"),
                         "WSYS_LAVAPIPE_MANIFEST": self.manifest})

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def runner(self, *args, expect=None):
        p = subprocess.run([sys.executable, RUNNER] + list(args), env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300, check=False)
        if expect is not None:
            self.assertEqual(p.returncode, expect, p.stdout)
        return p

    def deqp(self, out, *extra, expect=None):
        return self.runner("deqp-vk", "--deqp", os.path.join(FAKES, "fake-deqp-vk"),
                           "--wsys-manifest", self.manifest, "--device", "sim:panthor",
                           "--results", out, "--case", "dEQP-VK.fake.*", "--batch", "4",
                           "--timeout", "3", "--jobs", "2", *extra, expect=expect)

    def test_deqp_batches_recover_from_crashes_and_hangs_and_judge_each_case(self):
        out = os.path.join(self.tmp, "r")
        p = self.deqp(out, expect=1)  # wsysfail is a regression: no expectation says why
        res = results.load(out)
        t = res["tests"]
        self.assertEqual(len(t), 16, p.stdout)
        for name, sides in t.items():
            self.assertEqual(sorted(sides), ["lavapipe", "sim:panthor"], name)
        self.assertEqual(t["dEQP-VK.fake.a.crashes"]["sim:panthor"]["verdict"], V.CRASH)
        self.assertEqual(t["dEQP-VK.fake.a.hangs"]["lavapipe"]["verdict"], V.TIMEOUT)
        for i in range(10):  # the crash and the hang cost no other case
            self.assertEqual(t["dEQP-VK.fake.a.pass_%d" % i]["sim:panthor"]["verdict"], V.PASS)
        self.assertEqual(t["dEQP-VK.fake.b.wsysfail"]["sim:panthor"]["verdict"], V.FAIL)
        # run alone on retry, deqp-vk exits 1 for the failure: not a crash
        self.assertEqual(t["dEQP-VK.fake.b.wsysfail"]["sim:panthor"]["retry"]["verdict"], V.FAIL)
        self.assertEqual(t["dEQP-VK.fake.c.atexit"]["sim:panthor"]["verdict"], V.PASS)
        # ...and the batch that crashed after it is counted and said
        self.assertEqual(results.load(out)["exit_crashes"], {"lavapipe": 1, "sim:panthor": 1})
        self.assertIn("died after their last case", p.stdout)
        self.assertIn("regression (1):", p.stdout)
        self.assertIn("dEQP-VK.fake.b.wsysfail: Fail here, Pass on the baseline", p.stdout)
        self.assertRegex(p.stdout, r"flake \(1\):\n\s+dEQP-VK.fake.b.flaky: wsys: Fail, then Pass")
        self.assertRegex(p.stdout, r"improved \(1\):\n\s+dEQP-VK.fake.b.lvpunsupported")
        # batches of at most 4, and single-case processes after a crash
        with open(os.path.join(self.state, "invocations")) as f:
            sizes = [int(ln.split()[0]) for ln in f]
        self.assertLessEqual(max(sizes), 4)
        self.assertIn(1, sizes)
        # the QPA of the failing case is kept
        qpa = os.path.join(out, "qpa", "sim-panthor", "dEQP-VK.fake.b.wsysfail.qpa")
        with open(qpa) as f:
            self.assertIn('StatusCode="Fail"', f.read())
        junit = ET.parse(os.path.join(out, "junit.xml")).getroot()
        failures = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
        self.assertEqual(failures, ["dEQP-VK.fake.b.wsysfail"])

    def test_deqp_expectations_explain_a_difference_and_the_exit_is_zero(self):
        exp = os.path.join(self.tmp, "exp")
        os.mkdir(exp)
        write(os.path.join(exp, "deqp-vk-sim-panthor-fails.txt"),
              "# the fake fails it on purpose\ndEQP-VK.fake.b.wsysfail,Fail\n")
        p = self.deqp(os.path.join(self.tmp, "r"), "--expectations", exp, expect=0)
        self.assertIn("expected (1):", p.stdout)

    def test_deqp_shards_merge_into_the_whole_run(self):
        exp = os.path.join(self.tmp, "exp")
        os.mkdir(exp)
        write(os.path.join(exp, "deqp-vk-all-skips.txt"), "# slow on purpose\n.*hangs$\n")
        parts = []
        for k in (1, 2, 3):
            out = os.path.join(self.tmp, "s%d" % k)
            self.deqp(out, "--shard", "%d/3" % k, "--expectations", exp, "--no-retry")
            parts.append(out)
        sizes = [len(results.load(p)["tests"]) for p in parts]
        merged = os.path.join(self.tmp, "m")
        p = self.runner("merge", "--results", merged, "--expectations", exp, *parts, expect=1)
        res = results.load(merged)
        self.assertEqual(len(res["tests"]), 15)  # 16 less the skipped hang
        self.assertEqual(sum(sizes), 15)
        self.assertNotIn("dEQP-VK.fake.a.hangs", res["tests"])
        self.assertIn("dEQP-VK.fake.b.wsysfail", p.stdout)

    def tunables(self):
        with open(os.path.join(self.state, "tunables"), encoding="utf-8") as f:
            return [ln.rstrip("\n").split(" ", 1) for ln in f]

    def test_deqp_runs_every_side_with_the_same_fixed_heap_thresholds(self):
        out = os.path.join(self.tmp, "r")
        self.deqp(out)
        seen = self.tunables()
        self.assertEqual({side for side, _ in seen}, {"baseline", "sim:panthor"})
        for side, t in seen:
            self.assertEqual(sorted(t.split(":")), ["glibc.malloc.mmap_threshold=33554432",
                                                    "glibc.malloc.trim_threshold=1073741824"],
                             side)
        self.assertIn("mmap_threshold=33554432", results.load(out)["malloc"])

    def test_deqp_malloc_defaults_and_a_users_own_thresholds_are_left_alone(self):
        self.deqp(os.path.join(self.tmp, "r1"), "--malloc-defaults")
        self.assertEqual({t for _, t in self.tunables()}, {""})
        os.unlink(os.path.join(self.state, "tunables"))
        self.env["GLIBC_TUNABLES"] = "glibc.malloc.trim_threshold=4096:glibc.malloc.tcache_count=0"
        self.deqp(os.path.join(self.tmp, "r2"))
        for _, t in self.tunables():
            self.assertEqual(t, "glibc.malloc.trim_threshold=4096:glibc.malloc.tcache_count=0:"
                                "glibc.malloc.mmap_threshold=33554432")

    def test_deqp_without_a_binary_says_so(self):
        p = self.runner("deqp-vk", "--wsys-manifest", self.manifest, "--results",
                        os.path.join(self.tmp, "r"), "--case", "x", expect=77)
        self.assertIn("no deqp-vk given", p.stdout)

    def test_piglit_crash_at_exit_on_the_baseline_is_baseline_broken_not_a_failure(self):
        if not shutil.which("Xvfb"):
            self.skipTest("Xvfb missing")
        out = os.path.join(self.tmp, "p")
        p = self.runner("piglit", "--piglit", os.path.join(FAKES, "fake-piglit"), "--profile",
                        "fake", "--launcher", os.path.join(FAKES, "fake-launcher"),
                        "--wsys-manifest", self.manifest, "--device", "sim:panthor",
                        "--results", out, "--jobs", "2", "--timeout", "20", expect=1)
        t = results.load(out)["tests"]
        base = t["spec@fake@atexit-baseline"]["lavapipe"]
        self.assertEqual((base["verdict"], base["reported"]), (V.CRASH_AT_EXIT, V.PASS), p.stdout)
        self.assertEqual(t["spec@fake@atexit-baseline"]["sim:panthor"]["verdict"], V.PASS)
        both = t["spec@fake@atexit-both"]
        self.assertEqual(V.key(both["lavapipe"]), V.key(both["sim:panthor"]))
        self.assertEqual(t["spec@fake@crash-wsys"]["sim:panthor"]["verdict"], V.CRASH)
        self.assertRegex(p.stdout, r"baseline broken here \(2\):\n\s+spec@fake@atexit-baseline")
        self.assertRegex(p.stdout, r"regression \(2\):\n\s+spec@fake@crash-wsys: Crash here, "
                                   r"Pass on the baseline\n\s+spec@fake@fail-wsys")
        self.assertRegex(p.stdout, r"flake \(1\):\n\s+spec@fake@flaky-wsys")
        self.assertTrue(os.path.exists(os.path.join(out, "html", "index.html")))
        # only the two wsys bugs remain when the list excludes them
        out2 = os.path.join(self.tmp, "p2")
        self.runner("piglit", "--piglit", os.path.join(FAKES, "fake-piglit"), "--profile",
                    "fake", "--launcher", os.path.join(FAKES, "fake-launcher"), "--exclude=-wsys",
                    "--wsys-manifest", self.manifest, "--device", "sim:panthor",
                    "--results", out2, "--no-html", expect=0)


class TapResult(unittest.TextTestResult):
    """Prints one TAP line per test case (meson's protocol 'tap' counts each)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.n = 0

    def _line(self, ok, test, note=""):
        self.n += 1
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, test.id(), note), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, " # SKIP " + reason)


if __name__ == "__main__":
    if "--tap" in sys.argv:
        suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
        print("1..%d" % suite.countTestCases(), flush=True)
        r = unittest.TextTestRunner(stream=sys.stderr, resultclass=TapResult).run(suite)
        sys.exit(0 if r.wasSuccessful() else 1)
    unittest.main(verbosity=2)
