"""protocol_helpers.py — shared machinery of the protocol tests: kernelspecs, processes, messages.

The protocol tests talk to the real `spark-k8s kernel` with Debian's jupyter_client.
This module finds the kernelspec under test (an installed prefix, or a temporary one
pointing at build/spark-k8s), writes the special kernelspecs some tests need, starts
launchers directly when a test must see their stderr, looks processes up in /proc,
and collects the messages of one request.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from queue import Empty

from jupyter_client import BlockingKernelClient, KernelManager
from jupyter_client.connect import write_connection_file
from jupyter_client.kernelspec import KernelSpecManager

ROOT = Path(__file__).resolve().parents[2]
KERNEL_NAME = "spark-4.1-baseline"
SPARK_VERSION = next(s["version"] for s in
                     json.loads((ROOT / "images" / "matrix.json").read_text())["spark"]
                     if s["line"] == "4.1")
VARIANT = "baseline"
PYTHON = "/usr/bin/python3"
IPYKERNEL_COMMAND = [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]

# Bounds on waits for things that should happen at once (the issue says 1 s for a
# dead runtime, 2 s for SIGTERM); generous so a loaded 2-core CI machine passes, far
# below anything that would hide a hang (time.sleep(60), a missing event).
EXIT_BOUND_S = 5.0
REPLY_TIMEOUT_S = 30.0


# ---- the kernelspec under test ---------------------------------------------------------


class Setup:
    """Where the kernelspec under test lives, and the private dirs of one test module."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="sk8s-"))  # short: ipc paths max 107 bytes
        self.runtime_base = self.base / "rt"        # XDG_RUNTIME_DIR of the launchers
        self.jupyter_runtime = self.base / "jrt"    # connection files written by jupyter_client
        self.runtime_base.mkdir(mode=0o700)
        self.jupyter_runtime.mkdir(mode=0o700)
        # No administrator's settings: /etc/spark-k8s/config.json and SPARK_K8S_*
        # variables (SPARK_K8S_RUNTIME=kubernetes, say) would change what runs.
        self.admin_config = self.base / "config.json"
        self.admin_config.write_text("{}\n")
        prefix = os.environ.get("SPARK_K8S_PREFIX", "")
        installed = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME if prefix else None
        if installed is not None and (installed / "kernel.json").is_file():
            self.installed = True
            self.jupyter_path = Path(prefix) / "share" / "jupyter"
            self.spec_dir = installed
            self.launcher = json.loads((installed / "kernel.json").read_text())["argv"][0]
        else:
            build = Path(os.environ.get("SPARK_K8S_BUILD", ROOT / "build"))
            self.launcher = str((build / "spark-k8s").resolve())
            if not os.access(self.launcher, os.X_OK):
                shutil.rmtree(self.base)
                raise RuntimeError(f"{self.launcher} is missing: run `make build/spark-k8s` first")
            self.installed = False
            self.jupyter_path = self.base / "jupyter"
            self.spec_dir = make_kernelspec(self.jupyter_path / "kernels", KERNEL_NAME, self.launcher)

    def env(self):
        """The environment variables a launcher of this module runs with."""
        return {
            "JUPYTER_PATH": str(self.jupyter_path),
            "JUPYTER_RUNTIME_DIR": str(self.jupyter_runtime),
            "XDG_RUNTIME_DIR": str(self.runtime_base),
            "IPYTHONDIR": str(self.base / "ipython"),  # history of these kernels only
            "SPARK_K8S_CONFIG": str(self.admin_config),
        }

    @staticmethod
    def foreign_settings():
        """SPARK_K8S_* variables of the caller that would change the kernel under test."""
        keep = {"SPARK_K8S_PREFIX", "SPARK_K8S_BUILD", "SPARK_K8S_CONFIG"}
        return [k for k in os.environ if k.startswith("SPARK_K8S_") and k not in keep]

    def private_dirs(self):
        return sorted(p.name for p in self.runtime_base.glob("spark-k8s-*"))

    def close(self):
        shutil.rmtree(self.base, ignore_errors=True)


def make_kernelspec(kernels_dir, name, launcher, runtime_command=None, extra_argv=(),
                    runtime="local"):
    """Write KERNELS_DIR/NAME/kernel.json running LAUNCHER; return the kernelspec folder."""
    spec_dir = Path(kernels_dir) / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    meta = {"spark_version": SPARK_VERSION, "variant": VARIANT, "runtime": runtime}
    if runtime_command is not None:
        meta["runtime_command"] = list(runtime_command)
    spec = {
        "argv": [launcher, "kernel", "-f", "{connection_file}", "--kernelspec", "{resource_dir}",
                 *extra_argv],
        "display_name": f"Spark 4.1 (test {name})",
        "language": "python",
        "interrupt_mode": "message",
        "metadata": {"spark_k8s": meta},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def start_kernel(setup, kernel_name=KERNEL_NAME, kernels_dir=None, ready=True):
    """Start a kernel through jupyter_client; return (km, kc) with channels started.
    The kernelspec is found under KERNELS_DIR, or else on the module's JUPYTER_PATH."""
    kw = {}
    if kernels_dir is not None:
        kw["kernel_spec_manager"] = KernelSpecManager(kernel_dirs=[str(kernels_dir)])
    km = KernelManager(kernel_name=kernel_name, **kw)
    # Not tempfile's /tmp/tmpXXXX.json: the module checks this folder is left empty.
    fd, km.connection_file = tempfile.mkstemp(prefix="kernel-", suffix=".json",
                                              dir=setup.jupyter_runtime)
    os.close(fd)
    km.start_kernel(env={**os.environ, **setup.env()})
    kc = km.client()
    kc.start_channels()
    if ready:
        try:
            wait_for_ready(kc)
        except RuntimeError:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            raise
    return km, kc


def wait_for_ready(kc, timeout=REPLY_TIMEOUT_S):
    """kc.wait_for_ready, then drop the extra kernel_info replies it may leave behind
    (it asks again whenever iopub is quiet for 0.2 s after a reply)."""
    kc.wait_for_ready(timeout=timeout)
    while True:
        try:
            extra = kc.get_shell_msg(timeout=0.3)
        except Empty:
            return
        assert extra["msg_type"] == "kernel_info_reply", f"unexpected {extra['msg_type']}"


def launcher_pid(km):
    return km.provisioner.process.pid


class DirectLauncher:
    """A launcher started with subprocess (not jupyter_client), so its stderr and
    exit status can be read; clients connect through the connection file."""

    def __init__(self, setup, spec_dir, extra_args=(), extra_env=None):
        self.setup = setup
        fd, path = tempfile.mkstemp(prefix="conn-", suffix=".json", dir=setup.base)
        os.close(fd)
        self.connection_file, self.info = write_connection_file(
            path, ip="127.0.0.1", key=os.urandom(16).hex().encode(), transport="tcp",
            signature_scheme="hmac-sha256", kernel_name=KERNEL_NAME)
        fd, self.stderr_path = tempfile.mkstemp(prefix="stderr-", dir=setup.base)
        self.stderr_file = os.fdopen(fd, "w+b")
        env = {**os.environ, **setup.env(), **(extra_env or {})}
        self.proc = subprocess.Popen(
            [setup.launcher, "kernel", "-f", self.connection_file, "--kernelspec", str(spec_dir),
             *extra_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr_file,
            env=env, start_new_session=True)
        self.pid = self.proc.pid
        self.clients = []
        self.watched = []  # KernelProcesses to kill if a failed test left them

    def processes(self, **kw):
        procs = KernelProcesses(self.pid, **kw)
        self.watched.append(procs)
        return procs

    def client(self, ready=True):
        kc = BlockingKernelClient(connection_file=self.connection_file)
        kc.load_connection_file()
        kc.start_channels()
        self.clients.append(kc)
        if ready:
            wait_for_ready(kc)
        return kc

    def stderr_text(self):
        return Path(self.stderr_path).read_text(errors="replace")

    def wait(self, timeout=EXIT_BOUND_S):
        """The exit status, or None when the launcher is still running after TIMEOUT."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        for kc in self.clients:
            kc.stop_channels()
        if self.proc.poll() is None:
            self.proc.terminate()
            if self.wait(10) is None:
                self.proc.kill()
                self.proc.wait()
        self.stderr_file.close()
        for procs in self.watched:
            for p in procs.living():
                try:
                    os.kill(p.pid, 9)
                except ProcessLookupError:
                    pass
        for p in (self.connection_file, self.stderr_path):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass


# ---- processes -------------------------------------------------------------------------


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


class KernelProcesses:
    """The launcher, its runtime (and the runtime's descendants), its janitor, and the
    private directory named in the runtime's command line."""

    def __init__(self, pid, expect_runtime=True, timeout=REPLY_TIMEOUT_S):
        self.launcher = Proc(pid)
        self.runtime, self.janitor, self.private_dir = [], [], None
        deadline = time.monotonic() + timeout
        while True:
            self._scan()
            if not expect_runtime or self.private_dir or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if expect_runtime:
            assert self.runtime, f"launcher {pid} has no runtime child"
            assert self.private_dir, f"runtime of launcher {pid} names no connection file"

    def _scan(self):
        self.runtime, self.janitor = [], []
        for c in children(self.launcher.pid):
            p = Proc(c)
            if p.sid == c:  # the janitor runs in its own session
                self.janitor.append(p)
            else:
                self.runtime.append(p)
                self.runtime.extend(Proc(d) for d in descendants(c) if proc_stat(d))
        for p in self.runtime:
            for a in p.cmdline:
                if a.endswith(b"/connection.json") and b"/spark-k8s-" in a:
                    self.private_dir = Path(os.fsdecode(a)).parent

    def all(self):
        return [self.launcher, *self.runtime, *self.janitor]

    def runtime_leader(self):
        return self.runtime[0]

    def living(self):
        return [p for p in self.all() if p.alive()]


def wait_until(predicate, timeout):
    """Poll PREDICATE until it is true or TIMEOUT passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def assert_all_gone(procs, timeout=EXIT_BOUND_S):
    """Every process of the kernel ends and its private directory is removed within TIMEOUT."""
    wait_until(lambda: not procs.living() and not procs.private_dir.exists(), timeout)
    assert procs.living() == [], f"processes left behind: {procs.living()}"
    assert not procs.private_dir.exists(), \
        f"private directory left behind: {procs.private_dir} ({list(procs.private_dir.iterdir())})"


# ---- messages ----------------------------------------------------------------------------


def shell_reply(kc, msg_id, timeout=REPLY_TIMEOUT_S):
    """The shell reply to MSG_ID (other replies arriving first are an error)."""
    reply = kc.get_shell_msg(timeout=timeout)
    assert reply["parent_header"].get("msg_id") == msg_id, \
        f"reply to another request: {reply['msg_type']} for {reply['parent_header']}"
    return reply


def iopub_for(kc, msg_id, timeout=REPLY_TIMEOUT_S):
    """The iopub messages caused by request MSG_ID, up to and including its idle status."""
    out = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no idle status for {msg_id}; got {[m['msg_type'] for m in out]}"
        try:
            msg = kc.get_iopub_msg(timeout=left)
        except Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        out.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out


def iopub_for_all(kc, msg_ids, timeout=REPLY_TIMEOUT_S):
    """{msg_id: its iopub messages} for requests that may run in any order."""
    out = {msg_id: [] for msg_id in msg_ids}
    done = set()
    deadline = time.monotonic() + timeout
    while done != set(msg_ids):
        left = deadline - time.monotonic()
        assert left > 0, f"no idle status for {set(msg_ids) - done}"
        try:
            msg = kc.get_iopub_msg(timeout=left)
        except Empty:
            continue
        parent = msg["parent_header"].get("msg_id")
        if parent in out:
            out[parent].append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                done.add(parent)
    return out


def execute(kc, code, timeout=REPLY_TIMEOUT_S, **kw):
    """Run CODE; return (execute_reply, iopub messages of this request)."""
    msg_id = kc.execute(code, **kw)
    reply = shell_reply(kc, msg_id, timeout)
    return reply, iopub_for(kc, msg_id, timeout)


def settle_after_error(kc, attempts=20):
    """After an error reply, ipykernel 6.17 aborts the requests that reach it before
    its abort window closes (it sends the reply first, then opens the window): a
    request sent at once may get status "aborted". Wait until requests run again."""
    for _ in range(attempts):
        reply, _ = execute(kc, "pass")
        if reply["content"]["status"] == "ok":
            return
        assert reply["content"]["status"] == "aborted", reply["content"]
    raise AssertionError(f"requests still aborted after {attempts} tries")


def stream_text(msgs, name="stdout"):
    return "".join(m["content"]["text"] for m in msgs
                   if m["msg_type"] == "stream" and m["content"]["name"] == name)


def of_type(msgs, msg_type):
    return [m for m in msgs if m["msg_type"] == msg_type]


def flush_iopub(kc, quiet=0.3):
    """Drop the iopub messages already queued (those of earlier requests)."""
    while True:
        try:
            kc.get_iopub_msg(timeout=quiet)
        except Empty:
            return
