"""test_variants_on_kubernetes.py — the gpu, iceberg and gpu-iceberg kernels on two executor
pods of the fake cluster, per Spark line, with real Spark, the real RAPIDS and Iceberg jars,
an Iceberg REST catalog and an S3-protocol object store (tests/lakehouse: Iceberg's own
RESTCatalogServer and moto's S3 server, on this host, which the fake's pods share).

The admin's objects come first, as docs/kubernetes.md tells: the Secret with the S3 keys
(named with --s3-credentials-secret: only its name is in any object the kernel makes) and a
ReadWriteMany claim for Spark's warehouse. Then, per line, one kernel of each variant:

  gpu-iceberg  RAPIDS in explain-only mode (no GPU asked for), the REST catalog on S3, no
               shared warehouse: RAPIDS' plan of an aggregation and of an Iceberg scan, the
               whole Iceberg scenario (tests/lakehouse/cells.py), and a managed table of
               spark_catalog refused in the cell (defect 2)
  iceberg      the REST catalog on S3 and Spark's warehouse on the claim: the Iceberg
               scenario, and a managed table written by the executors read back exactly
  gpu          RAPIDS in explain-only mode: its plan (one executor pod)

and what the objects show: executors of the variant's runtime image, running as the kernel
pod's service account (defect 4) with the S3 keys from the Secret, the jars on the driver's
and the executors' class path and never shipped (defect 1), no key in any object or log.
No duration is asserted."""

import base64
import json
import os
import re
import shutil
import tempfile

import pytest

import fakekube
from support import cluster as kubecluster
from support import notebooks
from support.notebooks import finish
from lakehouse import cells
from lakehouse.fixtures import lakehouse_catalog, lakehouse_store, unique_namespace  # noqa: F401
from lakehouse.objectstore import SECRET_ACCESS_KEY

LINES = [s["line"] for s in json.load(open(os.path.join(
    os.path.dirname(__file__), "..", "..", "images", "matrix.json")))["spark"]]
EXECUTORS = ("--executor-instances", "2", "--executor-max-instances", "2", "--executor-cores", "1",
             "--executor-memory", "768m", "--driver-memory", "768m")
# RAPIDS' plan needs no second executor: one proves its plugin loads there too
ONE_EXECUTOR = ("--executor-instances", "1", "--executor-max-instances", "1", "--executor-cores", "1",
                "--executor-memory", "768m", "--driver-memory", "768m")
WAREHOUSE = "/mnt/warehouse"
CLAIM = "lake-warehouse"
SECRET = "lake-keys"
START_S = 900     # a kernel pod, its JVM with RAPIDS' 1 GB jar, two executor pods
CELL_S = 900


def admin_objects(cluster):
    """The S3 keys' Secret and the warehouse claim, as an admin makes them."""
    kubecluster.lake_secret(cluster, SECRET)
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": CLAIM},
             "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}}
    made = cluster.kubectl("apply", "-n", cluster.namespace, "-f", "-", input=json.dumps(claim))
    assert made.returncode == 0, made.stderr


def run_kernel(cluster, tmp, name, steps):
    return notebooks.run_kernel(cluster, tmp, name, steps, START_S, CELL_S)


def scenario(line, tmp, store, catalog):
    state_dir = tempfile.mkdtemp(prefix="fakekube-", dir="/var/tmp")
    fake = fakekube.FakeKube(state_dir, **kubecluster.fake_options(state_dir))
    fake.start()
    cluster = kubecluster.Cluster(fake, tmp)
    failed, out = True, {}
    try:
        admin_objects(cluster)
        lake = ("--iceberg-type", "rest", "--iceberg-uri", catalog.uri, "--s3-endpoint", store.endpoint,
                "--s3-region", store.region, "--s3-path-style-access", "true",
                "--s3-credentials-secret", SECRET)
        explain = ("--rapids-mode", "explainOnly")
        ns_a, ns_b = unique_namespace("k8s_gpu_ice"), unique_namespace("k8s_ice")
        table_a, table_b = "iceberg.%s.events" % ns_a, "iceberg.%s.events" % ns_b
        cluster.install(line, "gpu-iceberg", *EXECUTORS, *lake, *explain)
        cluster.install(line, "iceberg", *EXECUTORS, *lake, "--spark-warehouse", WAREHOUSE,
                        "--spark-warehouse-claim", CLAIM)
        cluster.install(line, "gpu", *ONE_EXECUTOR, *explain)
        out["gpu-iceberg"] = run_kernel(cluster, tmp, "spark-%s-gpu-iceberg" % line, [
            ("gpu", cells.gpu_plan("iceberg.%s.scan" % ns_a)),
            ("iceberg", cells.iceberg(table_a)),
            ("refused", cells.refused_managed_table())])
        out["iceberg"] = run_kernel(cluster, tmp, "spark-%s-iceberg" % line, [
            ("iceberg", cells.iceberg(table_b)),
            ("managed", cells.managed_table())])
        out["gpu"] = run_kernel(cluster, tmp, "spark-%s-gpu" % line, [("gpu", cells.gpu_plan())])
        out["objects_after"] = [k for k in store.keys() if ns_a in k or ns_b in k]
        out["bodies"] = [r.body for r in cluster.requests_by() if r.method == "POST" and isinstance(r.body, dict)]
        out["kernelspecs"] = [p.read_text() for p in cluster.prefix.rglob("kernel.json")]
        out["pod_logs"] = "".join(open(p).read() for p in _pod_logs(state_dir))
        out["service_account"] = kubecluster.SERVICE_ACCOUNT
        for kind, name in (("secret", SECRET), ("pvc", CLAIM)):  # the admin's, made above
            gone = cluster.kubectl("delete", kind, name, "-n", cluster.namespace)
            assert gone.returncode == 0, gone.stderr
        fake.wait_no_leftovers(timeout=120)
        out["leftovers"] = fake.leftovers()
        failed = False
    finally:
        problems = finish(cluster, state_dir, None, failed)
        shutil.rmtree(state_dir, ignore_errors=True)
    assert problems == [], problems
    return out


def _pod_logs(state_dir):
    for root, _, files in os.walk(os.path.join(state_dir, "pods")):
        for f in files:
            if f.endswith(".log"):
                yield os.path.join(root, f)


@pytest.fixture(scope="module", params=LINES)
def line_run(request, tmp_path_factory, lakehouse_store, lakehouse_catalog):
    line = request.param
    return line, scenario(line, tmp_path_factory.mktemp("variants-%s" % line), lakehouse_store,
                          lakehouse_catalog)


def test_iceberg_kernels_on_a_rest_catalog_and_s3(line_run):
    """Create, insert on four partitions (the executors write the data files, to S3), read
    back exactly, add a column, MERGE INTO, read the first snapshot, DROP ... PURGE: in both
    Iceberg kernels."""
    line, run = line_run
    for variant in ("gpu-iceberg", "iceberg"):
        k = run[variant]
        assert k.errors["iceberg"] == [], (variant, k.out["iceberg"])
        r = cells.result(k.out["iceberg"], "iceberg")
        cells.check_iceberg(r)
        assert all(p.startswith("s3://") for p in r["file_paths"]), r["file_paths"]
        assert len(k.executors) == 2, [p["metadata"]["name"] for p in k.executors]
    assert run["objects_after"] == [], run["objects_after"]  # DROP ... PURGE removed them


def test_rapids_kernels_explain_their_gpu_plan_without_a_gpu(line_run):
    """RAPIDS' plugin is loaded in the driver and the executors (from the class path), and in
    explain-only mode names the operators it would run on the GPU; no executor asks for one."""
    line, run = line_run
    for variant in ("gpu-iceberg", "gpu"):
        k = run[variant]
        assert k.errors["gpu"] == [], (variant, k.out["gpu"])
        r = cells.result(k.out["gpu"], "gpu")
        cells.check_gpu_plan(r)
        for pod in k.executors:
            (c,) = pod["spec"]["containers"]
            assert "nvidia.com/gpu" not in json.dumps(c.get("resources", {})), c
            assert "nvidia.com/gpu" not in json.dumps(pod["spec"].get("tolerations", []))
            # the variant's runtime image: <line>-<spark>-<variant>[-<spark-k8s version>]
            assert re.search(r"spark-k8s-runtime:%s-[0-9.]+-%s(-[0-9][0-9.]*)?$" % (line, variant),
                             c["image"]), c["image"]


def test_the_iceberg_scan_in_rapids_plan(line_run):
    """gpu-iceberg: RAPIDS' plan of a scan of an Iceberg table. RAPIDS 26.08.1 reads Iceberg
    1.11 on the GPU (its iceberg111x provider) on Spark 4.1; RAPIDS 25.04.0, the newest build
    for Scala 2.12, keeps Spark 3.5's Iceberg 1.10 scan on the CPU ("not all scans can be
    replaced"): images/VERSIONS.md."""
    line, run = line_run
    scan = cells.result(run["gpu-iceberg"].out["gpu"], "gpu")["scan"]
    verdict = cells.iceberg_scan_on_gpu(scan)
    assert verdict is (line != "3.5"), scan


def test_managed_table_refused_without_a_shared_warehouse(line_run):
    """Defect 2: without spark_warehouse.dir the executors' files would stay in their pods
    and the table read back empty: the first saveAsTable is refused in the cell, naming the
    setting, and nothing is written."""
    line, run = line_run
    k = run["gpu-iceberg"]
    assert any("NoSharedWarehouse" in e for e in k.errors["refused"]), k.errors["refused"]
    assert any("spark_warehouse.dir" in e and "--spark-warehouse" in e for e in k.errors["refused"])


def test_managed_table_lands_in_the_shared_warehouse(line_run):
    """Defect 2: with the warehouse on the claim every pod mounts, what four tasks on two
    executor pods wrote reads back exactly."""
    line, run = line_run
    k = run["iceberg"]
    assert k.errors["managed"] == [], k.out["managed"]
    r = cells.result(k.out["managed"], "managed")
    assert r["count"] == cells.ROWS and r["sum"] == cells.ROWS * (cells.ROWS - 1) // 2, r
    assert r["location"].endswith(WAREHOUSE + "/managed_t1"), r
    for pod in k.executors:
        mounts = [m["mountPath"] for m in pod["spec"]["containers"][0].get("volumeMounts", [])]
        assert WAREHOUSE in mounts, mounts
        claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]
                  if "persistentVolumeClaim" in v]
        assert claims == [CLAIM], pod["spec"]["volumes"]


def test_executors_run_as_the_kernels_account_with_the_secrets_keys(line_run):
    """Defect 4: executors run as the kernel pod's account (the cloud's identity for
    S3FileIO), still without an API token; the S3 keys come from the admin's Secret by name."""
    line, run = line_run
    for variant in ("gpu-iceberg", "iceberg", "gpu"):
        for pod in run[variant].executors:
            assert pod["spec"]["serviceAccountName"] == run["service_account"], pod["spec"]
            assert pod["spec"].get("automountServiceAccountToken") is False
            env = {e["name"]: e for e in pod["spec"]["containers"][0].get("env", [])}
            if "iceberg" in variant:
                assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == \
                    {"name": SECRET, "key": "AWS_SECRET_ACCESS_KEY"}
            else:
                assert "AWS_SECRET_ACCESS_KEY" not in env


def test_jars_on_the_class_paths_never_shipped(line_run):
    """Defect 1: the driver has the variant's jars from its image's folder
    (spark.driver.extraClassPath), the executors from theirs (the entrypoint), once; Spark
    ships none (no spark.jars: executors fetch nothing)."""
    line, run = line_run
    for variant in ("gpu-iceberg", "iceberg", "gpu"):
        k = run[variant]
        assert k.executors
        for name, log in k.logs.items():
            commands = [ln for ln in log.splitlines() if ln.startswith("+ exec ")]
            assert commands, log[-2000:]
            cp = commands[-1].split(" -cp ", 1)[1].split(" ", 1)[0]
            entries = cp.split(":")
            assert entries.count("/usr/local/lib/spark-k8s/envs/spark-%s/share/spark-k8s/jars/*" % line) == 1, cp
            assert "Fetching spark://" not in log and "Fetching file:" not in log, name
    for variant in ("gpu-iceberg", "gpu"):
        assert cells.result(run[variant].out["gpu"], "gpu")["jars"] == ""


def test_no_key_in_any_object_kernelspec_or_log(line_run):
    """The S3 secret key is in the admin's Secret alone: not in a ConfigMap or any other object
    the launcher or Spark made, not in a kernelspec, not in a pod's log."""
    line, run = line_run
    secret = SECRET_ACCESS_KEY
    encoded = base64.b64encode(secret.encode()).decode()
    made = json.dumps([b for b in run["bodies"] if b.get("metadata", {}).get("name") != SECRET])
    assert secret not in made and encoded not in made
    assert not any(secret in text for text in run["kernelspecs"])
    assert secret not in run["pod_logs"]
    for variant in ("gpu-iceberg", "iceberg", "gpu"):
        assert secret not in run[variant].launcher_log


def test_nothing_is_left(line_run):
    line, run = line_run
    assert run["leftovers"] == [], run["leftovers"]
