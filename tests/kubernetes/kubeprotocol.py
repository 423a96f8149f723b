"""kubeprotocol: tests/protocol's helpers (protocol_helpers.py) for a kernel on the kubernetes
runtime, so that the protocol modules' own test functions run there unchanged
(test_protocol_modules_on_kubernetes.py gives them these helpers as their `h`).

Everything is protocol_helpers' but what a kernel's processes are: on the kubernetes runtime
they are the launcher, its janitor, and every process of the kernel pod it started (the
pod's PID namespace: tini, the shim, ipykernel, the JVM), found through the launcher's CurveZMQ
connections to the pod's address.  The runtime's leader is the pod's PID 1.  The launcher
keeps no private directory for this runtime (its files live in the pod): `private_dir` is a
path that never exists.  Ending a pod goes through the API (a delete, the grace period, the
watch that reports it), so the bound on "ends at once" is longer than a local process's.
"""

import os
import shutil
import tempfile
from pathlib import Path

import fakekube
import kubecluster
import podnet
import protocol_helpers
from k8s_schema import SPARK_K8S
from protocol_helpers import *  # noqa: F401,F403 — the same helpers, but for what follows
from protocol_helpers import KERNEL_NAME, REPLY_TIMEOUT_S, Proc, children, proc_stat, wait_until

# The kernelspec under test is installed from the matrix: its Spark version is the matrix's.
SPARK_VERSION = next(s["version"] for s in kubecluster.fakeimages.matrix()["spark"] if s["line"] == "4.1")
# protocol_helpers' own kernelspecs (make_kernelspec) name that version too (tests/protocol on
# main reads it from the matrix as well).
protocol_helpers.SPARK_VERSION = SPARK_VERSION
# Where the fake keeps its state (not under the pods' /tmp emptyDir).
FAKE_STATE_PARENT = "/var/tmp"
KERNEL_OBJECT_KINDS = ("pods", "secrets", "services", "configmaps")

EXIT_BOUND_S = 30.0
FAKE = None  # the module's FakeKube, set by its setup


def reused(func, module_name, *marks):
    """A copy of test function FUNC of a tests/protocol module for module MODULE_NAME: the
    same code, marks and globals, except that its helpers (`h`) are these."""
    import types
    globs = dict(func.__globals__, h=__import__(__name__))
    copy = types.FunctionType(func.__code__, globs, func.__name__, func.__defaults__,
                              func.__closure__)
    copy.__dict__.update(func.__dict__)
    copy.__dict__["pytestmark"] = list(getattr(func, "pytestmark", []))
    copy.__kwdefaults__ = func.__kwdefaults__
    copy.__doc__ = func.__doc__
    copy.__module__ = module_name
    copy.__qualname__ = func.__qualname__
    for mark in marks:
        copy = mark(copy)
    return copy


def module_setup():
    """A generator for a module-scoped `proto_setup` fixture: the Setup, with os.environ as
    its launchers need it for the module, and every check of the module's end."""
    s = Setup()
    foreign = s.foreign_settings()
    keys = [*s.env(), *foreign]
    saved = {k: os.environ.get(k) for k in keys}
    problems = []
    try:
        for k in foreign:
            del os.environ[k]
        os.environ.update(s.env())
        yield s
        problems = s.leftovers()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        survivors = s.close()
    if survivors:
        problems.append(f"pod processes survived the server's stop: {survivors}")
    assert problems == [], "; ".join(problems)


def pod_of_launcher(pid):
    """The fake's PodWorker whose pod the launcher PID is connected to, or None."""
    ips = set()
    sockets = podnet.tcp_sockets()
    for inode in podnet.socket_inodes(pid):
        if inode in sockets and sockets[inode][2] == podnet.ESTABLISHED:
            ips.add(sockets[inode][1][0])
    for w in FAKE.pod_workers():
        if w.pod_ip in ips and w.live_pids():
            return w
    return None


class KernelProcesses:
    """The launcher, its janitor, and the processes of its kernel pod."""

    def __init__(self, pid, expect_runtime=True, timeout=REPLY_TIMEOUT_S):
        self.launcher = Proc(pid)
        self.janitor = [Proc(c) for c in children(pid) if proc_stat(c) and proc_stat(c)[3] == c]
        self.worker = wait_until(lambda: pod_of_launcher(pid), timeout) if expect_runtime else None
        if expect_runtime:
            assert self.worker, f"launcher {pid} is connected to no pod"
        self.runtime = [Proc(p) for p in self.worker.live_pids() if proc_stat(p)] if self.worker else []
        self.private_dir = Path("/nonexistent/spark-k8s-pod-%s" % (self.worker.uid if self.worker else pid))

    def all(self):
        return [self.launcher, *self.runtime, *self.janitor]

    def runtime_leader(self):
        """PID 1 of the pod: the child of the exec helper, which waits outside its namespace."""
        leader = [p for p in self.runtime if proc_stat(p.pid) and proc_stat(p.pid)[1] == self.worker.pid]
        assert leader, f"no PID 1 in pod {self.worker.name}"
        return leader[0]

    def living(self):
        """Every live process of the kernel, those the pod started since included."""
        alive = [p for p in self.all() if p.alive()]
        known = {p.pid for p in alive}
        for pid in self.worker.live_pids() if self.worker else []:
            if pid not in known and proc_stat(pid):
                try:
                    alive.append(Proc(pid))
                except AssertionError:
                    pass  # ended just now
        return alive


class DirectLauncher(protocol_helpers.DirectLauncher):
    """protocol_helpers' DirectLauncher, whose processes are these KernelProcesses."""

    def processes(self, **kw):
        procs = KernelProcesses(self.pid, **kw)
        self.watched.append(procs)
        return procs


def assert_all_gone(procs, timeout=EXIT_BOUND_S):
    """The launcher, its janitor and every process of its pod end, and the pod is deleted."""
    wait_until(lambda: not procs.living(), timeout)
    assert procs.living() == [], f"processes left behind: {procs.living()}"
    if procs.worker:
        FAKE.wait_gone("pods", procs.worker.name, timeout=timeout)



class Setup:
    """A fake API server, a `runtime: kubernetes` kernelspec and the private dirs of a
    test module; the interface of protocol_helpers.Setup (spec_dir, launcher, env() ...)."""

    def __init__(self):
        # the pods share the host's files (not /tmp: theirs is an emptyDir): a cell (uid 185)
        # may write its flag files here
        self.base = Path(tempfile.mkdtemp(prefix="sk8s-", dir=FAKE_STATE_PARENT))
        os.chmod(self.base, 0o777)
        self.runtime_base = self.base / "rt"
        self.jupyter_runtime = self.base / "jrt"
        self.runtime_base.mkdir(mode=0o700)
        self.jupyter_runtime.mkdir(mode=0o700)
        self.admin_config = self.base / "config.json"
        self.admin_config.write_text("{}\n")
        self.state_dir = tempfile.mkdtemp(prefix="fakekube-", dir=FAKE_STATE_PARENT)
        self.fake = fakekube.FakeKube(self.state_dir, **kubecluster.fake_options(self.state_dir))
        self.fake.start()
        # RBAC applied with kubectl; the launcher runs as spark-k8s, the pod from the image
        self.cluster = kubecluster.Cluster(self.fake, self.base / "cluster")
        self.cluster.install("4.1", "baseline", "--driver-memory", "512m")
        self.jupyter_path = self.cluster.prefix / "share" / "jupyter"
        self.spec_dir = self.jupyter_path / "kernels" / KERNEL_NAME
        assert (self.spec_dir / "kernel.json").is_file()
        self.launcher = str(SPARK_K8S)
        self.installed = True
        global FAKE
        FAKE = self.fake

    def env(self):
        """The environment variables a launcher of this module runs with."""
        return {
            "JUPYTER_PATH": str(self.jupyter_path),
            "JUPYTER_RUNTIME_DIR": str(self.jupyter_runtime),
            "XDG_RUNTIME_DIR": str(self.runtime_base),
            "IPYTHONDIR": str(self.base / "ipython"),
            "SPARK_K8S_CONFIG": str(self.admin_config),
            "KUBECONFIG": self.cluster.kubeconfig,
            "USER": "jane",
        }

    @staticmethod
    def foreign_settings():
        """Variables of the caller that would change the kernel under test: other
        SPARK_K8S_* settings, and an in-cluster configuration or pod identity."""
        keep = {"SPARK_K8S_PREFIX", "SPARK_K8S_BUILD", "SPARK_K8S_CONFIG"}
        names = [k for k in os.environ if k.startswith("SPARK_K8S_") and k not in keep]
        return names + [k for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
                                    "POD_NAME", "JUPYTERHUB_USER") if k in os.environ]

    def private_dirs(self):
        return sorted(p.name for p in self.runtime_base.glob("spark-k8s-*"))

    def leftovers(self):
        """Problems at the module's end: objects, processes, files."""
        problems = []
        try:
            self.fake.wait_no_leftovers(timeout=30)
        except AssertionError as e:
            problems.append(str(e))
        objects = [f"{kind}/{o['metadata']['name']}" for kind in KERNEL_OBJECT_KINDS
                   for o in self.fake.objects(kind)
                   if (kind, o["metadata"]["name"]) not in fakekube.SYSTEM_NAMES]
        if objects:
            problems.append(f"objects left in the fake: {objects}")
        for w in self.fake.pod_workers():
            w.join(self.fake.max_grace_seconds + 10)
            if w.live_pids():
                problems.append(f"pod {w.name} still runs processes {w.live_pids()}")
        dirs = sorted(p.name for p in self.runtime_base.glob("spark-k8s-*"))
        if dirs:
            problems.append(f"launchers left private directories behind: {dirs}")
        files = sorted(p.name for p in self.jupyter_runtime.iterdir())
        if files:
            problems.append(f"connection files left behind: {files}")
        return problems

    def close(self):
        self.fake.stop()
        survivors = self.fake.pod_processes()
        if survivors:
            self.fake.kill_pod_processes()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        shutil.rmtree(self.base, ignore_errors=True)
        return survivors
