#!/usr/bin/env python3
"""layers.py — the include rule of the C tree, checked (`make layers`, part of `make all`).

Dependencies point one way:

    launcher/cmd      commands: argv in, exit status out
      -> launcher/runtime   the local and Kubernetes runtimes, the janitor
        -> launcher/plan    kernelspec metadata, settings, the launch plan, Spark properties
        -> launcher/kube    the Kubernetes client and the objects of a kernel
          -> launcher/images  the image matrix, its pins and the image plan
            -> launcher/sys   system helpers: errors, spawn, signals, HTTP, YAML, GPUs
    kernel/           the Jupyter protocol and the relay: includes nothing of launcher/;
                      only cmd and runtime include it

A file may include headers of its own folder and of the folders below it; plan and kube
are side by side and include neither each other. Within a folder, modules (x.c with x.h)
must not include each other in a circle. Exit status 1 with one line per violation
(file:line, what it includes, the rule), 0 when the tree keeps the rule.

    python3 launcher/layers.py [ROOT]
"""
import os
import re
import sys

# folder -> the folders it may include (besides itself)
ALLOWED = {
    "kernel": set(),
    "launcher/sys": set(),
    "launcher/images": {"launcher/sys"},
    "launcher/kube": {"launcher/images", "launcher/sys"},
    "launcher/plan": {"launcher/images", "launcher/sys"},
    "launcher/runtime": {"kernel", "launcher/plan", "launcher/kube", "launcher/images", "launcher/sys"},
    "launcher/cmd": {"kernel", "launcher/runtime", "launcher/plan", "launcher/kube",
                     "launcher/images", "launcher/sys"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def sources(root):
    for folder in ALLOWED:
        base = os.path.join(root, folder)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            if name.endswith((".c", ".h")):
                yield folder, os.path.join(folder, name)


def includes(root, path):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield n, m.group(1)


def check(root):
    errors = []
    graph = {}  # module (folder/stem) -> modules of the same folder it includes
    known = {os.path.dirname(p) for _, p in sources(root)} | set(ALLOWED)
    for folder, path in sources(root):
        module = os.path.splitext(path)[0]
        graph.setdefault(module, set())
        for n, inc in includes(root, path):
            target = os.path.dirname(inc)
            if target not in known:
                errors.append("%s:%d: includes \"%s\", which is in no layer (%s)"
                              % (path, n, inc, ", ".join(sorted(ALLOWED))))
            elif target != folder and target not in ALLOWED[folder]:
                errors.append("%s:%d: includes \"%s\": %s may include only %s"
                              % (path, n, inc, folder,
                                 ", ".join(sorted(ALLOWED[folder] | {folder}))))
            elif target == folder:
                other = os.path.splitext(inc)[0]
                if other != module:
                    graph[module].add(other)
    errors += cycles(graph)
    return errors


def cycles(graph):
    """Circles among the modules of a folder, each told once."""
    out, seen, stack, on_stack = [], set(), [], set()

    def visit(m):
        seen.add(m)
        stack.append(m)
        on_stack.add(m)
        for nxt in sorted(graph.get(m, ())):
            if nxt in on_stack:
                circle = stack[stack.index(nxt):] + [nxt]
                out.append("include circle: %s" % " -> ".join(c + ".[ch]" for c in circle))
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        on_stack.discard(m)

    for m in sorted(graph):
        if m not in seen:
            visit(m)
    return out


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    errors = check(root)
    for e in errors:
        print("layers: " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
