#!/usr/bin/python3
"""fault_rounds.py — every way a kernel ends, N rounds per runtime, counting what is left.

    fault_rounds.py [--runtime local|kubernetes|both] [--rounds N] [--ways a,b,...]

Each round starts a kernel through jupyter_client (the installed kernelspec of
$SPARK_K8S_PREFIX; for kubernetes, a fake API server whose pods are local processes,
tests/fakekube), runs a cell, ends the kernel one way, and then counts
what is left once the kernel had its time to go (a bound, not a timing assertion):

  processes     the launcher, its janitor, the runtime and every descendant (pids
                recognised by start time), and for kubernetes every pod process
  files         the launcher's private directory (XDG_RUNTIME_DIR/spark-k8s-*), the
                connection file, and the fake's pod directories' processes
  sockets       the five TCP ports of the connection file still bound by anyone, and
                ipc socket files in the private directory
  API objects   for kubernetes: Pods, Secrets, Services, ConfigMaps the kernel made

The ways (a round takes the next one in turn):
  shutdown          shutdown_request from the client
  restart           a restart (shutdown_request restart=true, then a new launcher), then shutdown
  interrupt         interrupt a running cell, then shutdown
  launcher-sigterm  SIGTERM to the launcher
  launcher-sigkill  SIGKILL to the launcher (its janitor, or the shim's watchdog, cleans up)
  runtime-sigterm   SIGTERM to the runtime (the kernel process, or the pod's PID 1)
  runtime-sigkill   SIGKILL to the runtime

Prints one line per round and a table per runtime; exit status 0 when nothing was left
by any round, 1 otherwise. `make fault-rounds` runs 100 rounds per runtime;
`make fault-rounds-short` (part of `make test`) one round of each way per runtime.
"""
import argparse
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# a script, not a pytest module: the packages of tests/ (support, fakekube) as pytest.ini
# puts them on sys.path
sys.path.insert(0, str(HERE.parent))

from jupyter_client import KernelManager  # noqa: E402

from support import protocol as h  # noqa: E402
from support.procs import Proc, children, descendants, proc_stat  # noqa: E402

WAYS = ["shutdown", "restart", "interrupt", "launcher-sigterm", "launcher-sigkill",
        "runtime-sigterm", "runtime-sigkill"]
GONE_S = 30          # how long a kernel may take to leave nothing (a bound for a loaded machine)
WATCHDOG_S = 2       # the shim's watchdog in the kubernetes rounds
KERNEL = "spark-4.1-baseline"


def alive(proc):
    return proc.alive()


def descendants_of(pid):
    return [Proc(d) for d in descendants(pid) if proc_stat(d)]


def port_bound(port):
    """True when something still listens on 127.0.0.1:PORT (we cannot bind it)."""
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


class Env:
    """Private directories and the environment kernels of one runtime run in."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.base = Path(tempfile.mkdtemp(prefix="faults-", dir="/var/tmp"))
        self.rt = self.base / "rt"
        self.jrt = self.base / "jrt"
        self.rt.mkdir(mode=0o700)
        self.jrt.mkdir(mode=0o700)
        prefix = os.environ.get("SPARK_K8S_PREFIX")
        if not prefix:
            raise SystemExit("fault_rounds.py: SPARK_K8S_PREFIX (an installed prefix) is required")
        self.launcher = str(Path(prefix) / "bin" / "spark-k8s")
        self.fake = None
        admin = self.base / "admin.json"
        admin.write_text("{}")
        self.env = {"JUPYTER_RUNTIME_DIR": str(self.jrt), "XDG_RUNTIME_DIR": str(self.rt),
                    "IPYTHONDIR": str(self.base / "ipython"), "SPARK_K8S_CONFIG": str(admin)}
        if runtime == "local":
            self.env["JUPYTER_PATH"] = str(Path(prefix) / "share" / "jupyter")
            return
        import fakekube
        from support import cluster as kubecluster
        # a cluster as the admin guide sets one up: the matrix's images, RBAC applied with
        # kubectl, the launcher running as the spark-k8s service account
        images = self.base / "images"  # what the fake images' files are made of
        images.mkdir()
        self.fake = fakekube.FakeKube(str(self.base / "fake"), **kubecluster.fake_options(str(images)))
        self.fake.start()
        cluster = kubecluster.Cluster(self.fake, self.base / "cluster")
        cluster.install("4.1", "baseline", "--driver-memory", "512m")
        self.env.update(cluster.launcher_env())
        self.env.update({"SPARK_K8S_CONFIG": str(admin), "SPARK_K8S_WATCHDOG": str(WATCHDOG_S)})

    def apply(self):
        for k in [k for k in os.environ if k.startswith("SPARK_K8S_") and
                  k not in ("SPARK_K8S_PREFIX", "SPARK_K8S_BUILD")]:
            del os.environ[k]
        for k in ("KUBERNETES_SERVICE_HOST", "SPARK_K8S_SA_DIR", "JUPYTERHUB_USER"):
            os.environ.pop(k, None)
        os.environ.update(self.env)

    def close(self):
        if self.fake:
            self.fake.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class Round:
    def __init__(self, env, way):
        self.env, self.way = env, way
        self.km = KernelManager(kernel_name=KERNEL)
        fd, self.km.connection_file = tempfile.mkstemp(prefix="kernel-", suffix=".json",
                                                       dir=env.jrt)
        os.close(fd)
        self.log = open(env.base / "launcher.log", "ab")
        self.km.start_kernel(stderr=self.log)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.seen = []   # every process of this kernel seen
        self.ports = []

    def look(self):
        """Record the kernel's processes and ports as they are now."""
        pid = h.launcher_pid(self.km)
        if proc_stat(pid):
            self.seen.append(Proc(pid))
            self.seen += descendants_of(pid)
        if self.env.fake:
            self.seen += [Proc(p) for p in self.env.fake.pod_processes() if proc_stat(p)]
        info = self.km.get_connection_info()
        self.ports = [info[c + "_port"] for c in ("shell", "iopub", "stdin", "control", "hb")]

    def runtime(self):
        """The runtime's lead process: the kernel child (local) or the pod's first process."""
        if self.env.fake:
            # the container's first process, PID 1 of the pod's PID namespace (tini), as
            # a kubelet stopping the container signals it; not the fake's own helper
            pids = self.env.fake.pod_processes()
            for pid in sorted(pids):
                try:
                    with open("/proc/%d/status" % pid) as f:
                        ns = next((ln.split()[1:] for ln in f if ln.startswith("NSpid:")), [])
                except OSError:
                    continue
                if len(ns) > 1 and ns[-1] == "1":
                    return pid
            return min(pids) if pids else None
        kids = [c for c in children(h.launcher_pid(self.km))
                if proc_stat(c) and proc_stat(c)[3] != c]  # not the janitor (own session)
        return kids[0] if kids else None

    def run(self):
        h.wait_for_ready(self.kc, timeout=120)
        reply, _ = h.execute(self.kc, "x = 6 * 7", timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
        self.look()
        way = self.way
        if way == "shutdown":
            self.km.shutdown_kernel(now=False)
        elif way == "restart":
            self.km.restart_kernel(now=False)
            h.wait_for_ready(self.kc, timeout=120)
            self.look()
            self.km.shutdown_kernel(now=False)
        elif way == "interrupt":
            msg_id = self.kc.execute("import time; time.sleep(60)")
            time.sleep(0.5)
            self.km.interrupt_kernel()
            h.shell_reply(self.kc, msg_id, timeout=60)
            self.km.shutdown_kernel(now=False)
        elif way.startswith("launcher-"):
            sig = signal.SIGKILL if way.endswith("sigkill") else signal.SIGTERM
            os.kill(h.launcher_pid(self.km), sig)
        elif way.startswith("runtime-"):
            sig = signal.SIGKILL if way.endswith("sigkill") else signal.SIGTERM
            pid = self.runtime()
            assert pid, "no runtime process found"
            os.kill(pid, sig)
        self.kc.stop_channels()

    def leftovers(self):
        """What is left once the kernel had GONE_S to go: {kind: [items]}."""
        fake = self.env.fake

        def count():
            out = {
                "processes": [p for p in self.seen if alive(p)],
                "files": sorted(str(p) for p in self.env.rt.glob("spark-k8s-*")),
                "sockets": [p for p in self.ports if port_bound(p)],
                "objects": fake.leftovers() if fake else [],
            }
            if fake:
                out["processes"] += [p for p in fake.pod_processes()]
            return out

        deadline = time.monotonic() + GONE_S
        while True:
            left = count()
            if not any(left.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        # The connection file is Jupyter's; the kernel manager removes it on cleanup.
        self.km.cleanup_resources()
        if os.path.exists(self.km.connection_file):
            left["files"].append(self.km.connection_file)
        return left

    def clean(self):
        """Whatever a failed round left must not spoil the next one."""
        for p in self.seen:
            if alive(p):
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.env.fake:
            self.env.fake.kill_pod_processes()
        for d in self.env.rt.glob("spark-k8s-*"):
            shutil.rmtree(d, ignore_errors=True)
        self.log.close()


def run_rounds(runtime, rounds, ways):
    env = Env(runtime)
    env.apply()
    totals = {way: {"rounds": 0, "processes": 0, "files": 0, "sockets": 0, "objects": 0,
                    "failed": 0} for way in ways}
    try:
        for i in range(rounds):
            way = ways[i % len(ways)]
            start = time.monotonic()
            r = None
            try:
                r = Round(env, way)
                r.run()
                left = r.leftovers()
                error = ""
            except Exception as e:  # a round that cannot run is counted, never hidden
                left = {"processes": [], "files": [], "sockets": [], "objects": []}
                error = "%s: %s" % (type(e).__name__, e)
            finally:
                if r is not None:
                    r.clean()
            t = totals[way]
            t["rounds"] += 1
            t["failed"] += bool(error)
            for k in ("processes", "files", "sockets", "objects"):
                t[k] += len(left[k])
            what = ", ".join("%d %s" % (len(v), k) for k, v in left.items() if v) or "nothing left"
            print("%-10s round %3d %-17s %5.1f s  %s%s" % (
                runtime, i + 1, way, time.monotonic() - start, what,
                ("  FAILED: " + error) if error else ""), flush=True)
            for k, v in left.items():
                for item in v:
                    print("    left: %s %s" % (k, item), flush=True)
    finally:
        env.close()
    return totals


def report(runtime, totals):
    print("\n%s runtime" % runtime)
    print("  %-17s %6s %9s %6s %7s %7s %6s" % ("way", "rounds", "processes", "files", "sockets",
                                               "objects", "failed"))
    clean = True
    for way, t in totals.items():
        print("  %-17s %6d %9d %6d %7d %7d %6d" % (way, t["rounds"], t["processes"], t["files"],
                                                  t["sockets"], t["objects"], t["failed"]))
        clean &= not (t["processes"] or t["files"] or t["sockets"] or t["objects"] or t["failed"])
    return clean


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runtime", choices=["local", "kubernetes", "both"], default="both")
    ap.add_argument("--rounds", type=int, default=len(WAYS))
    ap.add_argument("--ways", default=",".join(WAYS))
    args = ap.parse_args()
    ways = args.ways.split(",")
    for w in ways:
        if w not in WAYS:
            ap.error("unknown way %r (one of %s)" % (w, ", ".join(WAYS)))
    runtimes = ["local", "kubernetes"] if args.runtime == "both" else [args.runtime]
    clean = True
    for runtime in runtimes:
        clean &= report(runtime, run_rounds(runtime, args.rounds, ways))
    print("\n%s" % ("nothing was left by any round" if clean else "SOMETHING WAS LEFT (see above)"))
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
