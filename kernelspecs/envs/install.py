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
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

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
    ap.add_argument("name", help="environment: build, jupyter, spark-X.Y")
    ap.add_argument("dest", help="where to create it")
    ap.add_argument("--copy-from", metavar="DIR",
                    help="an environment installed from the same locks, to copy")
    ap.add_argument("--as", dest="final", metavar="PATH",
                    help="where DEST will be at run time (default: DEST)")
    args = ap.parse_args()
    if not (HERE / (args.name + ".lock")).exists():
        sys.exit("install.py: no lock for environment %r in %s" % (args.name, HERE))
    if up_to_date(args.dest, args.name):
        return 0
    if args.copy_from and up_to_date(args.copy_from, args.name):
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
