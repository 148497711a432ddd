#!/usr/bin/env python3
"""The layering rules of docs/architecture.md, checked on the source tree.

    check_layering.py [ROOT]      check the tree at ROOT (default: the repo)
    check_layering.py --self-test build fake trees that break each rule and
                                  check that every rule fires (and that a
                                  clean tree passes)

Rules (one line each in the output when broken, exit status 1):
  core-uapi      src/winsys/core includes no uapi header (drm-uapi/, *_drm.h)
  core-lower     src/winsys/core includes nothing from winsys/drm or winsys/sim
                 (devices are opened below core, in kmod/open.h)
  core-names     src/winsys/core code (comments excluded) names neither
                 panthor nor panfrost: core reads kmod capabilities
  kmod-upward    src/winsys/kmod includes neither winsys/core nor winsys/sim
  drm-upward     src/winsys/drm includes neither winsys/kmod, winsys/core nor
                 winsys/sim (the model implements drm's seams, not the reverse)
  sim-alone      src/winsys/sim includes neither winsys/core nor winsys/kmod
  public-private include/wsys includes only the standard library and other
                 include/wsys headers
  frontend-api   the frontends (src/vulkan, src/winsys/capi) include no
                 winsys/ or drm-uapi/ header: they use include/wsys only
  readme         every layer and top-level code directory has a README.md
  readme-arch    every README.md links docs/architecture.md
  docs-outside   nothing in the repository (documentation, comments) points
                 outside it (../shared, shared/design, shared/reference, ...)

Run by meson as the test `layering` (suite unit) and its self-test.
"""

import os
import re
import sys
import tempfile

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
SOURCE_EXT = ('.c', '.cc', '.cpp', '.h', '.hpp')
README_DIRS = ['src/winsys/core', 'src/winsys/kmod', 'src/winsys/drm', 'src/winsys/sim',
               'src/winsys/shim', 'src/winsys/capi', 'src/vulkan', 'src/gallium',
               'include/wsys', 'include/drm-uapi', 'tests', 'bench', 'tools', 'scripts', 'docs']
OUTSIDE_RE = re.compile(r'\.\./shared\b|(?<![\w/-])shared/(design|reference|hooks|tools)\b')


def sources(root, rel):
    base = os.path.join(root, rel)
    for dirpath, _, names in os.walk(base):
        for n in sorted(names):
            if n.endswith(SOURCE_EXT):
                path = os.path.join(dirpath, n)
                yield os.path.relpath(path, root), path


def read(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        return f.read()


def includes(text):
    return [(m.group(1), m.group(2)) for m in INCLUDE_RE.finditer(text)]


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)
    return re.sub(r'//[^\n]*', '', text)


def check_includes(root, rel, rule, bad, why, problems):
    for name, path in sources(root, rel):
        for _, inc in includes(read(path)):
            if bad(inc):
                problems.append(f'{rule}: {name} includes "{inc}" ({why})')


def check(root):
    problems = []
    uapi = lambda i: i.startswith('drm-uapi/') or os.path.basename(i) in (
        'panthor_drm.h', 'panfrost_drm.h', 'drm_core.h')
    check_includes(root, 'src/winsys/core', 'core-uapi', uapi,
                   'core speaks the kmod interface only', problems)
    check_includes(root, 'src/winsys/core', 'core-lower',
                   lambda i: i.startswith(('winsys/drm/', 'winsys/sim/')),
                   'open devices below core (kmod/open.h)', problems)
    check_includes(root, 'src/winsys/kmod', 'kmod-upward',
                   lambda i: i.startswith(('winsys/core/', 'winsys/sim/')),
                   'kmod must not know core or the model', problems)
    check_includes(root, 'src/winsys/drm', 'drm-upward',
                   lambda i: i.startswith(('winsys/core/', 'winsys/kmod/', 'winsys/sim/')),
                   'the transport knows only its own interfaces', problems)
    check_includes(root, 'src/winsys/sim', 'sim-alone',
                   lambda i: i.startswith(('winsys/core/', 'winsys/kmod/')),
                   'the kernel model stands alone', problems)
    for name, path in sources(root, 'include/wsys'):
        for kind, inc in includes(read(path)):
            if kind == '"' and not inc.startswith('wsys/'):
                problems.append(f'public-private: {name} includes "{inc}" '
                                '(public headers include only the standard library and wsys/)')
    for rel in ('src/vulkan', 'src/winsys/capi'):
        check_includes(root, rel, 'frontend-api',
                       lambda i: i.startswith(('winsys/', 'drm-uapi/')),
                       'frontends use the public API (include/wsys)', problems)
    names = re.compile(r'pan(thor|frost)', re.I)
    for name, path in sources(root, 'src/winsys/core'):
        for n, line in enumerate(strip_comments(read(path)).split('\n'), 1):
            if names.search(line):
                problems.append(f'core-names: {name}:{n}: "{line.strip()}" '
                                '(core reads kmod capabilities, not driver names)')
    for d in README_DIRS:
        if os.path.isdir(os.path.join(root, d)) and not os.path.isfile(
                os.path.join(root, d, 'README.md')):
            problems.append(f'readme: {d} has no README.md')
    texts = []
    this = os.path.abspath(__file__)
    for dirpath, dirnames, names in os.walk(root):
        dirnames[:] = [x for x in dirnames if not x.startswith(('.', 'build', 'subprojects'))]
        for n in names:
            path = os.path.join(dirpath, n)
            if n.endswith(('.md',) + SOURCE_EXT + ('.py', '.sh', '.build', '.txt', '.in')) \
                    and os.path.abspath(path) != this:
                texts.append(path)
    for path in sorted(texts):
        rel = os.path.relpath(path, root)
        text = read(path)
        if os.path.basename(path) == 'README.md' and 'architecture.md' not in text:
            problems.append(f'readme-arch: {rel} does not link docs/architecture.md')
        for n, line in enumerate(text.split('\n'), 1):
            if OUTSIDE_RE.search(line):
                problems.append(f'docs-outside: {rel}:{n}: points outside the repository')
    return problems


# --- self-test -----------------------------------------------------------------

CLEAN = {
    'src/winsys/core/a.cpp': '#include "winsys/kmod/kmod.h"\n// panthor in a comment\n'
                             '/* panfrost\n in a block */\nint x;\n',
    'src/winsys/kmod/k.cpp': '#include "winsys/drm/drm_file.h"\n#include "drm-uapi/panthor_drm.h"\n',
    'src/winsys/drm/d.cpp': '#include "winsys/drm/drm_file.h"\n#include <xf86drm.h>\n',
    'src/winsys/sim/s.cpp': '#include "winsys/drm/drm_file.h"\n#include "drm-uapi/panthor_drm.h"\n',
    'include/wsys/p.hpp': '#include <cstdint>\n#include "wsys/result.hpp"\n',
    'docs/architecture.md': '# architecture\n',
    'README.md': 'see docs/architecture.md\n',
}
for d in README_DIRS:
    CLEAN.setdefault(d + '/README.md', 'see docs/architecture.md\n')

BROKEN = {
    'core-uapi': ('src/winsys/core/b.cpp', '#include "drm-uapi/panthor_drm.h"\n'),
    'core-lower': ('src/winsys/core/b.cpp', '#include "winsys/drm/device_select.h"\n'),
    'core-names': ('src/winsys/core/b.cpp', 'bool f(P p) { return p.driver == "panthor"; }\n'),
    'kmod-upward': ('src/winsys/kmod/b.cpp', '#include "winsys/sim/sim_drm_file.h"\n'),
    'drm-upward': ('src/winsys/drm/b.cpp', '#include "winsys/sim/sim_drm_file.h"\n'),
    'sim-alone': ('src/winsys/sim/b.cpp', '#include "winsys/kmod/kmod.h"\n'),
    'public-private': ('include/wsys/b.hpp', '#include "winsys/kmod/kmod.h"\n'),
    'frontend-api': ('src/winsys/capi/b.cpp', '#include "winsys/kmod/kmod.h"\n'),
    'readme': ('src/winsys/core/README.md', None),
    'readme-arch': ('src/winsys/kmod/README.md', 'no link here\n'),
    'docs-outside': ('docs/b.md', 'see ../shared/design/ARCHITECTURE.md\n'),
}


def make_tree(base, files):
    for rel, text in files.items():
        if text is None:
            continue
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)


def self_test():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        clean = os.path.join(tmp, 'clean')
        make_tree(clean, CLEAN)
        problems = check(clean)
        if problems:
            failures.append('the clean tree fails: ' + '; '.join(problems))
        for rule, (rel, text) in BROKEN.items():
            tree = os.path.join(tmp, rule)
            files = dict(CLEAN)
            files[rel] = text
            make_tree(tree, files)
            found = [p for p in check(tree) if p.startswith(rule + ':')]
            if not found:
                failures.append(f'rule {rule} did not fire on {rel}')
            else:
                print(f'ok: {rule} fires: {found[0]}')
    for f in failures:
        print('FAIL:', f)
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ['--self-test']:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), '..')
    problems = check(os.path.abspath(root))
    for p in problems:
        print(p)
    print(f'layering: {len(problems)} problem(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
