"""procs.py — process bookkeeping the Python tests share: waiting with a deadline, the
processes a test started (alive or gone, found by a mark in their command line or
environment), and an environment without an enclosing make's variables. Tests import
it as `procs` (tests/conftest.py puts this folder on sys.path)."""
import os
import time

import psutil


def wait_until(predicate, timeout, interval=0.1):
    """Poll PREDICATE until it returns a true value or TIMEOUT passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def make_env(env):
    """ENV without the variables of an enclosing make (its jobserver fds are not ours)."""
    return {k: v for k, v in env.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def processes_naming(mark, exclude=()):
    """Running processes (not this one) whose command line or environment contains MARK."""
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        if p.pid in exclude or p.pid == os.getpid():
            continue
        try:
            text = " ".join(p.info["cmdline"] or [])
            if mark in text or any(mark in v for v in p.environ().values()):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def living(procs):
    """The psutil.Process objects of PROCS still running (pid reuse is told apart)."""
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def wait_gone(procs, timeout):
    """PROCS still alive after TIMEOUT (an empty list when all went)."""
    return living(procs) if not wait_until(lambda: not living(procs), timeout) else []


def describe(procs):
    """PID and command line of each of PROCS, for messages."""
    out = []
    for p in procs:
        try:
            out.append(f"{p.pid} {' '.join(p.cmdline())[:300]}")
        except psutil.Error:
            out.append(f"{p.pid} (gone)")
    return out
