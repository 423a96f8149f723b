#!/usr/bin/python3
"""install.py — create a locked Python environment: install.py NAME DEST [--copy-from DIR] [--as PATH].

DEST becomes a virtual environment of Debian's /usr/bin/python3 holding exactly
what NAME.lock lists, installed with pip's hash checking (--require-hashes): first
build.lock (pip, setuptools, wheel), then NAME.lock without build isolation, so
that building pyspark's sdist uses only those hash-checked tools. Nothing is
fetched that a lock does not name and hash.

An environment already installed from the same locks (its stamp file records their
sha256) is left alone, so `make deps` and `make install` redo nothing. --copy-from
DIR takes an up-to-date environment from DIR instead of installing again: a copy
(files hard-linked where DIR and DEST share a file system: nothing here writes
into an installed file, pip replaces files rather than rewriting them), with the
scripts' #! lines pointed at DEST, or at PATH given with --as (where DEST will be
once installed: `make install DESTDIR=...`). Anything else at DEST is replaced; a
failed install leaves no stamp, so the next run starts over.

  install.py NAME DEST --over BASE [--expect 'PKG==VERSION ...']

adds to DEST, an environment installed from BASE.lock (its stamp says so), what
NAME.lock has beyond BASE.lock, with the same hash checking and wheels only: the gpu
Jupyter images' GPU Python stack (spark-X.Y-gpu over spark-X.Y). NAME.lock must pin
every package of BASE.lock at BASE.lock's version (lock.py resolves it so), and
--expect names pins NAME.lock must have (the image build's list from the matrix);
anything else is refused before pip runs. DEST's stamp then names NAME.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lock import parse_lock  # kernelspecs/envs/lock.py, beside this file

HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"
STAMP = ".spark-k8s-env.json"


def lock_digest(name):
    h = hashlib.sha256()
    for lock in ("build", name):
        h.update((HERE / (lock + ".lock")).read_bytes())
    return h.hexdigest()


def stamp_of(dest):
    try:
        with open(Path(dest) / STAMP, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def up_to_date(dest, name):
    s = stamp_of(dest)
    return bool(s) and s.get("name") == name and s.get("locks_sha256") == lock_digest(name)


def pip(dest, *args):
    cmd = [str(Path(dest) / "bin" / "python"), "-m", "pip", "install", "-qq",
           "--disable-pip-version-check", "--no-input", "--require-hashes", "--no-deps", *args]
    subprocess.run(cmd, check=True)


def install(name, dest):
    if Path(dest).exists() or Path(dest).is_symlink():
        shutil.rmtree(dest) if Path(dest).is_dir() and not Path(dest).is_symlink() \
            else os.unlink(dest)
    subprocess.run([PYTHON, "-m", "venv", str(dest)], check=True)
    pip(dest, "-r", str(HERE / "build.lock"))
    pip(dest, "--no-build-isolation", "-r", str(HERE / (name + ".lock")))


def pins(name):
    """{package: (version, [sha256])} of NAME.lock."""
    return {p: (v, h) for p, v, h in parse_lock(HERE / (name + ".lock"))}


def norm(package):
    return package.lower().replace("_", "-")


def over_problems(name, base, expect):
    """Why NAME.lock cannot be added over BASE (messages), or []."""
    want, have = pins(name), pins(base)
    problems = ["%s.lock pins %s at %s, %s.lock at %s: refusing to move the %s environment"
                % (name, p, want[p][0] if p in want else "nothing", base, v, base)
                for p, (v, _) in sorted(have.items()) if want.get(p, (None,))[0] != v]
    for spec in expect:
        p, sep, v = spec.partition("==")
        if not sep or not p or not v:
            problems.append("--expect %r: not PACKAGE==VERSION" % spec)
        elif want.get(norm(p), (None,))[0] != v:
            problems.append("%s.lock pins %s at %s, the build asks for %s; re-lock "
                            "(kernelspecs/envs/lock.py %s)"
                            % (name, p, want.get(norm(p), ("nothing",))[0], v, name))
    return problems


def install_over(name, dest, base):
    """pip install, hash-checked and wheels only, what NAME.lock adds to BASE.lock."""
    have = pins(base)
    extra = [(p, v, h) for p, (v, h) in sorted(pins(name).items()) if p not in have]
    print("adding %d packages of %s.lock to the %s environment in %s (hash-checked)"
          % (len(extra), name, base, dest), flush=True)
    with tempfile.TemporaryDirectory(prefix="spark-k8s-over-") as tmp:
        req = Path(tmp) / (name + "-over-" + base + ".txt")
        req.write_text("".join("%s==%s %s\n" % (p, v, " ".join("--hash=sha256:" + x for x in h))
                               for p, v, h in extra), encoding="utf-8")
        pip(dest, "--only-binary=:all:", "-r", str(req))
    subprocess.run([str(Path(dest) / "bin" / "python"), "-m", "pip", "check",
                    "--disable-pip-version-check"], check=True)


def link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def rewrite(path, data):
    """Replace PATH's content by a new file (never write into a hard-linked one)."""
    tmp = path.with_name(path.name + ".spark-k8s-tmp")
    tmp.write_bytes(data)
    shutil.copymode(path, tmp)
    os.replace(tmp, path)


def copy(src, dest, final):
    """Copy the environment SRC to DEST; point its scripts at FINAL."""
    src, dest = Path(src).resolve(), Path(dest).absolute()
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, symlinks=True, copy_function=link_or_copy)
    (dest / STAMP).unlink(missing_ok=True)
    old, new = ("#!%s/bin/" % src).encode(), ("#!%s/bin/" % final).encode()
    for script in (dest / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if data.startswith(old):
            rewrite(script, new + data[len(old):])
    cfg = dest / "pyvenv.cfg"
    rewrite(cfg, cfg.read_text(encoding="utf-8").replace(str(src), str(final)).encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", help="environment: build, jupyter, spark-X.Y (spark-X.Y-gpu with --over)")
    ap.add_argument("dest", help="where to create it")
    ap.add_argument("--copy-from", metavar="DIR",
                    help="an environment installed from the same locks, to copy")
    ap.add_argument("--as", dest="final", metavar="PATH",
                    help="where DEST will be at run time (default: DEST)")
    ap.add_argument("--over", metavar="BASE",
                    help="DEST holds the BASE environment: add what NAME.lock adds to it")
    ap.add_argument("--expect", metavar="SPECS", default="",
                    help="with --over: PKG==VERSION ... (space-separated) NAME.lock must pin")
    args = ap.parse_args()
    for lock_name in (args.name, args.over):
        if lock_name and not (HERE / (lock_name + ".lock")).exists():
            sys.exit("install.py: no lock for environment %r in %s" % (lock_name, HERE))
    if args.expect and not args.over:
        sys.exit("install.py: --expect goes with --over")
    if args.over and (args.copy_from or args.final):
        sys.exit("install.py: --over adds to DEST in place; no --copy-from or --as")
    if up_to_date(args.dest, args.name):
        return 0
    if args.over:
        problems = over_problems(args.name, args.over, args.expect.split())
        if not up_to_date(args.dest, args.over):
            problems.insert(0, "%s is not an environment installed from the current %s.lock "
                            "(its %s: %s)" % (args.dest, args.over, STAMP, stamp_of(args.dest)))
        if problems:
            sys.exit("install.py: cannot add %s over %s:\n  %s"
                     % (args.name, args.over, "\n  ".join(problems)))
        install_over(args.name, args.dest, args.over)
    elif args.copy_from and up_to_date(args.copy_from, args.name):
        copy(args.copy_from, args.dest, Path(args.final or args.dest).absolute())
    else:
        print("installing the %s environment in %s (from %s.lock, hash-checked)"
              % (args.name, args.dest, args.name), flush=True)
        install(args.name, args.dest)
    stamp = {"name": args.name, "locks_sha256": lock_digest(args.name)}
    tmp = Path(args.dest) / (STAMP + ".tmp")
    tmp.write_text(json.dumps(stamp) + "\n", encoding="utf-8")
    os.replace(tmp, Path(args.dest) / STAMP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
