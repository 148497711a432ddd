"""Running GL programs on Gallium zink over a chosen Vulkan ICD.

Shared by tests/gl/piglit_compare (results: wsys ICD vs lavapipe alone) and
bench/icd_ratio (time and memory of the same runs): finding piglit, lavapipe's
loader manifest and Xvfb, starting one Xvfb display for a whole run, reading
the piglit test list, and running one program through the wsys-gl launcher
with the loader pointed at one manifest. What counts as a failure of a
whole run is the caller's to say.
"""

import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time

SKIP = 77  # meson's "skipped" exit status

# Piglit prints its verdict as one JSON object per line after this prefix:
# subtests as {"subtest": {...}}, the whole test as {"result": ...}.
PIGLIT_PREFIX = "PIGLIT: "

# Appended to every listed command: no window interaction, render to an FBO
# (the same pixels on every winsys; Xvfb only provides the GLX context).
PIGLIT_ARGS = ["-auto", "-fbo"]


class Unavailable(Exception):
    """A tool the run needs cannot be found: the caller skips (exit 77)."""


# Process groups of the programs running now (each runs in its own session,
# see run()), so a SIGTERM can take them down too.
_running = set()
_running_lock = threading.RLock()  # re-entered by the SIGTERM handler
_stopping = False  # set by the handler: no new program starts


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def on_sigterm_exit():
    """meson stops a timed-out test with SIGTERM, to its own process group
    only: kill the programs running in their sessions, then exit through
    SystemExit so `with` blocks stop Xvfb."""
    def handler(*_):
        global _stopping
        with _running_lock:
            _stopping = True
            for pid in list(_running):
                _kill_group(pid)
        sys.exit(128 + signal.SIGTERM)
    signal.signal(signal.SIGTERM, handler)


def find_piglit():
    """Piglit's installation directory (holding bin/shader_runner and tests/).
    $WSYS_PIGLIT_DIR overrides; else Debian's multiarch location, then the
    usual others."""
    given = os.environ.get("WSYS_PIGLIT_DIR")
    if given:
        candidates = [given]
    else:
        arch = sysconfig.get_config_var("MULTIARCH") or ""
        candidates = [os.path.join("/usr/lib", arch, "piglit")] if arch else []
        candidates += ["/usr/lib/piglit", "/usr/lib64/piglit", "/usr/local/lib/piglit"]
    for c in candidates:
        if os.access(os.path.join(c, "bin", "shader_runner"), os.X_OK):
            return os.path.abspath(c)
    raise Unavailable("piglit not found in %s (Debian: apt-get install piglit; or set "
                      "WSYS_PIGLIT_DIR)" % ", ".join(candidates))


def find_xvfb():
    path = shutil.which("Xvfb")
    if not path:
        raise Unavailable("Xvfb not found (Debian: apt-get install xvfb)")
    return path


def _manifest_dirs():
    """The loader's ICD manifest search path, in its order (the same list
    src/vulkan/lavapipe_locate.cpp walks)."""
    env = os.environ
    dirs = (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":") + ["/etc"]
    if env.get("XDG_DATA_HOME"):
        dirs.append(env["XDG_DATA_HOME"])
    elif env.get("HOME"):
        dirs.append(os.path.join(env["HOME"], ".local", "share"))
    dirs += (env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    return [os.path.join(d, "vulkan", "icd.d") for d in dirs if d]


def _manifest_library(path):
    """library_path of a loader manifest, resolved as the loader does (a
    path with a '/' is relative to the manifest's directory); None when the
    file is not a readable manifest."""
    try:
        with open(path, encoding="utf-8") as f:
            lib = json.load(f)["ICD"]["library_path"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if "/" in lib and not os.path.isabs(lib):
        lib = os.path.join(os.path.dirname(path), lib)
    return lib


def find_lavapipe_manifest(locate_program, scratch_dir):
    """The loader manifest for "lavapipe alone", the same lavapipe the wsys
    ICD executes on. `locate_program --child locate` (tests/vulkan's
    vk_icd_test) prints the library the ICD would load or, exit 77, why
    there is none: the ICD and this script must agree on "not found".
    Without a locate program (an installed runner), the first lavapipe
    manifest on the loader's search path.
    $WSYS_LAVAPIPE_MANIFEST overrides. When the library was named directly
    ($WSYS_VK_LAVAPIPE=/path/lib.so) and no manifest names it, one is
    written to `scratch_dir`."""
    given = os.environ.get("WSYS_LAVAPIPE_MANIFEST")
    if given:
        if _manifest_library(given) is None:
            raise ValueError("WSYS_LAVAPIPE_MANIFEST=%s is not a readable ICD manifest" % given)
        return given
    if locate_program is None:  # no ICD build at hand: the loader's first lavapipe
        where = "libvulkan_lvp.so"
    else:
        out = subprocess.run([locate_program, "--child", "locate"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, check=False)
        where = out.stdout.strip()
        if out.returncode == SKIP:
            raise Unavailable("lavapipe not found: %s (Debian: mesa-vulkan-drivers)" % where)
        if out.returncode != 0:
            raise RuntimeError("%s --child locate failed (%d): %s" % (
                locate_program, out.returncode, where))
    env_choice = os.environ.get("WSYS_VK_LAVAPIPE", "")
    if env_choice.endswith(".json"):
        return env_choice
    arch_first = "lvp_icd.%s.json" % os.uname().machine
    first_seen = None
    for d in _manifest_dirs():
        try:
            names = sorted(os.listdir(d), key=lambda n: (n != arch_first, n))
        except OSError:
            continue
        for n in names:
            if not (n.startswith("lvp_icd") and n.endswith(".json")):
                continue
            path = os.path.join(d, n)
            lib = _manifest_library(path)
            if lib is None:
                continue
            if lib == where or os.path.basename(lib) == os.path.basename(where):
                return path
            first_seen = first_seen or path
    if first_seen and ("/" not in where or locate_program is None):
        return first_seen
    if locate_program is None:
        raise Unavailable("no lavapipe manifest (lvp_icd*.json) on the loader's search path "
                          "(Debian: mesa-vulkan-drivers; or set WSYS_LAVAPIPE_MANIFEST)")
    path = os.path.join(scratch_dir, "lvp_icd.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"file_format_version": "1.0.0",
                   "ICD": {"library_path": where, "api_version": "1.3.0"}}, f)
    return path


class Xvfb:
    """One private Xvfb display for a whole run (starting one per program,
    as wsys-gl does without DISPLAY, costs ~0.15 s each). -displayfd: Xvfb
    picks a free number and writes it once it accepts connections.
    -noreset: by default the server resets when its last client leaves, and
    a program connecting during the reset fails with "XOpenDisplay failed"."""

    def __init__(self, xvfb_path, timeout_s=10.0):
        rfd, wfd = os.pipe()
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [xvfb_path, "-displayfd", str(wfd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp",
             "-noreset"],
            pass_fds=(wfd,), stdout=subprocess.DEVNULL, stderr=self._log)
        os.close(wfd)
        got = b""
        deadline = time.monotonic() + timeout_s
        try:
            while not got.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([rfd], [], [], left)[0]:
                    break
                chunk = os.read(rfd, 64)
                if not chunk:
                    break
                got += chunk
        finally:
            os.close(rfd)
        if not got.strip().isdigit():
            self.stop()
            self._log.seek(0)
            raise RuntimeError("Xvfb did not start: " + self._log.read().decode(errors="replace"))
        self.display = ":" + got.decode().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def read_test_list(path):
    """The listed piglit command lines: program and arguments, '#' starts a
    comment. Raises ValueError on an empty list."""
    tests = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                tests.append(shlex.split(line))
            except ValueError as e:
                raise ValueError("%s:%d: %s" % (path, lineno, e)) from e
    if not tests:
        raise ValueError("%s lists no tests" % path)
    return tests


def check_test_list(tests, piglit_dir):
    """Every listed program is in piglit's bin/ and every file argument
    (relative to piglit's directory) exists, so a typo or an older piglit
    is reported up front, not as a puzzling per-test failure."""
    problems = []
    for t in tests:
        if not os.access(os.path.join(piglit_dir, "bin", t[0]), os.X_OK):
            problems.append("no program bin/%s" % t[0])
        for a in t[1:]:
            if a.endswith(".shader_test") and not os.path.isfile(os.path.join(piglit_dir, a)):
                problems.append("no file %s" % a)
    return problems


def test_name(cmd):
    """A short name for a listed command: the program, or for shader_runner
    the .shader_test file's name."""
    if cmd[0] == "shader_runner" and len(cmd) > 1:
        return os.path.basename(cmd[1]).replace(".shader_test", "")
    return " ".join(cmd)


def parse_piglit(output):
    """(result, subtests) from a program's output: the last {"result": ...}
    line's verdict (None when there is none) and every subtest verdict."""
    result, subtests = None, {}
    for line in output.splitlines():
        if not line.startswith(PIGLIT_PREFIX):
            continue
        try:
            obj = json.loads(line[len(PIGLIT_PREFIX):])
        except ValueError:
            continue
        if "result" in obj:
            result = obj["result"]
        if isinstance(obj.get("subtest"), dict):
            subtests.update(obj["subtest"])
    return result, subtests


class Config:
    """Where a program runs: the wsys ICD on a wsys device (manifest None:
    the launcher's own) or lavapipe alone (its manifest, no device)."""

    def __init__(self, name, manifest, wsys_device=None):
        self.name = name
        self.manifest = manifest
        self.wsys_device = wsys_device

    def expected_renderer(self):
        """What GL_RENDERER starts with on this configuration: zink on the
        wsys device, or zink on lavapipe (whose device is "llvmpipe")."""
        if self.wsys_device:
            return "zink (wsys (%s," % self.wsys_device
        return "zink (llvmpipe"


class Run:
    """One finished program: wall time, CPU time (user + system) and the
    peak RSS of its process tree's largest process (ru_maxrss), exit status
    (None: killed at the timeout) and output."""

    def __init__(self, seconds, cpu_s, maxrss_kib, status, output):
        self.seconds = seconds
        self.cpu_s = cpu_s
        self.maxrss_kib = maxrss_kib
        self.status = status
        self.output = output


def environment(config, display, report_file=None):
    """The environment of one run. Both configurations go through the same
    launcher (wsys-gl) and differ only in the manifest it hands the loader
    (WSYS_GL_ICD_MANIFEST) and the wsys device."""
    env = dict(os.environ)
    env.pop("WAYLAND_DISPLAY", None)
    # meson sets a random MALLOC_PERTURB_ for every test; with it, Mesa
    # 22.3's lavapipe (alone, without wsys) can deadlock in a queue wait
    # while zink destroys its context (fbo-readpixels with 93, for one).
    # The wsys ICD's own code is run with it by the vulkan suite.
    env.pop("MALLOC_PERTURB_", None)
    env["DISPLAY"] = display
    if config.manifest:
        env["WSYS_GL_ICD_MANIFEST"] = config.manifest
    else:  # the launcher's own: the wsys ICD's
        env.pop("WSYS_GL_ICD_MANIFEST", None)
    if config.wsys_device:
        env["WSYS_DEVICE"] = config.wsys_device
    else:
        env.pop("WSYS_DEVICE", None)
    if report_file:
        env["WSYS_VK_REPORT"] = report_file
    else:
        env.pop("WSYS_VK_REPORT", None)
    return env


def command(launcher, program, args, preload=None):
    """launcher [env LD_PRELOAD=runtime] program args. Under ASan/TSan only
    the program (not instrumented, but loading the instrumented ICD) gets
    the sanitizer runtime, not the launcher's shell (see glxinfo_test.sh)."""
    cmd = [launcher]
    if preload:
        cmd += ["env", "LD_PRELOAD=" + preload]
    return cmd + [program] + list(args)


def run(cmd, env, cwd, timeout_s):
    """Runs `cmd` in its own session and waits with os.wait4, so the
    launcher's and program's rusage are this child's alone (ru_maxrss of the
    largest process waited for in its tree). On timeout the whole session is
    killed and the status is None."""
    start = time.monotonic()
    with _running_lock:
        if _stopping:
            raise RuntimeError("stopped by SIGTERM")
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        _running.add(proc.pid)
    try:
        return _wait(proc, start, timeout_s)
    finally:
        with _running_lock:
            _running.discard(proc.pid)


def _wait(proc, start, timeout_s):
    """run()'s reading and waiting: the output until EOF or the deadline,
    then the exit status and rusage from wait4."""
    chunks = []
    timed_out = False
    deadline = start + timeout_s
    fd = proc.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        if select.select([fd], [], [], left)[0]:
            data = os.read(fd, 65536)
            if not data:
                break
            chunks.append(data)
    while not timed_out:  # output closed: wait for the exit, still bounded
        pid, wstatus, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() >= deadline:
            timed_out = True
        else:
            time.sleep(0.005)
    if timed_out:
        _kill_group(proc.pid)
        _, wstatus, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    proc.returncode = 0  # reaped here; keep Popen from waiting again
    proc.stdout.close()
    if timed_out:
        status = None
    else:
        status = os.waitstatus_to_exitcode(wstatus)
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, status,
               b"".join(chunks).decode(errors="replace"))


def check_renderer(launcher, config, piglit_dir, display, preload, timeout_s):
    """(GL_RENDERER, problem) from piglit's glinfo on `config`: the problem
    (None when all is well) says the renderer is not zink on the expected
    device. Mesa could otherwise fall back to another driver and every
    figure or comparison made on that configuration would be meaningless."""
    r = run(command(launcher, os.path.join(piglit_dir, "bin", "glinfo"), ["-auto"], preload),
            environment(config, display), piglit_dir, timeout_s)
    renderer = None
    for line in r.output.splitlines():
        if line.startswith("GL_RENDERER = "):
            renderer = line[len("GL_RENDERER = "):]
    if renderer and renderer.startswith(config.expected_renderer()):
        return renderer, None
    return renderer, "%s: renderer %r, expected %s...; glinfo said:\n%s" % (
        config.name, renderer, config.expected_renderer(), r.output[-2000:])
