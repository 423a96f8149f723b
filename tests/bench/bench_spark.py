#!/usr/bin/env python3
"""bench_spark.py — `make bench`, second part: what a user feels when a Spark kernel
starts, per Spark line. From the moment a client asks jupyter_client to start the
kernel to the first Spark result, `spark.range(10**6).selectExpr("sum(id)").collect()`
sent right after the start (the launcher holds it while the kernel comes up):

  launcher  the installed spark-LINE-baseline kernelspec (spark-k8s kernel -> ipykernel)
  direct    the same ipykernel command, startup file and Spark configuration, started
            by jupyter_client itself (no launcher)

The difference is the launcher's share. Each figure is the median of RUNS runs,
launcher and direct alternating; the runs' figures are printed too. Also timed: the
first reply to kernel_info (what makes a notebook show the kernel as ready).

Then the cost of the progress display (kernelspecs/spark_k8s_session/progress.py) on a job's run
time: a multi-stage query timed in one kernel with the display on and off,
alternating, PROGRESS_RUNS times each (medians; the time is the client's, from
execute_request to the reply).

Then each variant's session start against the baseline's, per Spark line (the jars' cost
at start: RAPIDS' plugin and a 0.6-1 GB jar, Iceberg's extensions and catalog): the same
first-result time, for kernelspecs of each variant installed with the prefix's kernel
environments, RAPIDS in explain-only mode (no GPU here), the Iceberg catalog a hadoop one
on a local folder (no server); VARIANT_RUNS runs each, variants alternating.

Environment: SPARK_K8S_PREFIX (an install with the kernel environments). Run with
the Jupyter environment's Python (jupyter_client 8). Exit status 0 when every run
gave the right answer, 1 otherwise.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

RUNS = int(os.environ.get("BENCH_SPARK_RUNS", "3"))
VARIANT_RUNS = int(os.environ.get("BENCH_VARIANT_RUNS", "3"))
VARIANTS = ("baseline", "gpu", "iceberg", "gpu-iceberg")
PROGRESS_RUNS = int(os.environ.get("BENCH_PROGRESS_RUNS", "7"))
JOB = ("spark.range(0, 6 * 10**7, numPartitions=8).selectExpr('id % 13 AS k')"
       ".groupBy('k').count().collect()")
QUERY = 'spark.range(10**6).selectExpr("sum(id)").collect()[0][0]'
ANSWER = "499999500000"
TIMEOUT_S = 600


def first_result(kernels_dir, name, env):
    """(seconds to the kernel_info reply, seconds to the query's result) from start."""
    km = KernelManager(kernel_name=name,
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels_dir)]))
    t0 = time.monotonic()
    km.start_kernel(env=env, stderr=subprocess.DEVNULL)  # the kernels' logs are not figures
    kc = km.client()
    kc.start_channels()
    try:
        info_id = kc.kernel_info()
        msg_id = kc.execute(QUERY)
        info_s = result_s = None
        deadline = t0 + TIMEOUT_S
        while info_s is None:
            reply = kc.get_shell_msg(timeout=max(1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == info_id:
                info_s = time.monotonic() - t0
        while result_s is None:
            msg = kc.get_iopub_msg(timeout=max(1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "execute_result":
                got = msg["content"]["data"]["text/plain"]
                if got != ANSWER:
                    raise RuntimeError(f"{name}: {QUERY} gave {got}, not {ANSWER}")
                result_s = time.monotonic() - t0
            elif msg["msg_type"] == "error":
                raise RuntimeError(f"{name}: {msg['content']['ename']}: {msg['content']['evalue']}")
        return info_s, result_s
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run_cell(kc, code):
    """Seconds from execute_request to its reply; raises on an error."""
    t0 = time.monotonic()
    msg_id = kc.execute(code)
    while True:
        reply = kc.get_shell_msg(timeout=TIMEOUT_S)
        if reply["parent_header"].get("msg_id") == msg_id:
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"{code!r}: {reply['content']}")
            return time.monotonic() - t0


def progress_overhead(prefix, line, env):
    """(median seconds with the progress display, without, the runs of each)."""
    km = KernelManager(kernel_name=f"spark-{line}-baseline", kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[str(prefix / "share/jupyter/kernels")]))
    km.start_kernel(env=env, stderr=subprocess.DEVNULL)  # the kernels' logs are not figures
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=TIMEOUT_S)
        run_cell(kc, JOB)  # the JVM warmed up
        on, off = [], []
        for _ in range(PROGRESS_RUNS):
            run_cell(kc, "spark_k8s.progress = True")
            on.append(run_cell(kc, JOB))
            run_cell(kc, "spark_k8s.progress = False")
            off.append(run_cell(kc, JOB))
        return statistics.median(on), statistics.median(off), on, off
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def direct_kernelspec(prefix, line, folder, conf_dir):
    """A kernelspec running what spark-LINE-baseline's runtime runs, without the launcher;
    its Spark configuration is the one the launcher would write (spark-k8s render)."""
    installed = prefix / "share/jupyter/kernels" / f"spark-{line}-baseline"
    spec = json.loads((installed / "kernel.json").read_text())
    argv = [a.replace("{resource_dir}", str(installed))
            for a in spec["metadata"]["spark_k8s"]["runtime_command"]]
    rendered = subprocess.run([str(prefix / "bin/spark-k8s"), "render", str(installed)],
                              capture_output=True, text=True, check=True).stdout
    conf_dir.mkdir()
    (conf_dir / "spark-defaults.conf").write_text(rendered)
    shutil.copy(installed / "log4j2.properties", conf_dir / "log4j2.properties")
    d = folder / f"direct-{line}"
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(json.dumps({
        "argv": argv, "display_name": f"direct {line}", "language": "python",
        "interrupt_mode": "signal"}))
    return d.name


def variant_kernelspecs(prefix, folder):
    """Kernelspecs of every line and variant under FOLDER (a prefix of its own), running the
    prefix's kernel environments: RAPIDS explains, Iceberg on a local folder."""
    spark_k8s = str(prefix / "bin/spark-k8s")
    for variant in VARIANTS:
        args = ["--rapids-mode", "explainOnly"] if "gpu" in variant else []
        args += ["--iceberg-warehouse", str(folder / "iceberg")] if "iceberg" in variant else []
        subprocess.run([spark_k8s, "kernelspec", "install", "--prefix", str(folder), "--all",
                        "--variant", variant, "--executable", spark_k8s, "--replace", *args],
                       check=True, capture_output=True)
    return folder / "share/jupyter/kernels"


def variant_starts(prefix, lines, work, env):
    """Per line, each variant's median first result and its runs; prints as it goes."""
    kernels = variant_kernelspecs(prefix, work / "variants")
    ok = True
    print(f"\nsession start by variant (kernel start to the first result, as above; median of "
          f"{VARIANT_RUNS} runs,\n  variants alternating; RAPIDS in explain-only mode, Iceberg "
          f"a hadoop catalog on a folder)")
    for line in lines:
        got = {v: [] for v in VARIANTS}
        for _ in range(VARIANT_RUNS):
            for variant in VARIANTS:
                try:
                    got[variant].append(first_result(kernels, f"spark-{line}-{variant}", env)[1])
                except Exception as exc:
                    print(f"  spark-{line}-{variant}: FAILED: {exc}")
                    ok = False
        base = statistics.median(got["baseline"]) if got["baseline"] else None
        for variant in VARIANTS:
            if not got[variant]:
                continue
            med = statistics.median(got[variant])
            more = f"  {med - base:+.2f} s against baseline" if base and variant != "baseline" else ""
            print(f"  Spark {line} {variant:<12}{med:>8.2f} s{more:<28}   runs "
                  + ", ".join(f"{x:.2f}" for x in got[variant]))
    return ok


def main():
    prefix = Path(os.environ["SPARK_K8S_PREFIX"])
    lines = sorted(p.name[len("spark-"):] for p in (prefix / "lib/spark-k8s/envs").iterdir())
    work = Path(tempfile.mkdtemp(prefix="sk8s-bench-spark-"))
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("SPARK_K8S_", "JUPYTER_", "PYSPARK_", "MAKE"))}
    (work / "config.json").write_text("{}")
    base_env.update({"SPARK_K8S_CONFIG": str(work / "config.json"),
                     "XDG_RUNTIME_DIR": str(work), "JUPYTER_RUNTIME_DIR": str(work),
                     "IPYTHONDIR": str(work / "ipython")})
    ok = True
    print("\nkernel start to first Spark result (jupyter_client start -> the result of")
    print(f"  {QUERY}, sent at once; median of {RUNS} runs, launcher and direct alternating)")
    print(f"  {'':24}{'first result (s)':>18}{'kernel_info (s)':>18}   runs, first result (s)")
    try:
        for line in lines:
            direct = direct_kernelspec(prefix, line, work / "kernels", work / f"conf-{line}")
            env_direct = dict(base_env, SPARK_CONF_DIR=str(work / f"conf-{line}"))
            got = {"launcher": [], "direct": []}
            for _ in range(RUNS):
                for kind in ("launcher", "direct"):
                    try:
                        if kind == "launcher":
                            got[kind].append(first_result(prefix / "share/jupyter/kernels",
                                                          f"spark-{line}-baseline", base_env))
                        else:
                            got[kind].append(first_result(work / "kernels", direct, env_direct))
                    except Exception as exc:  # a failed run is reported, the rest go on
                        print(f"  spark-{line} {kind}: FAILED: {exc}")
                        ok = False
            med = {}
            for kind in ("launcher", "direct"):
                if not got[kind]:
                    continue
                res = statistics.median(r for _, r in got[kind])
                info = statistics.median(i for i, _ in got[kind])
                med[kind] = res
                runs = ", ".join(f"{r:.2f}" for _, r in got[kind])
                print(f"  Spark {line} {kind:<14}{res:>18.2f}{info:>18.3f}   {runs}")
            if len(med) == 2:
                share = med["launcher"] - med["direct"]
                print(f"  Spark {line}: the launcher's share {share:+.2f} s "
                      f"({100 * share / med['launcher']:+.1f}% of the wait)")
        ok = variant_starts(prefix, lines, work, base_env) and ok
        print(f"\nthe progress display's cost on a job (one kernel; {JOB};")
        print(f"  updates every 0.5 s; median of {PROGRESS_RUNS} runs, on and off alternating)")
        for line in lines:
            try:
                on, off, ons, offs = progress_overhead(prefix, line, base_env)
            except Exception as exc:
                print(f"  Spark {line}: FAILED: {exc}")
                ok = False
                continue
            print(f"  Spark {line}: with {on:.3f} s, without {off:.3f} s: "
                  f"{100 * (on - off) / off:+.1f}%   runs with "
                  + ", ".join(f"{x:.2f}" for x in ons) + " / without "
                  + ", ".join(f"{x:.2f}" for x in offs))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
