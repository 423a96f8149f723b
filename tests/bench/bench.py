#!/usr/bin/python3
"""bench.py — `make bench`: the same workload sent directly to a kernel and through the launcher.

Prints, in one run, against the targets of issue 2:
  1. kernel_info round trips on shell (p50, p99 over 2,000 after a warm-up),
     ipykernel direct vs the launcher in front of ipykernel (and the same with
     the C echo runtime, which shows the relay's own share without Python);
  2. iopub throughput, 100,000 small and 1,024 x 1 MiB stream messages, from
     tests/bench/echo_runtime.c direct vs through the launcher (counts checked:
     every message must arrive), and the same through libzmq's own zmq_proxy
     (tests/bench/zmq_proxy_relay.py) as a reference: the bare cost of one more hop;
  3. the launcher's peak RSS (VmHWM) after each of those;
  4. time from process start to the first kernel_info_reply, and the launcher's
     own "ready in N ms" for its runtime.
Every figure is the median of RUNS runs; direct and launcher runs alternate. The
client is tests/bench/bench_client.c (C, libzmq, the project's signer), so
Python's overhead is not in the figures. Kernels talk tcp on 127.0.0.1 to the
client, as under Jupyter; the launcher reaches its runtime over ipc.

Environment: SPARK_K8S_BUILD (spark-k8s, echo-runtime, bench-client) and
SPARK_K8S_PREFIX (the installed prefix; its spark-k8s is the one timed when
present). Everything runs in one temporary directory that is removed at the end,
and every process started is stopped. Exit status: 0 when every measurement
ran (a MISS is a result, not a failure), 1 when one failed.
"""

import json
import math
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 5
RTT_N = 2000
RTT_WARMUP = 200
SMALL_N = 100_000
LARGE_N = 1024
LARGE_SIZE = 1 << 20
PY = "/usr/bin/python3"
IPYKERNEL = [PY, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
CLIENT_TIMEOUT = 300

TARGET_RTT = 1.05
TARGET_THROUGHPUT = 0.95
TARGET_RSS_KB = 4 * 1024


class BenchError(Exception):
    pass


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d CPUs (nproc), %s, Linux %s" % (os.cpu_count() or 0, model, platform.release())


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def write_connection(path, name):
    ports = free_ports(5)
    conn = {
        "transport": "tcp", "ip": "127.0.0.1",
        "shell_port": ports[0], "iopub_port": ports[1], "stdin_port": ports[2],
        "control_port": ports[3], "hb_port": ports[4],
        "key": secrets.token_hex(32), "signature_scheme": "hmac-sha256", "kernel_name": name,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(conn, f)
    return path


def write_kernelspec(folder, launcher, runtime_command):
    os.makedirs(folder)
    spec = {
        "argv": [launcher, "kernel", "-f", "{connection_file}", "--kernelspec", "{resource_dir}"],
        "display_name": "bench " + os.path.basename(folder),
        "language": "python",
        "interrupt_mode": "message",
        "metadata": {"spark_k8s": {"runtime": "local", "runtime_command": runtime_command}},
    }
    with open(os.path.join(folder, "kernel.json"), "w") as f:
        json.dump(spec, f)
    return folder


def memory(pid):
    """VmHWM, VmRSS, RssAnon, RssFile and Pss of PID in kB."""
    out = {}
    for name, keys in (("status", ("VmHWM", "VmRSS", "RssAnon", "RssFile")),
                       ("smaps_rollup", ("Pss",))):
        with open("/proc/%d/%s" % (pid, name)) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in keys:
                    out[key] = int(value.split()[0])
    return out


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Kernel:
    """One kernel process (direct or the launcher), stopped by stop()."""

    def __init__(self, bench, label, argv, conn, launcher):
        self.label = label
        self.conn = conn
        self.launcher = launcher
        self.stderr_path = os.path.join(bench.tmp, "%s-%d.stderr" % (label, len(bench.kernels)))
        self.stderr = open(self.stderr_path, "wb")
        self.proc = None
        bench.kernels.append(self)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, env=bench.env, start_new_session=True)

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def ready_ms(self, timeout=60):
        """The launcher's "ready in N ms" line (it writes it once its runtime answers)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.stderr_text().splitlines():
                if " ready in " in line and line.startswith("spark-k8s: kernel"):
                    return int(line.split(" ready in ")[1].split()[0])
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise BenchError("%s: no 'ready in' line on stderr:\n%s" % (self.label, self.stderr_text()))

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            self.stderr.close()
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.stderr.close()


class Bench:
    def __init__(self, tmp):
        self.tmp = tmp
        build = os.environ.get("SPARK_K8S_BUILD", "build")
        prefix = os.environ.get("SPARK_K8S_PREFIX", "")
        installed = os.path.join(prefix, "bin", "spark-k8s") if prefix else ""
        self.launcher = installed if installed and os.access(installed, os.X_OK) \
            else os.path.join(build, "spark-k8s")
        self.echo = os.path.join(build, "echo-runtime")
        self.client = os.path.join(build, "bench-client")
        self.relay = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zmq_proxy_relay.py")
        for path in (self.launcher, self.echo, self.client):
            if not os.access(path, os.X_OK):
                raise BenchError("%s is missing: run `make bench`" % path)
        self.env = dict(os.environ)
        # The launcher's private ipc directory goes under TMPDIR: ours, so a leftover shows.
        self.env.pop("XDG_RUNTIME_DIR", None)
        self.env["TMPDIR"] = tmp
        self.env["IPYTHONDIR"] = os.path.join(tmp, "ipython")
        self.env["JUPYTER_RUNTIME_DIR"] = os.path.join(tmp, "jupyter-runtime")
        # The launcher sets this for its child; the direct kernel gets it too.
        self.env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        self.kernels = []
        self.n = 0
        self.ipy_spec = write_kernelspec(os.path.join(tmp, "kernels", "bench-ipykernel"),
                                         self.launcher, IPYKERNEL)
        self.echo_spec = write_kernelspec(os.path.join(tmp, "kernels", "bench-echo"),
                                          self.launcher, [self.echo, "-f", "{connection_file}"])

    def connection(self, label):
        self.n += 1
        return write_connection(os.path.join(self.tmp, "%s-%d.json" % (label, self.n)), label)

    def start_direct(self, runtime_command, label):
        conn = self.connection(label)
        argv = [a.replace("{connection_file}", conn) for a in runtime_command]
        return Kernel(self, label, argv, conn, launcher=False)

    def start_launcher(self, spec, label):
        conn = self.connection(label)
        argv = [self.launcher, "kernel", "-f", conn, "--kernelspec", spec]
        return Kernel(self, label, argv, conn, launcher=True)

    def client_json(self, *args):
        r = subprocess.run([self.client] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=CLIENT_TIMEOUT, env=self.env)
        if r.returncode != 0:
            raise BenchError("bench-client %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stderr.decode(errors="replace"),
                r.stdout.decode(errors="replace")[:500]))
        return json.loads(r.stdout.decode().strip().splitlines()[-1])

    def stop_all(self):
        for k in self.kernels:
            k.stop()

    def leftovers(self, wait=3.0):
        """Processes whose command line names our directory, and what the launcher left
        there, once they had WAIT seconds to go (the launcher's janitor ends just after it)."""
        deadline = time.monotonic() + wait
        while True:
            procs, dirs = self._leftovers()
            if not (procs or dirs) or time.monotonic() > deadline:
                return procs, dirs
            time.sleep(0.05)

    def _leftovers(self):
        procs = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if self.tmp in cmd:
                procs.append("%s %s" % (pid, cmd.strip()))
        dirs = [d for d in os.listdir(self.tmp) if d.startswith("spark-k8s-")]
        return procs, dirs

    # ---- the measurements --------------------------------------------------------------

    def kernel_info_rtt(self):
        direct = self.start_direct(IPYKERNEL, "ipykernel-direct")
        via = self.start_launcher(self.ipy_spec, "ipykernel-launcher")
        via.ready_ms()
        rss_idle = memory(via.proc.pid)
        runs = {"direct": [], "launcher": []}
        for run in range(RUNS):
            order = [("direct", direct), ("launcher", via)]
            if run % 2:
                order.reverse()
            for name, k in order:
                samples = self.client_json("rtt", k.conn, str(RTT_N), str(RTT_WARMUP))["samples_ns"]
                if len(samples) != RTT_N:
                    raise BenchError("rtt: %d samples, expected %d" % (len(samples), RTT_N))
                runs[name].append(samples)
        rss = memory(via.proc.pid)
        direct.stop()
        via.stop()
        return runs, rss_idle, rss

    def start_reference(self):
        """echo-runtime on ipc behind zmq_proxy_relay.py: the bare cost of one more ZMQ hop."""
        front = self.connection("reference")
        with open(front) as f:
            conn = json.load(f)
        ipc_dir = os.path.join(self.tmp, "reference-ipc")
        os.mkdir(ipc_dir, 0o700)
        conn.update({"transport": "ipc", "ip": os.path.join(ipc_dir, "k"), "shell_port": 1,
                     "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5})
        back = os.path.join(self.tmp, "reference-back.json")
        fd = os.open(back, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(conn, f)
        echo = Kernel(self, "reference-echo", [self.echo, "-f", back], back, launcher=False)
        relay = Kernel(self, "reference-relay", [PY, self.relay, front, back], front, launcher=False)
        return echo, relay

    def throughput(self):
        direct = self.start_direct([self.echo, "-f", "{connection_file}"], "echo-direct")
        via = self.start_launcher(self.echo_spec, "echo-launcher")
        ref_echo, ref = self.start_reference()
        ready = via.ready_ms()
        rss_idle = memory(via.proc.pid)
        targets = [("direct", direct), ("launcher", via), ("zmq_proxy", ref)]
        rtt = {name: [] for name, _ in targets}
        for run in range(RUNS):
            order = targets[run % 3:] + targets[:run % 3]
            for name, k in order:
                rtt[name].append(
                    self.client_json("rtt", k.conn, str(RTT_N), str(RTT_WARMUP))["samples_ns"])
        results = {}
        rss = {}
        for kind, args in (("small", ["small", str(SMALL_N)]),
                           ("large", ["large", str(LARGE_N), str(LARGE_SIZE)])):
            expected = SMALL_N if kind == "small" else LARGE_N
            for run in range(RUNS):
                order = targets[run % 3:] + targets[:run % 3]
                for name, k in order:
                    r = self.client_json("burst", k.conn, *args)
                    if r["count"] != expected:
                        raise BenchError("%s %s: %d of %d messages" % (kind, name, r["count"], expected))
                    results.setdefault((kind, name), []).append(r)
            rss[kind] = memory(via.proc.pid)
        for k in (direct, via, ref, ref_echo):
            k.stop()
        return results, rss_idle, rss, ready, rtt

    def first_reply(self, start):
        """Seconds from process start to the first kernel_info_reply, and the reply's implementation."""
        k = None
        conn = self.connection("startup")
        client = subprocess.Popen([self.client, "first-reply", conn], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        try:
            line = client.stdout.readline().decode().strip()
            if line != "armed":
                raise BenchError("first-reply client: %r %s" % (line, client.stderr.read().decode()))
            k = start(conn)
            out, err = client.communicate(timeout=CLIENT_TIMEOUT)
            if client.returncode != 0:
                raise BenchError("first-reply client failed: %s" % err.decode(errors="replace"))
            r = json.loads(out.decode().strip().splitlines()[-1])
            seconds = r["t_reply"] - k.started
            ready = k.ready_ms() if k.launcher else None
            return seconds, r["implementation"], ready
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
            if k is not None:
                k.stop()

    def startup(self):
        def direct(conn):
            argv = [a.replace("{connection_file}", conn) for a in IPYKERNEL]
            return Kernel(self, "startup-direct", argv, conn, launcher=False)

        def launcher(conn):
            argv = [self.launcher, "kernel", "-f", conn, "--kernelspec", self.ipy_spec]
            return Kernel(self, "startup-launcher", argv, conn, launcher=True)

        out = {"direct": [], "launcher": [], "ready_ms": [], "impl": {}}
        for run in range(RUNS):
            order = [("direct", direct), ("launcher", launcher)]
            if run % 2:
                order.reverse()
            for name, start in order:
                seconds, impl, ready = self.first_reply(start)
                out[name].append(seconds)
                out["impl"][name] = impl
                if ready is not None:
                    out["ready_ms"].append(ready)
        return out


# ---- reporting --------------------------------------------------------------------------

def percentile(samples, q):
    """Nearest-rank percentile: the smallest sample with at least Q of them at or below it."""
    s = sorted(samples)
    return s[max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))]


def verdict(ok):
    return "PASS" if ok else "MISS"


def fmt_runs(values, fmt):
    return ", ".join(fmt % v for v in values)


def report(rtt, rtt_echo, rtt_rss_idle, rtt_rss, thr, thr_rss_idle, thr_rss, echo_ready, start):
    lines = []
    p = lines.append
    p("")
    p("kernel_info round trip on shell (ipykernel %s; %d timed after %d warm-up; median of %d runs)"
      % (ipykernel_version(), RTT_N, RTT_WARMUP, RUNS))
    p("  %-10s %12s %12s   %s" % ("", "p50 (us)", "p99 (us)", "runs p50 / p99 (us)"))
    med = {}
    best = {}
    for name in ("direct", "launcher"):
        p50s = [statistics.median(s) / 1e3 for s in rtt[name]]
        p99s = [percentile(s, 0.99) / 1e3 for s in rtt[name]]
        med[name] = (statistics.median(p50s), statistics.median(p99s))
        best[name] = min(p50s)
        p("  %-10s %12.1f %12.1f   %s / %s" % (name, med[name][0], med[name][1],
                                              fmt_runs(p50s, "%.1f"), fmt_runs(p99s, "%.1f")))
    rtt_ratio = med["launcher"][0] / med["direct"][0]
    p("  launcher adds %.1f us at p50 (%.3fx), %.1f us at p99 (%.3fx)" % (
        med["launcher"][0] - med["direct"][0], rtt_ratio,
        med["launcher"][1] - med["direct"][1], med["launcher"][1] / med["direct"][1]))
    p("  the same with echo-runtime (C) as the kernel, for the relay's own share; zmq_proxy is")
    p("  libzmq's own relay (tests/bench/zmq_proxy_relay.py) in the launcher's place, the floor:")
    emed = {}
    for name in ("direct", "launcher", "zmq_proxy"):
        p50s = [statistics.median(s) / 1e3 for s in rtt_echo[name]]
        p99s = [percentile(s, 0.99) / 1e3 for s in rtt_echo[name]]
        emed[name] = (statistics.median(p50s), statistics.median(p99s))
        p("  %-10s %12.1f %12.1f   %s / %s" % (name, emed[name][0], emed[name][1],
                                              fmt_runs(p50s, "%.1f"), fmt_runs(p99s, "%.1f")))
    for name in ("launcher", "zmq_proxy"):
        p("  %s adds %.1f us at p50 (%.3fx), %.1f us at p99 (%.3fx)" % (
            name, emed[name][0] - emed["direct"][0], emed[name][0] / emed["direct"][0],
            emed[name][1] - emed["direct"][1], emed[name][1] / emed["direct"][1]))

    p("")
    p("iopub throughput from echo-runtime (first to last message at the client; median of %d runs)"
      % RUNS)
    p("  %-16s %-10s %12s %10s   %s" % ("", "", "msgs/s", "MB/s", "runs msgs/s (every count exact)"))
    thr_med = {}
    thr_best = {}
    for kind, label in (("small", "%d small" % SMALL_N), ("large", "%d x %d KiB" % (LARGE_N, LARGE_SIZE >> 10))):
        for name in ("direct", "launcher", "zmq_proxy"):
            rs = thr[(kind, name)]
            mps = [r["count"] / r["first_to_last_s"] for r in rs]
            mbs = [r["bytes"] / r["first_to_last_s"] / 1e6 for r in rs]
            thr_med[(kind, name)] = (statistics.median(mps), statistics.median(mbs))
            thr_best[(kind, name)] = (max(mps), max(mbs))
            p("  %-16s %-10s %12.0f %10.1f   %s" % (label if name == "direct" else "", name,
                                                   thr_med[(kind, name)][0], thr_med[(kind, name)][1],
                                                   fmt_runs(mps, "%.0f")))
    small_ratio = thr_med[("small", "launcher")][0] / thr_med[("small", "direct")][0]
    large_ratio = thr_med[("large", "launcher")][1] / thr_med[("large", "direct")][1]
    p("  (zmq_proxy: libzmq's relay in the launcher's place, a reference, not a target;")
    p("   MB = 10^6 bytes of frames as received: topic, delimiter, signature, header, parent,")
    p("   metadata and content; %d bytes per small message, %d per large one)" % (
        thr[("small", "direct")][0]["bytes"] // SMALL_N, thr[("large", "direct")][0]["bytes"] // LARGE_N))

    p("")
    p("launcher memory (kB, /proc/PID/status)")
    p("  %-44s %8s %8s %8s %8s %8s" % ("", "VmHWM", "VmRSS", "RssAnon", "RssFile", "Pss"))
    for label, m in (("ipykernel: ready, idle", rtt_rss_idle),
                     ("ipykernel: after the kernel_info runs", rtt_rss),
                     ("echo: ready, idle", thr_rss_idle),
                     ("echo: after round trips + small messages", thr_rss["small"]),
                     ("echo: after the large-message runs (end)", thr_rss["large"])):
        p("  %-44s %8d %8d %8d %8d %8d" % (label, m["VmHWM"], m["VmRSS"], m.get("RssAnon", 0),
                                           m.get("RssFile", 0), m.get("Pss", 0)))

    p("")
    p("start to first kernel_info_reply (process start -> reply at the client; median of %d runs)"
      % RUNS)
    d = statistics.median(start["direct"]) * 1e3
    lnch = statistics.median(start["launcher"]) * 1e3
    p("  ipykernel direct                         %8.1f ms   runs %s (reply from %s)" % (
        d, fmt_runs([s * 1e3 for s in start["direct"]], "%.1f"), start["impl"]["direct"]))
    p("  launcher (it answers while starting)     %8.1f ms   runs %s (reply from %s)" % (
        lnch, fmt_runs([s * 1e3 for s in start["launcher"]], "%.1f"), start["impl"]["launcher"]))
    p("  launcher -> ipykernel ready (its log)    %8.1f ms   runs %s" % (
        statistics.median(start["ready_ms"]), fmt_runs(start["ready_ms"], "%d")))
    p("  launcher -> echo-runtime ready (its log) %8d ms" % echo_ready)

    rss_kernel_info = rtt_rss["VmHWM"]
    rss_end = thr_rss["large"]["VmHWM"]
    p("")
    p("targets")
    p("  %-53s %-34s %-6s %s" % ("target", "measured (medians)", "result", "best runs"))
    rows = [
        ("p50 kernel_info round trip: launcher <= 1.05x direct",
         "%.3fx (%.1f vs %.1f us)" % (rtt_ratio, med["launcher"][0], med["direct"][0]),
         rtt_ratio <= TARGET_RTT,
         "%.3fx" % (best["launcher"] / best["direct"])),
        ("small-message throughput: launcher >= 0.95x direct",
         "%.3fx (%.0f vs %.0f msgs/s)" % (small_ratio, thr_med[("small", "launcher")][0],
                                          thr_med[("small", "direct")][0]),
         small_ratio >= TARGET_THROUGHPUT,
         "%.3fx" % (thr_best[("small", "launcher")][0] / thr_best[("small", "direct")][0])),
        ("large-message throughput: launcher >= 0.95x direct",
         "%.3fx (%.0f vs %.0f MB/s)" % (large_ratio, thr_med[("large", "launcher")][1],
                                        thr_med[("large", "direct")][1]),
         large_ratio >= TARGET_THROUGHPUT,
         "%.3fx" % (thr_best[("large", "launcher")][1] / thr_best[("large", "direct")][1])),
        ("launcher peak RSS after the kernel_info runs <= 4 MB",
         "%.1f MB (VmHWM %d kB)" % (rss_kernel_info / 1024, rss_kernel_info),
         rss_kernel_info <= TARGET_RSS_KB, ""),
        ("launcher peak RSS after the throughput runs <= 4 MB",
         "%.1f MB (VmHWM %d kB)" % (rss_end / 1024, rss_end),
         rss_end <= TARGET_RSS_KB, ""),
    ]
    for name, measured, ok, best_ratio in rows:
        p("  %-53s %-34s %-6s %s" % (name, measured, verdict(ok), best_ratio))
    p("  (result: on the medians of %d runs; best runs: the fastest launcher run against the"
      % RUNS)
    p("   fastest direct run, as other load only slows a run; RSS: MB = 1024 kB)")
    return "\n".join(lines)


def ipykernel_version():
    try:
        r = subprocess.run([PY, "-c", "import ipykernel; print(ipykernel.__version__)"],
                           capture_output=True, timeout=60)
        return r.stdout.decode().strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def zmq_version():
    try:
        r = subprocess.run(["pkg-config", "--modversion", "libzmq"], capture_output=True, timeout=10)
        return r.stdout.decode().strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def main():
    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    print("spark-k8s bench")
    print("  machine: %s" % machine())
    print("  load average at the start: %s (other work on this machine skews every figure)"
          % load_average())
    print("  libzmq %s; client: tests/bench/bench_client.c (C); iopub source: tests/bench/echo_runtime.c"
          % zmq_version())
    print("  direct: client -tcp 127.0.0.1-> kernel; launcher: client -tcp-> spark-k8s kernel -ipc-> kernel")
    status = 0
    with tempfile.TemporaryDirectory(prefix="spark-k8s-bench-") as tmp:
        bench = None
        try:
            bench = Bench(tmp)
            print("  launcher: %s" % bench.launcher)
            sys.stdout.flush()
            rtt, rtt_rss_idle, rtt_rss = bench.kernel_info_rtt()
            thr, thr_rss_idle, thr_rss, echo_ready, rtt_echo = bench.throughput()
            start = bench.startup()
            print(report(rtt, rtt_echo, rtt_rss_idle, rtt_rss, thr, thr_rss_idle, thr_rss,
                         echo_ready, start))
            print("  load average at the end: %s" % load_average())
        except (BenchError, subprocess.SubprocessError, OSError, KeyError, ValueError) as e:
            print("bench failed: %s" % e, file=sys.stderr)
            status = 1
        except KeyboardInterrupt as e:
            print("bench interrupted (%s): stopping what it started" % (e or "SIGINT"),
                  file=sys.stderr)
            status = 1
        finally:
            if bench is not None:
                bench.stop_all()
                procs, dirs = bench.leftovers()
                if procs or dirs:
                    print("left behind: processes %s; launcher directories %s" % (procs, dirs),
                          file=sys.stderr)
                    status = 1
                    for line in procs:
                        try:
                            os.kill(int(line.split()[0]), signal.SIGKILL)
                        except OSError:
                            pass
    return status


if __name__ == "__main__":
    sys.exit(main())
