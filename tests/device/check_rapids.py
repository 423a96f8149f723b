#!/usr/bin/env python3
"""check_rapids.py — on a machine with an NVIDIA GPU, the gpu and gpu-iceberg kernels of each
Spark line with RAPIDS really on (rapids.mode executeOnGPU, the default), through the launcher:
the same queries `make test` runs in RAPIDS' explain-only mode (tests/lakehouse/cells.py), now
checked in the executed plan (GpuHashAggregate, GpuShuffleExchange, and on Spark 4.1 the GPU
Iceberg scan) and by their answers, which must equal the CPU's.

Not part of `make test` (it needs a GPU). It needs an install with the kernel environments and
the jars (`make install PREFIX=...`: pyspark, RAPIDS and Iceberg, 3.5 GB in all), so it runs
where that install is; a lent device machine that reaches no network must have it there.

    SPARK_K8S_PREFIX=/opt/spark-k8s build/envs/jupyter/bin/python tests/device/check_rapids.py

Exit status: 0 every check passed, 1 a check failed (each printed), 2 could not run,
77 skipped (no NVIDIA GPU: `spark-k8s gpus` finds none).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

QUERY = """
df = (spark.range(0, 10**7, numPartitions=8).selectExpr("id % 10 AS k", "id AS v")
           .groupBy("k").sum("v").orderBy("k"))
rows = [tuple(r) for r in df.collect()]
plan = df._jdf.queryExecution().executedPlan().toString()
print("RESULT gpu " + json.dumps({"rows": rows[:3], "plan": plan}))
"""
ICEBERG = """
spark.sql("CREATE OR REPLACE TABLE local.db.t (id BIGINT, kind STRING) USING iceberg")
spark.range(0, 10**6, numPartitions=4).selectExpr("id", "IF(id % 2 = 0, 'a', 'b') AS kind").writeTo("local.db.t").append()
q = spark.table("local.db.t").where("id > 10").groupBy("kind").count().orderBy("kind")
rows = [tuple(r) for r in q.collect()]
print("RESULT ice " + json.dumps({"rows": rows, "plan": q._jdf.queryExecution().executedPlan().toString()}))
spark.sql("DROP TABLE local.db.t PURGE")
"""


def run_cells(kernels, name, env, cells, timeout=900):
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    km = KernelManager(kernel_name=name, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    outs = []
    try:
        kc.wait_for_ready(timeout=300)
        for code in ["import json"] + cells:
            msg_id = kc.execute(code)
            text, deadline = "", time.monotonic() + timeout
            while True:
                msg = kc.get_iopub_msg(timeout=max(1, deadline - time.monotonic()))
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "stream":
                    text += msg["content"]["text"]
                elif msg["msg_type"] == "error":
                    text += "ERROR %s: %s\n" % (msg["content"]["ename"], msg["content"]["evalue"])
                elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
            outs.append(text)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    return outs


def main():
    from lakehouse import cells
    prefix = Path(os.environ.get("SPARK_K8S_PREFIX", ""))
    binary = prefix / "bin" / "spark-k8s"
    if not binary.exists():
        print("check_rapids: set SPARK_K8S_PREFIX to an install (make install PREFIX=...)", file=sys.stderr)
        return 2
    gpus = subprocess.run([str(binary), "gpus", "--json"], capture_output=True, text=True)
    if gpus.returncode != 0 or not json.loads(gpus.stdout or "{}").get("devices"):
        print("check_rapids: no NVIDIA GPU visible (spark-k8s gpus: %s); skipped"
              % (gpus.stderr.strip() or gpus.stdout.strip()))
        return 77
    work = Path(tempfile.mkdtemp(prefix="check-rapids-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_K8S_", "JUPYTER_"))}
    (work / "config.json").write_text("{}")
    env.update(SPARK_K8S_CONFIG=str(work / "config.json"), XDG_RUNTIME_DIR=str(work),
               JUPYTER_RUNTIME_DIR=str(work))
    failures = []
    lines = sorted(p.name[len("spark-"):] for p in (prefix / "lib/spark-k8s/envs").iterdir())
    for line in lines:
        for variant in ("gpu", "gpu-iceberg"):
            name = "check-%s-%s" % (line, variant)
            extra = ["--conf", "spark.sql.catalog.local=org.apache.iceberg.spark.SparkCatalog",
                     "--conf", "spark.sql.catalog.local.type=hadoop",
                     "--conf", "spark.sql.catalog.local.warehouse=file://%s/wh-%s" % (work, line)] \
                if "iceberg" in variant else []
            subprocess.run([str(binary), "kernelspec", "install", "--prefix", str(work), "--spark", line,
                            "--variant", variant, "--name", name, "--replace", *extra], check=True,
                           capture_output=True)
            outs = run_cells(work / "share/jupyter/kernels", name, env,
                             [QUERY] + ([ICEBERG] if "iceberg" in variant else []))
            r = cells.result(outs[1], "gpu")
            if [list(x) for x in r["rows"]] != [[0, 4999995000000], [1, 4999996000000], [2, 4999997000000]]:
                failures.append("%s: wrong answer %s" % (name, r["rows"]))
            for op in ("GpuHashAggregate", "GpuShuffleExchange"):
                if op not in r["plan"]:
                    failures.append("%s: %s not in the executed plan:\n%s" % (name, op, r["plan"]))
            if "iceberg" in variant:
                ice = cells.result(outs[2], "ice")
                if [list(x) for x in ice["rows"]] != [["a", 499994], ["b", 499995]]:
                    failures.append("%s: wrong Iceberg answer %s" % (name, ice["rows"]))
                on_gpu = "GpuBatchScan" in ice["plan"]
                if on_gpu != (line != "3.5"):  # images/VERSIONS.md: RAPIDS' verdict per line
                    failures.append("%s: Iceberg scan on the GPU: %s, expected %s:\n%s"
                                    % (name, on_gpu, line != "3.5", ice["plan"]))
            print("check_rapids: %s done" % name, flush=True)
    for f in failures:
        print("check_rapids: FAILED %s" % f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
