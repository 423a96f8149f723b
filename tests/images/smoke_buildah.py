"""smoke_buildah.py — runs images built with buildah (no Docker engine) the way a
container runtime would, from their own configuration (entrypoint, command, user,
health check), in a private network namespace so that port 8888 is the image's
alone, and checks what `make images-test` promises:

  runtime image  Spark's executor backend starts as Spark on Kubernetes starts it
                 (/opt/entrypoint.sh executor with the pod's environment) and, with
                 no driver to reach, fails with Spark's own message, not a missing
                 file or class; that executor's own class path (the JVM's
                 java.class.path, -XshowSettings) holds the variant's jars, each with
                 the matrix's sha256, and a baseline image has none;
                 spark-k8s-gpu-discovery exits 0 with no addresses;
                 spark-submit, Java, Python and tini are the matrix's.
  Jupyter image  JupyterLab serves on 8888 as uid 185 and its HEALTHCHECK passes;
                 the image's kernelspec is listed (CLI and REST); `spark-k8s shim
                 --help` runs; a Spark kernel started through the server's REST API
                 answers spark.range(10**6).selectExpr("sum(id)").collect() over the
                 websocket with 499999500000 (local mode, in the image).
  per variant    (tests/lakehouse/cells.py, the cells the variant tests run) an
                 iceberg kernel creates, writes, changes, time-travels and drops an
                 Iceberg table in its default catalog (hadoop, in the notebook folder);
                 a gpu kernel starts with the RAPIDS plugin and, in RAPIDS' explain-only
                 mode (no GPU here: SPARK_K8S_RAPIDS_MODE in JupyterLab's environment),
                 shows which operators of a query would run on the GPU; gpu-iceberg both,
                 and RAPIDS' verdict on an Iceberg scan.

Usage (as root, buildah's storage and isolation from the environment, e.g.
CONTAINERS_STORAGE_CONF and BUILDAH_ISOLATION=chroot):
  smoke_buildah.py --runtime REF --jupyter REF --spark-version 4.1.3 --line 4.1 --variant baseline
Prints one line per check; exits 0 when all pass, 1 otherwise.
"""
import argparse
import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import psutil
import websocket

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lakehouse import cells  # noqa: E402  (the cells the variant tests run)

CLONE_NEWNET = 0x40000000
PORT = 8888
# Deadlines, not timings: the machine may be shared and slow.
SERVER_DEADLINE = 300
KERNEL_DEADLINE = 600
EXECUTOR_DEADLINE = 300

failures = []


def check(ok, what, detail=""):
    print("%s: %s%s" % ("ok" if ok else "FAIL", what, (" (%s)" % detail) if detail and not ok else ""),
          flush=True)
    if not ok:
        failures.append(what)
    return ok


def private_network():
    """This process (and what it starts) gets a network namespace of its own, with lo up."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise SystemExit("smoke: unshare(CLONE_NEWNET): %s (run as root)" % os.strerror(ctypes.get_errno()))
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def buildah(*args, timeout=120, env=None):
    return subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=timeout, env=env)


def image_config(ref):
    r = buildah("inspect", "--type", "image", ref)
    if r.returncode != 0:
        raise SystemExit("smoke: %s is not built here: %s" % (ref, r.stderr.strip()))
    return json.loads(r.stdout)["Docker"]["config"]


class Container:
    """A working container of an image, run as a container runtime would: its own
    hostname, resolvable through its /etc/hosts (Docker and Kubernetes write one; buildah
    on the host network does not add the name); removed on exit."""

    def __init__(self, ref):
        self.hostname = "smoke-" + uuid.uuid4().hex[:12]
        self.tmp = tempfile.TemporaryDirectory(prefix="spark-k8s-smoke-")
        self.hosts = os.path.join(self.tmp.name, "hosts")
        with open(self.hosts, "w", encoding="utf-8") as f:
            f.write("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                    "127.0.0.1\t%s\n" % self.hostname)
        r = buildah("from", "--pull=never", "--name", self.hostname, ref)
        if r.returncode != 0:
            self.tmp.cleanup()
            raise SystemExit("smoke: buildah from %s: %s" % (ref, r.stderr.strip()))
        self.name = r.stdout.strip().splitlines()[-1]

    def argv(self, argv, env):
        opts = ["--network", "host", "--hostname", self.hostname, "--no-hosts",
                "--volume", self.hosts + ":/etc/hosts:ro"]
        for kv in env:
            opts += ["--env", kv]
        return ["buildah", "run", *opts, self.name, "--", *argv]

    def run(self, argv, env=(), timeout=120):
        return subprocess.run(self.argv(argv, env), capture_output=True, text=True, timeout=timeout)

    def start(self, argv, env=()):
        return subprocess.Popen(self.argv(argv, env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)

    @staticmethod
    def processes(server):
        """pids of the processes that SERVER (a `buildah run`) runs in the container: its
        descendants whose root is not ours (buildah chroots them into the rootfs)."""
        children = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                children.setdefault(ppid, []).append(int(d))
        out, todo = [], [server.pid]
        while todo:
            for kid in children.get(todo.pop(), []):
                todo.append(kid)
                try:
                    if os.readlink("/proc/%d/root" % kid) != "/":
                        out.append(kid)
                except OSError:
                    pass
        return out

    def stop(self, server, grace=30):
        """Stop the command SERVER runs in this container as `docker stop` does: SIGTERM
        to the container's first process, SIGKILL after GRACE s (buildah run forwards no
        signal). The pids that were still running then (none, when the image stops well)."""
        pids = self.processes(server)

        def argv0(pid):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    return f.read().split(b"\0")[0].decode(errors="replace")
            except OSError:
                return ""

        # the walk meets the container's first process (tini) before its descendants;
        # buildah-chroot-exec, which execs nothing of ours, forwards no signal
        first = [p for p in pids if not argv0(p).startswith("buildah-chroot")][:1]

        def running(pid):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    return f.read().rsplit(")", 1)[1].split()[0] != "Z"
            except (OSError, IndexError):
                return False

        def alive():
            return [p for p in pids if running(p)]

        for pid in first:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = alive()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        return left if pids else ["no process of the container was found"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        buildah("rm", self.name)
        self.tmp.cleanup()


def dpkg_version(c, package):
    r = c.run(["dpkg-query", "-W", "-f", "${Version}", package])
    return r.stdout.strip() if r.returncode == 0 else None


# ---- the runtime image ----

def variant_jar_sums(matrix, line, variant):
    """sha256 -> what it is, of the jars the matrix gives LINE's VARIANT (RAPIDS: the
    default build, for this machine's architecture)."""
    spark = next(s for s in matrix["spark"] if s["line"] == line)
    want = {}
    if "iceberg" in variant.split("-"):
        want[spark["iceberg"]["sha256"]] = spark["iceberg"]["artifact"]
        want[spark["iceberg_aws_bundle"]["sha256"]] = spark["iceberg_aws_bundle"]["artifact"]
    if "gpu" in variant.split("-"):
        r = spark["rapids"]
        arch = os.uname().machine
        cuda = r["classifiers"][r["default_classifier"]]["cuda"]
        name, c = next((n, c) for n, c in r["classifiers"].items() if c["arch"] == arch and c["cuda"] == cuda)
        want[c["sha256"]] = "%s (%s)" % (r["artifact"], name)
    return want


def java_class_path(out):
    """The entries of java.class.path in what -XshowSettings:properties printed: the
    value, then one entry per more-indented line."""
    lines = out.splitlines()
    for i, ln in enumerate(lines):
        if ln.strip().startswith("java.class.path = "):
            entries = [ln.split(" = ", 1)[1].strip()]
            indent = len(ln) - len(ln.lstrip())
            for more in lines[i + 1:]:
                if len(more) - len(more.lstrip()) <= indent or not more.strip():
                    break
                entries.append(more.strip())
            return entries
    return []


def smoke_runtime(ref, spark_version, matrix, line, variant):
    print("== %s" % ref, flush=True)
    cfg = image_config(ref)
    check(cfg.get("Entrypoint") == ["/opt/entrypoint.sh"], "entrypoint is /opt/entrypoint.sh",
          cfg.get("Entrypoint"))
    check(cfg.get("User") == matrix["images"]["uid"], "runs as uid %s" % matrix["images"]["uid"],
          cfg.get("User"))
    with Container(ref) as c:
        pkgs = matrix["images"]["debian_packages"]
        for role in ("java17", "python", "tini"):
            want = pkgs[role]
            got = dpkg_version(c, want["name"])
            check(got == want["version"], "%s %s (the matrix's pin)" % (want["name"], want["version"]), got)

        r = c.run(["spark-submit", "--version"])
        check(r.returncode == 0 and ("version %s" % spark_version) in r.stdout + r.stderr,
              "spark-submit --version says %s" % spark_version, (r.stdout + r.stderr)[-300:])

        r = c.run(["spark-k8s-gpu-discovery"])
        try:
            found = json.loads(r.stdout)
        except ValueError:
            found = None
        check(r.returncode == 0 and found == {"name": "gpu", "addresses": []},
              "spark-k8s-gpu-discovery exits 0 with an empty address list", "%d %r" % (r.returncode, r.stdout))

        # As Spark's BasicExecutorFeatureStep starts an executor pod, with a driver URL
        # nobody answers (127.0.0.1:1 in this private network: refused at once).
        env = ["SPARK_DRIVER_URL=spark://CoarseGrainedScheduler@127.0.0.1:1",
               "SPARK_EXECUTOR_ID=1", "SPARK_EXECUTOR_CORES=1", "SPARK_EXECUTOR_MEMORY=512m",
               "SPARK_APPLICATION_ID=spark-smoke-0001", "SPARK_EXECUTOR_POD_IP=127.0.0.1",
               "SPARK_EXECUTOR_POD_NAME=smoke-exec-1", "SPARK_RESOURCE_PROFILE_ID=0",
               "SPARK_USER=spark", "SPARK_CONF_DIR=/opt/spark/conf",
               "SPARK_JAVA_OPT_0=-Dspark.driver.port=1",
               "SPARK_JAVA_OPT_1=-Dspark.network.timeout=10s",
               # the JVM prints its settings (java.class.path among them) and goes on
               "SPARK_JAVA_OPT_2=-XshowSettings:properties"]
        t0 = time.monotonic()
        r = c.run(["/opt/entrypoint.sh", "executor"], env=env, timeout=EXECUTOR_DEADLINE)
        out = r.stdout + r.stderr
        missing = [w for w in ("No such file or directory", "command not found", "ClassNotFoundException",
                               "NoClassDefFoundError", "Could not find or load main class") if w in out]
        check(r.returncode != 0, "the executor backend exits non-zero with no driver", "exit %d" % r.returncode)
        check("KubernetesExecutorBackend" in out or "CoarseGrainedExecutorBackend" in out,
              "Spark's executor backend ran (its class in the log)", out[-800:])
        check("Failed to connect to /127.0.0.1:1" in out and not missing,
              "it fails with Spark's own message (Failed to connect to the driver), not a missing "
              "file or class", "missing: %s; output tail: %s" % (missing, out[-800:]))
        print("   (executor attempt took %.0f s; Spark's last words: %s)" % (
            time.monotonic() - t0, spark_error_line(out)), flush=True)

        # the variant's jars: in the image with the matrix's sums, and on that executor's
        # own class path (the entrypoint's, as Spark on Kubernetes starts it)
        cp = java_class_path(out)
        check(any(e.endswith("/jars/spark-core_%s-%s.jar" % (next(
            s["scala"] for s in matrix["spark"] if s["line"] == line), spark_version)) for e in cp),
              "the executor's java.class.path holds Spark's jars", cp[:5])
        r = c.run(["sh", "-c", 'find "$SPARK_K8S_ENV/share/spark-k8s/jars" -type f -exec sha256sum {} +'])
        have = dict(ln.split(None, 1)[::-1] for ln in r.stdout.splitlines())  # path -> sum
        want = variant_jar_sums(matrix, line, variant)
        check(r.returncode == 0 and sorted(have.values()) == sorted(want),
              "the image holds the %s jars the matrix gives %s, with its sha256 (%s)"
              % (len(want), variant, ", ".join(sorted(want.values())) or "none"),
              "%d %s %s" % (r.returncode, have, r.stderr[-300:]))
        check(all(p in cp for p in have),
              "each is on the executor's own class path", "not there: %s" % [p for p in have if p not in cp])


def spark_error_line(out):
    for line in out.splitlines():
        if "Failed to connect" in line:
            return line.strip()[:200]
    return "?"


# ---- the Jupyter image ----

def http_json(method, path, token, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (PORT, path), data=data, method=method,
                                 headers={"Authorization": "token " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        text = resp.read().decode()
        return json.loads(text) if text else None


def descendants_named(pid, word):
    try:
        procs = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for p in procs:
        try:
            if any(word in part for part in p.cmdline()):
                out.append(p)
        except psutil.Error:
            pass
    return out


def execute(ws, code, deadline):
    """Run CODE on the kernel behind WS; (stdout text, execute_result text, error or None)."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "smoke",
                   "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    stdout, result, error, idle, replied = [], [], None, False, False
    while not (idle and replied):
        ws.settimeout(max(1.0, deadline - time.monotonic()))
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content.get("name") == "stdout":
            stdout.append(content["text"])
        elif kind == "execute_result":
            result.append(content["data"].get("text/plain", ""))
        elif kind == "error":
            error = "%s: %s" % (content.get("ename"), content.get("evalue"))
        elif kind == "status" and content.get("execution_state") == "idle":
            idle = True
        elif kind == "execute_reply":
            replied = True
            if content.get("status") != "ok" and not error:
                error = "%s: %s" % (content.get("ename"), content.get("evalue"))
        if time.monotonic() > deadline:
            raise TimeoutError("no answer to %r in time" % code)
    return "".join(stdout), "".join(result), error


def smoke_jupyter(ref, spark_version, matrix, line, variant):
    kernel = "spark-%s-%s" % (line, variant)
    print("== %s" % ref, flush=True)
    cfg = image_config(ref)
    uid = matrix["images"]["uid"]
    check(cfg.get("User") == uid, "runs as uid %s" % uid, cfg.get("User"))
    check("%d/tcp" % PORT in (cfg.get("ExposedPorts") or {}), "exposes %d" % PORT, cfg.get("ExposedPorts"))
    health = (cfg.get("Healthcheck") or {}).get("Test") or []
    if not check(health[:1] == ["CMD"] and len(health) > 1, "has a HEALTHCHECK (exec form)", health):
        return
    argv = (cfg.get("Entrypoint") or []) + (cfg.get("Cmd") or [])
    token = secrets.token_hex(16)
    with Container(ref) as c:
        r = c.run(["spark-k8s", "shim", "--help"])
        check(r.returncode == 0 and "shim" in r.stdout, "spark-k8s shim --help runs", (r.stdout + r.stderr)[-300:])
        r = c.run(["jupyter", "kernelspec", "list"])
        check(r.returncode == 0 and kernel in r.stdout, "jupyter kernelspec list shows %s" % kernel,
              (r.stdout + r.stderr)[-300:])

        env = ["JUPYTER_TOKEN=" + token]
        if "gpu" in variant.split("-"):
            env.append("SPARK_K8S_RAPIDS_MODE=explainOnly")  # no GPU on this machine
        server = c.start(argv, env=env)
        try:
            run_server_checks(c, server, health[1:], token, kernel, spark_version, uid, variant)
        finally:
            left = c.stop(server)
            check(not left, "stopped with SIGTERM to its first process (tini), nothing of it is left",
                  "still running after 30 s: %s" % left)
            log = server.stdout.read() if server.stdout else ""
            if failures:
                print("--- server log (tail) ---\n%s" % log[-3000:], flush=True)


def run_server_checks(c, server, health, token, kernel, spark_version, uid, variant):
    deadline = time.monotonic() + SERVER_DEADLINE
    healthy = False
    while time.monotonic() < deadline and server.poll() is None:
        if c.run(health, timeout=30).returncode == 0:
            healthy = True
            break
        time.sleep(2)
    if not check(healthy, "the HEALTHCHECK passes (JupyterLab answers on 127.0.0.1:%d/api)" % PORT,
                 "server exit %s" % server.poll()):
        return
    labs = descendants_named(server.pid, "jupyter")
    uids = sorted({p.uids().real for p in labs})
    check(labs and uids == [int(uid)], "JupyterLab runs as uid %s" % uid, uids)

    answer = http_json("GET", "/api/kernelspecs", token)
    specs = answer["kernelspecs"]
    if not check(kernel in specs, "GET /api/kernelspecs lists %s" % kernel, sorted(specs)):
        return
    check(sorted(specs) == [kernel], "and nothing else (not the Jupyter environment's own python3)",
          sorted(specs))
    check(answer.get("default") == kernel, "%s is the default kernel" % kernel, answer.get("default"))
    lab = urllib.request.urlopen("http://127.0.0.1:%d/lab?token=%s" % (PORT, token), timeout=30)
    check(lab.status == 200 and b"JupyterLab" in lab.read(), "GET /lab serves JupyterLab")

    k = http_json("POST", "/api/kernels", token, {"name": kernel})
    deadline = time.monotonic() + KERNEL_DEADLINE
    ws = websocket.create_connection("ws://127.0.0.1:%d/api/kernels/%s/channels?token=%s"
                                     % (PORT, k["id"], token), timeout=60)
    try:
        out, _, err = execute(ws, "import os, sys; print(os.getuid(), sys.executable)", deadline)
        check(err is None and out.split()[:1] == [uid], "the kernel runs as uid %s" % uid, out or err)
        check(err is None and "/usr/local/lib/spark-k8s/envs/spark-" in out,
              "the kernel runs the image's kernel environment", out or err)
        t0 = time.monotonic()
        out, result, err = execute(ws, 'r = spark.range(10**6).selectExpr("sum(id)").collect()\n'
                                       'print(r[0][0])\nr', deadline)
        check(err is None and out.strip() == "499999500000" and "499999500000" in result,
              'spark.range(10**6).selectExpr("sum(id)").collect() answers 499999500000',
              "stdout %r result %r error %r" % (out, result, err))
        print("   (first query, JVM start included: %.0f s)" % (time.monotonic() - t0), flush=True)
        out, _, err = execute(ws, "print(spark.version, spark.conf.get('spark.master'))", deadline)
        check(err is None and out.split()[:1] == [spark_version] and "local" in out,
              "Spark %s in local mode" % spark_version, out or err)
        spark_ui_check(ws, token, deadline)
        variant_checks(ws, variant, deadline)
    finally:
        ws.close()
        try:
            http_json("DELETE", "/api/kernels/" + k["id"], token)
        except urllib.error.URLError:
            pass


def spark_ui_check(ws, token, deadline):
    """The kernel's Spark UI through JupyterLab's own address (the image's server
    extension, spark_k8s_ui): the link the kernel gives, and Spark's jobs page there."""
    out, _, err = execute(ws, "print(spark_k8s.ui_url)", deadline)
    path = out.strip()
    if not check(err is None and path.startswith("/spark-k8s/ui/") and path.endswith("/"),
                 "the kernel's Spark UI link is JupyterLab's /spark-k8s/ui/<kernel>/", out or err):
        return
    req = urllib.request.Request("http://127.0.0.1:%d%sjobs/" % (PORT, path),
                                 headers={"Authorization": "token " + token})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read().decode("utf-8", "replace")
            ok = resp.status == 200 and "Spark Jobs" in body and (path + "static/") in body
    except urllib.error.URLError as e:
        ok, body = False, str(e)
    check(ok, "JupyterLab serves the Spark UI's jobs page there, its links below it", body[-300:])


def cell_result(ws, code, name, deadline):
    """Run a cell of cells.py; the dict it printed, or the error it raised."""
    out, _, err = execute(ws, code, deadline)
    if err:
        raise AssertionError("the cell failed: %s; it printed %s" % (err, out[-1500:]))
    return cells.result(out, name)


def passes(what, checker, *args):
    """CHECKER(*ARGS) (an assertion of cells.py) as one check named WHAT."""
    try:
        checker(*args)
    except AssertionError as e:
        return check(False, what, str(e)[-1500:])
    return check(True, what)


def variant_checks(ws, variant, deadline):
    words = variant.split("-")
    if "iceberg" in words:
        t0 = time.monotonic()
        passes("an Iceberg table in the kernel's own catalog: created, written by four tasks, read "
               "back, a column added, merged into, read as of its first snapshot, dropped",
               lambda: cells.check_iceberg(cell_result(ws, cells.iceberg("iceberg.smoke.events"),
                                                       "iceberg", deadline)))
        print("   (the Iceberg table scenario: %.0f s)" % (time.monotonic() - t0), flush=True)
    if "gpu" in words:
        scan = {}

        def gpu():
            r = cell_result(ws, cells.gpu_plan("iceberg.smoke.gpu_scan" if "iceberg" in words else None),
                            "gpu", deadline)
            scan.update(r)
            cells.check_gpu_plan(r)

        passes("the kernel's session has the RAPIDS plugin; in explain-only mode RAPIDS says which "
               "operators of an aggregation would run on the GPU", gpu)
        if "iceberg" in words:
            def verdict():
                on = cells.iceberg_scan_on_gpu(scan.get("scan", ""))
                print("   (RAPIDS puts the Iceberg scan on the %s)" % ("GPU" if on else "CPU"), flush=True)

            passes("and gives its verdict on an Iceberg table's scan", verdict)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runtime", required=True)
    ap.add_argument("--jupyter", required=True)
    ap.add_argument("--spark-version", required=True)
    ap.add_argument("--line", required=True)
    ap.add_argument("--variant", required=True)
    ap.add_argument("--matrix", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "..", "..", "images", "matrix.json"))
    args = ap.parse_args()
    with open(args.matrix, encoding="utf-8") as f:
        matrix = json.load(f)
    private_network()
    smoke_runtime(args.runtime, args.spark_version, matrix, args.line, args.variant)
    smoke_jupyter(args.jupyter, args.spark_version, matrix, args.line, args.variant)
    if failures:
        print("smoke: %d check(s) failed: %s" % (len(failures), "; ".join(failures)), flush=True)
        return 1
    print("smoke: every check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
