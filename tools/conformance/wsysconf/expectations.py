"""Expectations in deqp-runner's file conventions.

For a suite ("piglit", "deqp-vk") and a wsys device ("sim:panthor", file key
"sim-panthor"), a directory may hold:

  <suite>-<device>-fails.txt    "test-name,Verdict": the verdict that test is
                                known to give on that device
  <suite>-<device>-flakes.txt   regexes: tests whose verdict may change
  <suite>-<device>-skips.txt    regexes: tests not run at all

and the same with "all" in place of the device for every device. Every entry
needs a reason: a comment line ("# ...") right above it or after it on its
line. A file that breaks these rules is an error that names file and line:
an expectation nobody can explain is no better than none.
"""

import os
import re

from . import verdicts


class ExpectationError(ValueError):
    pass


def device_key(device):
    """The file-name form of a device: sim:panthor -> sim-panthor."""
    return re.sub(r"[^A-Za-z0-9_.]+", "-", device).strip("-")


def _entries(path):
    """(line number, text, reason) for each entry of one file."""
    out = []
    reason = None
    in_block = False  # the previous line was a comment
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line:
                reason = None
                in_block = False
                continue
            if line.startswith("#"):
                # a comment block is one reason; an entry after entries keeps it
                text = line.lstrip("#").strip()
                if text:
                    reason = (reason + " " + text) if (reason and in_block) else text
                in_block = True
                continue
            in_block = False
            text, _, trailing = line.partition("#")
            text = text.strip()
            why = trailing.strip() or reason
            if not why:
                raise ExpectationError("%s:%d: '%s' has no reason (a '# why' comment above it "
                                       "or after it)" % (path, n, text))
            out.append((n, text, why))
    return out


class Expectations:
    """What is expected of one suite on one device."""

    def __init__(self, fails=None, flakes=None, skips=None):
        self.fails = fails or {}      # name -> (verdict, reason)
        self.flakes = flakes or []    # (compiled regex, reason)
        self.skips = skips or []      # (compiled regex, reason)

    @classmethod
    def load(cls, directory, suite, device):
        """The union of the "all" files and the device's files; nothing when
        `directory` is None or holds none of them."""
        exp = cls()
        if not directory:
            return exp
        for who in ("all", device_key(device)):
            base = os.path.join(directory, "%s-%s-" % (suite, who))
            if os.path.exists(base + "fails.txt"):
                for n, text, why in _entries(base + "fails.txt"):
                    name, sep, verdict = text.rpartition(",")
                    if not sep or not name or verdict not in verdicts.ALL:
                        raise ExpectationError("%sfails.txt:%d: expected 'test,Verdict' with a "
                                               "verdict among %s, got '%s'"
                                               % (base, n, ", ".join(verdicts.ALL), text))
                    exp.fails[name.strip()] = (verdict, why)
            for kind in ("flakes", "skips"):
                path = base + kind + ".txt"
                if not os.path.exists(path):
                    continue
                for n, text, why in _entries(path):
                    try:
                        rx = re.compile(text)
                    except re.error as e:
                        raise ExpectationError("%s:%d: bad regex '%s': %s" % (path, n, text, e))
                    getattr(exp, kind).append((rx, why))
        return exp

    def skip_reason(self, name):
        for rx, why in self.skips:
            if rx.search(name):
                return why
        return None

    def flake_reason(self, name):
        for rx, why in self.flakes:
            if rx.search(name):
                return why
        return None

    def expected_fail(self, name, outcome):
        """The reason when `outcome` is the listed verdict of `name`."""
        entry = self.fails.get(name)
        if entry and entry[0] == outcome["verdict"]:
            return entry[1]
        return None
