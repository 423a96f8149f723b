"""support.kernels — kernels started through jupyter_client from an installed kernelspec,
with the environment of a support.homes.Home, and the cells they run with everything
they sent collected; the processes a kernel leaves (or must not).

Every wait has a deadline generous enough for a loaded 2-core machine; how long things
take is measured in `make bench`, never asserted here.
"""
import ast
import os
import subprocess
import tempfile
import time

import psutil
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from support import procs
from support.procs import living

START_S = 120.0   # a kernel answers kernel_info
CELL_S = 300.0    # a cell that starts a JVM and runs a small query
GONE_S = 30.0     # processes gone after shutdown, restart or SIGKILL


def install_kernelspec(prefix, home, *args, check=True):
    """`spark-k8s kernelspec install --prefix HOME ... ARGS`; the CompletedProcess."""
    proc = subprocess.run([str(prefix.binary), "kernelspec", "install", "--prefix",
                           str(home.base), "--executable", str(prefix.binary), "--replace",
                           *map(str, args)],
                          env=home.env(), capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


class Cell:
    """What one execute_request produced."""

    def __init__(self, reply):
        self.reply = reply
        self.stdout, self.stderr = [], []
        self.results, self.displays, self.errors = [], [], []

    @property
    def status(self):
        return self.reply["status"] if self.reply else None

    @property
    def out(self):
        return "".join(self.stdout)

    @property
    def err(self):
        return "".join(self.stderr)

    @property
    def result(self):
        return self.results[-1]["text/plain"] if self.results else None

    def __repr__(self):
        return ("Cell(status=%r, result=%r, errors=%r, stdout=%r, stderr=%r)"
                % (self.status, self.result, self.errors, self.out[-2000:], self.err[-4000:]))


class Kernel:
    """A kernel started by jupyter_client from kernelspec NAME in KERNELS_DIR, with the
    environment of HOME (plus EXTRA_ENV)."""

    def __init__(self, name, kernels_dir, home, **extra_env):
        self.home = home
        self.km = KernelManager(kernel_name=name,
                                kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels_dir)]))
        fd, self.km.connection_file = tempfile.mkstemp(prefix="kernel-", suffix=".json",
                                                       dir=home.jupyter_runtime)
        os.close(fd)
        self.km.start_kernel(env=home.env(**extra_env))
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=START_S)
        except Exception:
            self.close()
            raise
        self.drain()

    @property
    def launcher(self):
        return psutil.Process(self.km.provisioner.process.pid)

    def drain(self, quiet=0.3):
        """Drop what iopub has until it is quiet for QUIET seconds."""
        while True:
            try:
                self.kc.get_iopub_msg(timeout=quiet)
            except Exception:
                return

    def execute(self, code, timeout=CELL_S, interrupt_when=None):
        """Run CODE; a Cell with what came back. INTERRUPT_WHEN(cell) is asked after
        each message: when true, the kernel is interrupted (once)."""
        msg_id = self.kc.execute(code, stop_on_error=False)
        cell = Cell(None)
        deadline = time.monotonic() + timeout
        interrupted = False
        idle = False
        while not idle:
            left = deadline - time.monotonic()
            assert left > 0, f"no idle within {timeout} s for {code!r}: {cell!r}"
            if interrupt_when and not interrupted and interrupt_when(cell):
                self.km.interrupt_kernel()
                interrupted = True
            try:
                msg = self.kc.get_iopub_msg(timeout=min(left, 0.5))
            except Exception:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                (cell.stdout if content["name"] == "stdout" else cell.stderr).append(content["text"])
            elif kind == "execute_result":
                cell.results.append(content["data"])
            elif kind in ("display_data", "update_display_data"):
                cell.displays.append((kind, content))
            elif kind == "error":
                cell.errors.append(content)
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        while True:
            reply = self.kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                cell.reply = reply["content"]
                return cell

    def ok(self, code, timeout=CELL_S):
        """Run CODE, which must succeed; its Cell."""
        cell = self.execute(code, timeout)
        assert cell.status == "ok", cell
        return cell

    def value(self, code, timeout=CELL_S):
        """The repr of expression CODE, evaluated in the kernel (a Python literal)."""
        return ast.literal_eval(self.ok(code, timeout).result)

    def processes(self):
        """The launcher and every process under it (kernel, JVM, Python workers)."""
        try:
            root = self.launcher
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def close(self):
        self.kc.stop_channels()
        if self.km.has_kernel:
            self.km.shutdown_kernel(now=False)


def java_processes(processes):
    """The JVMs among PROCESSES (Spark's driver in a local kernel)."""
    out = []
    for p in living(processes):
        try:
            if p.name() == "java":
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def wait_gone(processes, timeout=GONE_S):
    """PROCESSES that are still alive after TIMEOUT (an empty list when all went)."""
    return procs.wait_gone(processes, timeout)


def execute(kc, code, timeout=60):
    """Run CODE in the kernel of client KC (one started by a test itself); return
    (reply content, stdout, stderr, result)."""
    msg_id = kc.execute(code)
    out, err, result = [], [], []
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            (out if content["name"] == "stdout" else err).append(content["text"])
        elif kind == "execute_result":
            result.append(content["data"]["text/plain"])
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=timeout)
    return reply["content"], "".join(out), "".join(err), "".join(result)


def started(prefix, home, line, **env):
    """spark-LINE-baseline as PREFIX installed it, started in HOME with ENV in its
    launcher's environment (a generator for a fixture); nothing of it may be left
    after its shutdown."""
    k = Kernel(f"spark-{line}-baseline", prefix.kernels, home, **env)
    mine = None
    try:
        yield k
        mine = k.processes()
    finally:
        k.close()
    if mine:
        alive = wait_gone(mine)
        assert alive == [], f"left after shutdown: {procs.describe(alive)}"
