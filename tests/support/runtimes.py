"""support.runtimes — where a protocol test's kernels run: the runtimes the protocol suites
are parametrised by (tests/protocol/conftest.py). Each is a Setup for one test module: the
kernelspec under test, the private folders its launchers and jupyter_client write into
(checked empty at the module's end), the environment its launchers run with, and what a
kernel's processes are.

  local       the installed spark-4.1-baseline kernelspec (SPARK_K8S_PREFIX, `make pytest`),
              else a temporary one running build/spark-k8s; a kernel's processes are the
              launcher, its runtime child (and its descendants), its janitor and its
              private folder of ipc sockets
  kubernetes  a fake API server (tests/fakekube) set up as the admin guide says
              (support/cluster.py) and a `runtime: kubernetes` spark-4.1-baseline
              kernelspec; a kernel's processes are the launcher, its janitor and every
              process of the kernel pod it started (found through the launcher's CurveZMQ
              connections to the pod's address). Ending a pod goes through the API (a
              delete, the grace period, the watch that reports it), so the bound on "ends
              at once" is longer than a local process's.

Only the local runtime is imported where the fake's dependencies are missing (Debian's
Python runs tests/protocol with -m "not kubernetes").
"""
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from support.paths import BUILD
from support.procs import Proc, children, descendants, proc_stat
from support.protocol import KERNEL_NAME, REPLY_TIMEOUT_S, make_kernelspec, wait_until

RUNTIMES = ("local", "kubernetes")


def open_setup(runtime):
    """A Setup of RUNTIME for one test module."""
    if runtime == "local":
        return LocalSetup()
    if runtime == "kubernetes":
        return KubernetesSetup()
    raise ValueError(f"no runtime {runtime!r} (known: {', '.join(RUNTIMES)})")


def module_setup(runtime):
    """A generator for a module-scoped fixture: the Setup of RUNTIME, with os.environ as its
    launchers need it for the module, and every check of the module's end (nothing left:
    private folders, connection files, objects in the fake, processes)."""
    s = open_setup(runtime)
    foreign = s.foreign_settings()
    saved = {k: os.environ.get(k) for k in [*s.env(), *foreign]}
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
        problems.append(f"processes survived the module's end: {survivors}")
    assert problems == [], "; ".join(problems)


class BaseSetup:
    """Private folders of one test module: BASE, XDG_RUNTIME_DIR of the launchers,
    jupyter_client's connection files, an empty admin config (no /etc/spark-k8s/config.json
    and no SPARK_K8S_* variable of the caller changes what runs)."""

    runtime = None
    exit_bound_s = None

    def __init__(self, base):
        self.base = base
        self.runtime_base = self.base / "rt"        # XDG_RUNTIME_DIR of the launchers
        self.jupyter_runtime = self.base / "jrt"    # connection files written by jupyter_client
        self.runtime_base.mkdir(mode=0o700)
        self.jupyter_runtime.mkdir(mode=0o700)
        self.admin_config = self.base / "config.json"
        self.admin_config.write_text("{}\n")

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

    def leftovers(self):
        """Problems at the module's end: files the launchers and jupyter_client left."""
        problems = []
        dirs = self.private_dirs()
        if dirs:
            problems.append(f"launchers left private directories behind: {dirs}")
        files = sorted(p.name for p in self.jupyter_runtime.iterdir())
        if files:
            problems.append(f"connection files left behind: {files}")
        return problems


# ---- local ---------------------------------------------------------------------------------


class LocalSetup(BaseSetup):
    """The kernelspec under test on the local runtime: installed (SPARK_K8S_PREFIX), or a
    temporary one pointing at build/spark-k8s."""

    runtime = "local"
    # the bounds: 1 s for a dead runtime, 2 s for SIGTERM; generous for a loaded
    # 2-core machine, far below anything that would hide a hang
    exit_bound_s = 5.0

    def __init__(self):
        super().__init__(Path(tempfile.mkdtemp(prefix="sk8s-")))  # short: ipc paths max 107 bytes
        prefix = os.environ.get("SPARK_K8S_PREFIX", "")
        installed = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME if prefix else None
        if installed is not None and (installed / "kernel.json").is_file():
            self.installed = True
            self.jupyter_path = Path(prefix) / "share" / "jupyter"
            self.spec_dir = installed
            self.launcher = json.loads((installed / "kernel.json").read_text())["argv"][0]
        else:
            self.launcher = str((BUILD / "spark-k8s").resolve())
            if not os.access(self.launcher, os.X_OK):
                shutil.rmtree(self.base)
                raise RuntimeError(f"{self.launcher} is missing: run `make build/spark-k8s` first")
            self.installed = False
            self.jupyter_path = self.base / "jupyter"
            self.spec_dir = make_kernelspec(self.jupyter_path / "kernels", KERNEL_NAME, self.launcher)

    def processes(self, pid, **kw):
        return LocalKernel(pid, exit_bound_s=self.exit_bound_s, **kw)

    def close(self):
        shutil.rmtree(self.base, ignore_errors=True)
        return []


class LocalKernel:
    """The launcher PID, its runtime (and the runtime's descendants), its janitor, and the
    private directory named in the runtime's command line."""

    def __init__(self, pid, expect_runtime=True, timeout=REPLY_TIMEOUT_S, exit_bound_s=5.0):
        self.launcher = Proc(pid)
        self.exit_bound_s = exit_bound_s
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

    def assert_all_gone(self, timeout=None):
        """Every process of the kernel ends and its private directory is removed in time."""
        timeout = self.exit_bound_s if timeout is None else timeout
        wait_until(lambda: not self.living() and not self.private_dir.exists(), timeout)
        assert self.living() == [], f"processes left behind: {self.living()}"
        assert not self.private_dir.exists(), \
            f"private directory left behind: {self.private_dir} ({list(self.private_dir.iterdir())})"


# ---- kubernetes ----------------------------------------------------------------------------

# Where the fake keeps its state and the module its files: not under /tmp, which is an
# emptyDir in the pods (a cell, uid 185, writes its flag files here).
FAKE_STATE_PARENT = "/var/tmp"
KERNEL_OBJECT_KINDS = ("pods", "secrets", "services", "configmaps")


class KubernetesSetup(BaseSetup):
    """A fake API server, a `runtime: kubernetes` spark-4.1-baseline kernelspec installed
    the way the admin guide says, and the private folders of a test module."""

    runtime = "kubernetes"
    exit_bound_s = 30.0

    def __init__(self):
        import fakekube
        from support import cluster

        base = Path(tempfile.mkdtemp(prefix="sk8s-", dir=FAKE_STATE_PARENT))
        os.chmod(base, 0o777)
        super().__init__(base)
        self.state_dir = tempfile.mkdtemp(prefix="fakekube-", dir=FAKE_STATE_PARENT)
        self.fake = fakekube.FakeKube(self.state_dir, **cluster.fake_options(self.state_dir))
        self.fake.start()
        # RBAC applied with kubectl; the launcher runs as spark-k8s, the pod from the image
        self.cluster = cluster.Cluster(self.fake, self.base / "cluster")
        self.cluster.install("4.1", "baseline", "--driver-memory", "512m")
        self.jupyter_path = self.cluster.prefix / "share" / "jupyter"
        self.spec_dir = self.jupyter_path / "kernels" / KERNEL_NAME
        assert (self.spec_dir / "kernel.json").is_file()
        self.launcher = str(cluster.SPARK_K8S)
        self.installed = True

    def env(self):
        return {**super().env(), "KUBECONFIG": self.cluster.kubeconfig, "USER": "jane"}

    @staticmethod
    def foreign_settings():
        """As the local runtime's, and an in-cluster configuration or pod identity."""
        return BaseSetup.foreign_settings() + [
            k for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAME",
                        "JUPYTERHUB_USER") if k in os.environ]

    def processes(self, pid, **kw):
        return PodKernel(self.fake, pid, exit_bound_s=self.exit_bound_s, **kw)

    def leftovers(self):
        """Problems at the module's end: objects, processes, files."""
        import fakekube

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
        return problems + super().leftovers()

    def close(self):
        """Stop the fake; the pod processes that outlived it (killed now)."""
        self.fake.stop()
        survivors = self.fake.pod_processes()
        if survivors:
            self.fake.kill_pod_processes()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        shutil.rmtree(self.base, ignore_errors=True)
        return [f"pod process {pid}" for pid in survivors]


def pod_of_launcher(fake, pid):
    """The fake's PodWorker whose pod the launcher PID is connected to, or None."""
    from fakekube import podnet

    ips = set()
    sockets = podnet.tcp_sockets()
    for inode in podnet.socket_inodes(pid):
        if inode in sockets and sockets[inode][2] == podnet.ESTABLISHED:
            ips.add(sockets[inode][1][0])
    for w in fake.pod_workers():
        if w.pod_ip in ips and w.live_pids():
            return w
    return None


class PodKernel:
    """The launcher PID, its janitor, and the processes of the kernel pod it started. The
    launcher keeps no private directory for this runtime (its files live in the pod):
    `private_dir` is a path that never exists."""

    def __init__(self, fake, pid, expect_runtime=True, timeout=REPLY_TIMEOUT_S, exit_bound_s=30.0):
        self.fake = fake
        self.exit_bound_s = exit_bound_s
        self.launcher = Proc(pid)
        self.janitor = [Proc(c) for c in children(pid) if proc_stat(c) and proc_stat(c)[3] == c]
        self.worker = wait_until(lambda: pod_of_launcher(fake, pid), timeout) if expect_runtime else None
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

    def assert_all_gone(self, timeout=None):
        """The launcher, its janitor and every process of its pod end, and the pod is deleted."""
        timeout = self.exit_bound_s if timeout is None else timeout
        wait_until(lambda: not self.living(), timeout)
        assert self.living() == [], f"processes left behind: {self.living()}"
        if self.worker:
            self.fake.wait_gone("pods", self.worker.name, timeout=timeout)
