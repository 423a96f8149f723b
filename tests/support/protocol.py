"""support.protocol — the protocol tests' machinery: the kernelspec under test and the
special kernelspecs some tests write, kernels started through jupyter_client or directly
(when a test must see the launcher's stderr and exit status), and the messages of one
request. Where a kernel runs and what its processes are is the runtime's
(support/runtimes.py: local, kubernetes); tests reach it through the module's setup
(the `proto_setup` fixture, support/protocol_fixtures.py).

The protocol tests talk to the real `spark-k8s kernel` with the jupyter_client of the
Python that runs them: the Jupyter environment's 8.x, and Debian's 7.4.
"""
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from queue import Empty

from jupyter_client import BlockingKernelClient, KernelManager
from jupyter_client.connect import write_connection_file
from jupyter_client.kernelspec import KernelSpecManager

from support import procs
from support.paths import LINES, PYTHON, ROOT  # noqa: F401 (ROOT: for the tests)

KERNEL_NAME = "spark-4.1-baseline"
SPARK_VERSION = LINES["4.1"]
VARIANT = "baseline"
IPYKERNEL_COMMAND = [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]

# Bound on waits for replies: generous so a loaded 2-core CI machine passes, far below
# anything that would hide a hang (time.sleep(60), a missing event). How soon a kernel
# must end is its runtime's (Setup.exit_bound_s).
REPLY_TIMEOUT_S = 30.0


# ---- the kernelspec under test ---------------------------------------------------------


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
        self.watched = []  # kernel processes to kill if a failed test left them
        self.exit_bound_s = setup.exit_bound_s

    def processes(self, **kw):
        """This launcher's kernel processes (the runtime's: Setup.processes)."""
        kernel = self.setup.processes(self.pid, **kw)
        self.watched.append(kernel)
        return kernel

    def client(self, ready=True):
        """A client with channels started, once the launcher answers when READY. The
        heartbeat channel starts after that: jupyter_client 7.4's wait_for_ready (for a
        client no KernelManager made) takes one beat unanswered for 1 s as a dead kernel,
        which a loaded machine gives a just-started launcher now and then."""
        kc = BlockingKernelClient(connection_file=self.connection_file)
        kc.load_connection_file()
        kc.start_channels(hb=not ready)
        self.clients.append(kc)
        if ready:
            wait_for_ready(kc)
            kc.hb_channel.start()
        return kc

    def stderr_text(self):
        return Path(self.stderr_path).read_text(errors="replace")

    def wait(self, timeout=None):
        """The exit status, or None when the launcher is still running after TIMEOUT
        (the runtime's bound on ending at once by default)."""
        try:
            return self.proc.wait(timeout=self.exit_bound_s if timeout is None else timeout)
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
        for kernel in self.watched:
            for p in kernel.living():
                try:
                    os.kill(p.pid, 9)
                except ProcessLookupError:
                    pass
        for p in (self.connection_file, self.stderr_path):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass


def wait_until(predicate, timeout):
    """Poll PREDICATE every 20 ms until it is true or TIMEOUT passes; its last value."""
    return procs.wait_until(predicate, timeout, interval=0.02)


# ---- messages ----------------------------------------------------------------------------


def shell_reply(kc, msg_id, timeout=REPLY_TIMEOUT_S):
    """The shell reply to MSG_ID (other replies arriving first are an error)."""
    reply = kc.get_shell_msg(timeout=timeout)
    assert reply["parent_header"].get("msg_id") == msg_id, \
        f"reply to another request: {reply['msg_type']} for {reply['parent_header']}"
    return reply


def iopub_for(kc, msg_id, timeout=REPLY_TIMEOUT_S):
    """The iopub messages caused by request MSG_ID, up to and including its idle status."""
    return iopub_for_all(kc, [msg_id], timeout)[msg_id]


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
