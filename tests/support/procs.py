"""support.procs — process bookkeeping the Python tests share: waiting with a deadline,
the processes a test started (alive or gone, found by a mark in their command line or
environment, or by their parent in /proc), and an environment without an enclosing
make's variables."""
import os
import time
from pathlib import Path

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
    """ENV without the variables of an enclosing make (its jobserver fds are not ours) and
    pytest's PYTEST_CURRENT_TEST: ipykernel turns its capture of fd 1 and 2 off where it
    finds that name, and a kernel under test is to show a cell what a user's shows (the
    JVM's and subprocesses' output)."""
    return {k: v for k, v in env.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTEST_CURRENT_TEST")}


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


# ---- /proc, read directly (the protocol tests tell processes apart by start time) -------


def proc_stat(pid):
    """(state, ppid, pgid, sid, starttime) of PID, or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = text[text.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2]), int(rest[3]), int(rest[19])


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


class Proc:
    """A process seen once, recognised later by its start time (pids are reused)."""

    def __init__(self, pid):
        st = proc_stat(pid)
        assert st is not None, f"process {pid} does not exist"
        self.pid = pid
        self.starttime = st[4]
        self.pgid = st[2]
        self.sid = st[3]
        self.cmdline = cmdline(pid)

    def alive(self):
        st = proc_stat(self.pid)
        return st is not None and st[4] == self.starttime and st[0] not in ("Z", "X")

    def __repr__(self):
        return f"Proc({self.pid}, {b' '.join(self.cmdline)[:120]!r})"


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st is not None and st[1] == pid and st[0] not in ("Z", "X"):
                out.append(int(entry))
    return out


def descendants(pid):
    found, todo = [], [pid]
    while todo:
        for c in children(todo.pop()):
            found.append(c)
            todo.append(c)
    return found
