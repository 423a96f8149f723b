#!/usr/bin/python3
"""lock.py — the locked Python environments: generate the lock files, or check them.

Each environment NAME has an input file NAME.in (what it needs, with the reason for
each bound) and a lock file NAME.lock (every package, exact version, sha256 hashes),
which `install.py` installs with pip's hash checking:

  build      pip, setuptools, wheel: installed first into every environment
  spark-X.Y  a kernel environment; lock.py adds pyspark[sql,pandas_on_spark,connect]
             at the version of the matrix line X.Y (images/matrix.json), so the
             matrix stays the one place a Spark version is written
  jupyter    JupyterLab 4 on jupyter_server 2, the PyPI generation of the Jupyter
             clients, and the test tools
  spark-X.Y-gpu
             the GPU Python stack of the gpu Jupyter images (GPU_PYTHON=1): the
             matrix's images.python_packages.jupyter_gpu (cudf, cuml, cupy; CUDA 12
             wheels from PyPI) resolved together with the kernel environment
             spark-X.Y (its .in, pyspark at the matrix's version) and held to
             spark-X.Y.lock's versions (pip constraints): a superset of that lock
             with every one of its pins unchanged, which install.py --over adds to an
             installed spark-X.Y environment. Its input is spark-X.Y.in, the
             matrix and spark-X.Y.lock: re-lock it after re-locking the line.

  lock.py [NAME ...]     re-resolve (network: PyPI) and rewrite NAME.lock
  lock.py --check        offline: every lock matches its input and the matrix

Resolution runs pip-compile (pip-tools, installed into build/lock-tools) under
Debian's /usr/bin/python3, the interpreter the environments are created with. The
first line of a lock records the sha256 of the input it was resolved from; --check
recomputes it, so editing an input or the matrix without re-locking fails.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MATRIX = REPO / "images" / "matrix.json"
PYTHON = "/usr/bin/python3"
PIP_TOOLS = "pip-tools==7.6.2"
PYSPARK_EXTRAS = "sql,pandas_on_spark,connect"
HEADER = "# spark-k8s lock of {name}.in; input sha256 {digest}"
GPU = "-gpu"
GPU_SCOPE = "jupyter_gpu"


def load_matrix():
    with open(MATRIX, encoding="utf-8") as f:
        return json.load(f)


def matrix_lines():
    """{line: version} of the matrix."""
    return {s["line"]: s["version"] for s in load_matrix()["spark"]}


def gpu_packages():
    """{name: version} of the matrix's images.python_packages.jupyter_gpu."""
    pkgs = load_matrix().get("images", {}).get("python_packages", {}).get(GPU_SCOPE, {})
    return {k: v for k, v in pkgs.items() if not k.startswith("_")}


def gpu_base(name):
    """'spark-X.Y' for 'spark-X.Y-gpu', else None."""
    if name.startswith("spark-") and name.endswith(GPU):
        return name[:-len(GPU)]
    return None


def env_names():
    """Every environment, each after those it is resolved from."""
    names = ["build", "jupyter"]
    names += ["spark-" + line for line in matrix_lines()]
    if gpu_packages():
        names += ["spark-%s%s" % (line, GPU) for line in matrix_lines()]
    return names


def constraints_text(base):
    """BASE.lock's pins, one `name==version` a line: what a gpu lock holds."""
    path = HERE / (base + ".lock")
    if not path.exists():
        raise SystemExit("%s: missing; lock %s first (kernelspecs/envs/lock.py %s)"
                         % (path, base, base))
    return "".join("%s==%s\n" % (p, v) for p, v, _ in parse_lock(path))


def resolved_input(name):
    """The text pip-compile resolves for NAME: its .in, plus pyspark for a Spark line;
    for spark-X.Y-gpu the matrix's GPU packages, spark-X.Y's input and a constraint
    on spark-X.Y.lock's pins (written beside it by lock(); see inputs())."""
    base = gpu_base(name)
    if base is not None:
        pkgs = gpu_packages()
        if not pkgs:
            raise SystemExit("%s: the matrix (%s) has no images.python_packages.%s"
                             % (name, MATRIX, GPU_SCOPE))
        return ("# from images/matrix.json, images.python_packages.%s: the GPU Python stack\n"
                "# of the gpu Jupyter images (GPU_PYTHON=1), CUDA 12 wheels from PyPI\n%s"
                "# resolved together with the kernel environment it joins (%s.in):\n%s"
                "# held to %s.lock's versions:\n-c %s.pins.txt\n"
                % (GPU_SCOPE, "".join("%s==%s\n" % kv for kv in sorted(pkgs.items())),
                   base, resolved_input(base), base, base))
    text = (HERE / (name + ".in")).read_text(encoding="utf-8")
    if name.startswith("spark-"):
        line = name[len("spark-"):]
        version = matrix_lines().get(line)
        if version is None:
            raise SystemExit("%s.in: the matrix (%s) has no Spark line %s" % (name, MATRIX, line))
        text = ("# from images/matrix.json, line %s\npyspark[%s]==%s\n" %
                (line, PYSPARK_EXTRAS, version)) + text
    return text


def inputs(name):
    """(text, {file name: text}): what NAME is resolved from, its side files included."""
    text = resolved_input(name)
    base = gpu_base(name)
    return text, ({base + ".pins.txt": constraints_text(base)} if base else {})


def digest(text, files=None):
    for fname, body in sorted((files or {}).items()):
        text += "\0%s\0%s" % (fname, body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_lock(path):
    """[(name, version, [hashes])] of a lock file in pip's requirements format."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;]+)(.*)$", line)
        if not m:
            raise ValueError("%s: not an exact pin: %r" % (path, raw.strip()))
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", m.group(4))
        out.append((m.group(1).lower().replace("_", "-"), m.group(3), hashes))
    return out


def tools_python():
    """build/lock-tools/bin/python with pip-tools, created on first use."""
    venv = REPO / "build" / "lock-tools"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip", PIP_TOOLS],
                       check=True)
    return py


def lock(name):
    text, files = inputs(name)
    work = REPO / "build" / "locks"
    work.mkdir(parents=True, exist_ok=True)
    for fname, body in files.items():
        (work / fname).write_text(body, encoding="utf-8")
    src = work / (name + ".in")
    src.write_text(text, encoding="utf-8")
    out = HERE / (name + ".lock")
    tmp = work / (name + ".lock")
    tmp.unlink(missing_ok=True)
    env = dict(os.environ, CUSTOM_COMPILE_COMMAND="kernelspecs/envs/lock.py " + name)
    env.pop("PIP_FIND_LINKS", None)  # resolve against PyPI alone
    env["PIP_CONFIG_FILE"] = os.devnull
    subprocess.run([str(tools_python()), "-m", "piptools", "compile", "-q", "--generate-hashes",
                    "--allow-unsafe", "--strip-extras", "--no-emit-index-url",
                    "--no-emit-find-links", "--no-emit-trusted-host", "--newline", "LF",
                    "--output-file", str(tmp), str(src)], check=True, env=env, cwd=work)
    # pip-compile names its inputs by absolute path ("via -r /…/build/locks/X.in"):
    # relative to build/locks, so that a lock does not depend on the checkout's place
    body = tmp.read_text(encoding="utf-8").replace(str(work) + "/", "")
    out.write_text(HEADER.format(name=name, digest=digest(text, files)) + "\n" + body,
                   encoding="utf-8")
    print("wrote", out.relative_to(REPO))


def check(name):
    """Problems of NAME.lock, as messages naming the file."""
    path = HERE / (name + ".lock")
    if not path.exists():
        return ["%s: missing; run kernelspecs/envs/lock.py %s" % (path, name)]
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    base = gpu_base(name)
    if base is not None and not (HERE / (base + ".lock")).exists():
        return ["%s: its kernel environment's lock %s.lock is missing" % (path, base)]
    want = HEADER.format(name=name, digest=digest(*inputs(name)))
    problems = []
    if first != want:
        what = ("%s.in, matrix versions or %s.lock" % (base, base) if base
                else "%s.in or matrix version" % name)
        problems.append("%s: resolved from another %s than today's "
                        "(first line %r, expected %r); run kernelspecs/envs/lock.py %s"
                        % (path, what, first, want, name))
    try:
        pins = parse_lock(path)
    except ValueError as exc:
        return problems + [str(exc)]
    for pkg, version, hashes in pins:
        if not hashes:
            problems.append("%s: %s==%s has no sha256 hash" % (path, pkg, version))
    if base is not None:
        got = {p: v for p, v, _ in pins}
        for p, v, _ in parse_lock(HERE / (base + ".lock")):
            if got.get(p) != v:
                problems.append("%s: %s pinned at %s, %s.lock says %s: the GPU stack must "
                                "keep the kernel environment's versions"
                                % (path, p, got.get(p, "nothing"), base, v))
        for p, v in sorted(gpu_packages().items()):
            key = p.lower().replace("_", "-")
            if got.get(key) != v:
                problems.append("%s: %s pinned at %s, the matrix (images.python_packages.%s) "
                                "says %s" % (path, p, got.get(key, "nothing"), GPU_SCOPE, v))
    if name.startswith("spark-"):
        version = matrix_lines()[(base or name)[len("spark-"):]]
        got = [v for p, v, _ in pins if p == "pyspark"]
        if got != [version]:
            problems.append("%s: pyspark pinned at %s, the matrix says %s"
                            % (path, got or "nothing", version))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="verify the locks, offline")
    ap.add_argument("names", nargs="*", help="environments (default: all)")
    args = ap.parse_args()
    names = args.names or env_names()
    unknown = sorted(set(names) - set(env_names()))
    if unknown:
        raise SystemExit("lock.py: unknown environment %s; known: %s"
                         % (", ".join(unknown), ", ".join(env_names())))
    if args.check:
        problems = [p for n in names for p in check(n)]
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    for n in names:
        lock(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
