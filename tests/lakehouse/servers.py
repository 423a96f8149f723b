"""servers.py — what the two test servers share: a child process started in a session of its
own that dies with the thread that started it (PR_SET_PDEATHSIG: a test run killed with
SIGKILL leaves no server behind), its output kept in a log file for failure messages, a
start that waits for the server with a deadline, and a stop that leaves nothing."""
import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from support.procs import living

START_S = 120.0   # a server answers (a JVM on a loaded 2-core machine included)
STOP_S = 15.0     # SIGTERM, then SIGKILL

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


class ServerError(Exception):
    """A server that did not start or answer; the message ends with its log's last lines."""


def _die_with_parent(sig, parent):
    def preexec():
        _libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:   # the parent went before prctl took effect
            os._exit(1)
    return preexec


class Server:
    """What a test server (ObjectStore, RestCatalog) is to a test: started, its log's tail
    for a failure message, stopped leaving nothing; a context manager. Its `server` is the
    ServerProcess while it runs; `label` names it in messages."""

    label = "server"
    server = None

    def log_tail(self, lines=40):
        return self.server.log_tail(lines) if self.server else ""

    def stop(self):
        """Stop the server; the processes left (an empty list)."""
        if self.server is None:
            return []
        left, self.server = self.server.stop(), None
        return left

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        left = self.stop()
        if left and exc[0] is None:
            raise ServerError("%s: left running: %s" % (self.label, left))


class ServerProcess:
    """ARGV running with ENV, stdout and stderr appended to LOG; NAME for messages."""

    def __init__(self, name, argv, env, log, death_signal=signal.SIGKILL):
        self.name, self.log = name, Path(log)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent(death_signal, os.getpid()))
        self.process = psutil.Process(self.popen.pid)

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def log_tail(self, lines=40):
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return "(no log: %s)" % exc
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, what):
        """ServerError: WHAT, the exit status if it ended, and the log's last lines."""
        status = self.popen.poll()
        ended = "" if status is None else " (it exited with status %s)" % status
        return ServerError("%s: %s%s; log %s ends:\n%s"
                           % (self.name, what, ended, self.log, self.log_tail()))

    def listening_ports(self):
        """TCP ports the process listens on (psutil reads /proc: no log parsing)."""
        try:
            conns = self.process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return []
        return sorted({c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN})

    def wait_for(self, what, predicate, timeout=START_S, interval=0.05):
        """Poll PREDICATE until it returns a true value; ServerError when the process ends
        or TIMEOUT passes first."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if not self.running():
                raise self.fail("ended before " + what)
            if time.monotonic() > deadline:
                raise self.fail("no %s after %.0f s" % (what, timeout))
            time.sleep(interval)

    def stop(self, timeout=STOP_S):
        """SIGTERM to its session, SIGKILL after TIMEOUT; the processes still alive after
        that (an empty list: nothing left)."""
        procs = [self.process]
        try:
            procs += self.process.children(recursive=True)
        except psutil.NoSuchProcess:
            pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.popen.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.popen.wait(timeout)   # reaps it: no zombie either
            except subprocess.TimeoutExpired:
                continue
            if not psutil.wait_procs(procs, timeout=timeout)[1]:
                return []
        return living(procs)
