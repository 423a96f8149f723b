"""test_real_images.py — a kernel and its executor run from the real built images, so the layout
the other Kubernetes tests assume (fakekube/images.py binds this machine's files where the
matrix's images.layout says) and the images the build makes cannot drift apart.

The pair of one Spark line and variant with Iceberg's jars (SPARK_K8S_REAL_IMAGES=LINE-VARIANT,
default 4.1-iceberg; gpu-iceberg adds RAPIDS in explain-only mode), as `make images-test`
builds it into buildah's storage (CONTAINERS_STORAGE_CONF, else the one images-test.sh writes
under the build folder): each image is a working container of it, mounted (fakekube
BuiltImage), and the fake runs each pod inside that root filesystem with the image's own
ENTRYPOINT, ENV, WORKDIR and USER (pod_exec.py), so the kernel pod runs the Jupyter image's
tini, spark-k8s shim, Python, pyspark and Java, and the executor pod the runtime image's
entrypoint.sh, Java and jars.  The kernelspec names the images as the build tagged them
(--registry localhost, the immutable tag).

  test_the_fakes_layout_is_the_built_images   what fakekube/images.py gives a pod of that
        variant (ENTRYPOINT, CMD, ENV, WORKDIR, every file and folder it binds, the variant's
        jars by name) is what the built images hold
  test_iceberg_on_the_built_images            an Iceberg table on the REST catalog and S3
        (tests/lakehouse/cells.py) written by the executor pod and read back exactly; the
        kernel's and the executor's processes run in the images' own root filesystems; the
        executor JVM's class path holds the image's Iceberg jars (the matrix's sha256, as
        read inside the executor pod), from the image's venv, put there by its entrypoint.sh

Without the images (normal `make test` builds none), buildah or root the tests skip, saying
which; SPARK_K8S_REAL_IMAGES_REQUIRED=1 (tests/images/images-test.sh with
IMAGES_TEST_KUBERNETES=1) makes that a failure.  No duration is asserted."""

import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

import fakekube
from fakekube import images as fakeimages
from fakekube.server import image_of
from lakehouse import cells
from lakehouse.fixtures import lakehouse_catalog, lakehouse_store, unique_namespace  # noqa: F401
from support import cluster as kubecluster
from support import notebooks
from support.paths import BUILD, MATRIX, SPARK_K8S

pytestmark = pytest.mark.kubernetes

LINE, _, VARIANT = os.environ.get("SPARK_K8S_REAL_IMAGES", "4.1-iceberg").partition("-")
REQUIRED = os.environ.get("SPARK_K8S_REAL_IMAGES_REQUIRED") == "1"
REGISTRY = "localhost"   # buildah's name for what it built with an unqualified tag
LAYOUT = {k: v.replace("{line}", LINE) for k, v in MATRIX["images"]["layout"].items() if k != "_comment"}
JARS = LAYOUT["venv"] + "/share/spark-k8s/jars"
SECRET = "lake-keys"
ONE_EXECUTOR = ("--executor-instances", "1", "--executor-max-instances", "1", "--executor-cores", "1",
                "--executor-memory", "768m", "--driver-memory", "768m")
START_S = 900
CELL_S = 900

# Where a process of a pod runs, seen from inside it: its root mount, PID 1 (the image's
# init), and the files its JVM's class path names in the variant's jar folder (sha256).
PROBE = r'''
import hashlib, json, os, socket, sys
def where(class_path):
    out = {"host": socket.gethostname(), "python": sys.executable}
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        if f[4] == "/":
            rest = f[f.index("-") + 1:]
            out["root"] = {"fstype": rest[0], "options": rest[2].split(",")}
    out["pid1"] = {"exe": os.readlink("/proc/1/exe"),
                   "argv": open("/proc/1/cmdline", "rb").read().decode().split("\0")[:-1]}
    jars = {}
    for p in class_path.split(":"):
        if "/share/spark-k8s/jars/" in p:
            with open(p, "rb") as f:
                jars[p] = hashlib.sha256(f.read()).hexdigest()
    out["class_path"] = class_path.split(":")
    out["jars"] = jars
    return out
'''
WHERE = PROBE + r'''
driver = where(spark._jvm.System.getProperty("java.class.path"))
row = spark.range(1, numPartitions=1).selectExpr(
    "reflect('java.lang.System', 'getProperty', 'java.class.path') AS cp",
    "reflect('java.net.InetAddress', 'getLocalHost') AS host").first()
cp = row["cp"]
executor = sc.parallelize([0], 1).map(lambda _: where(cp)).first()
executor["jvm_host"] = row["host"]
print("RESULT where " + json.dumps({"driver": driver, "executor": executor}))
'''


def plan():
    """The runtime and Jupyter images of LINE-VARIANT as the build tags them (immutable tags)."""
    r = subprocess.run([str(SPARK_K8S), "images", "plan", "--json"], capture_output=True, text=True,
                       env=dict(os.environ, IMAGES="jupyter-%s-%s" % (LINE, VARIANT)))
    assert r.returncode == 0, r.stderr
    by_kind = {i["kind"]: i for i in json.loads(r.stdout)["images"]}
    return {kind: "%s/%s" % (REGISTRY, by_kind[kind]["version_image"]) for kind in ("runtime", "jupyter")}


def storage_conf():
    """buildah's storage: the caller's, else the one images-test.sh made under the build folder."""
    if os.environ.get("CONTAINERS_STORAGE_CONF"):
        return
    for driver in ("overlay", "vfs"):
        conf = BUILD / "images" / ("storage-%s.conf" % driver)
        if conf.exists():
            os.environ["CONTAINERS_STORAGE_CONF"] = str(conf)
            return


def skip_or_fail(reason):
    if REQUIRED:
        pytest.fail(reason + " (SPARK_K8S_REAL_IMAGES_REQUIRED=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def built():
    """{"runtime": BuiltImage, "jupyter": BuiltImage} of LINE-VARIANT, mounted for the module."""
    if "iceberg" not in VARIANT.split("-"):
        skip_or_fail("SPARK_K8S_REAL_IMAGES=%s-%s: these tests need a variant with Iceberg's jars"
                     % (LINE, VARIANT))
    storage_conf()
    refs = plan()
    for ref in refs.values():
        why = fakeimages.missing(ref)
        if why:
            skip_or_fail("%s; `make images-test IMAGES_TEST_LINE=%s IMAGES_TEST_VARIANT=%s` builds it"
                         % (why, LINE, VARIANT))
    opened = {}
    try:
        for kind, ref in refs.items():
            opened[kind] = fakeimages.BuiltImage(ref).open()
        yield opened
    finally:
        for b in opened.values():
            b.close()


def fake_glob(kind):
    """The glob fakekube/images.py gives the immutable tag of KIND's image of LINE-VARIANT."""
    return "*%s:%s-*-%s-[0-9]*" % (MATRIX["project"]["%s_image" % kind], LINE, VARIANT)


def test_the_fakes_layout_is_the_built_images(built, tmp_path):
    """What the other tests' pods of this variant run (images.py) is what the build made."""
    laid_out = fakeimages.images(str(tmp_path))
    for kind, b in built.items():
        fake, real = laid_out[fake_glob(kind)], b.image()
        assert image_of(laid_out, b.ref) is fake, b.ref   # the glob that names the tag is the variant's
        assert fake["entrypoint"] == real["entrypoint"], (kind, fake["entrypoint"], real["entrypoint"])
        assert fake.get("cmd", []) == real["cmd"], (kind, fake.get("cmd"), real["cmd"])
        assert fake["workingDir"] == real["workingDir"], kind
        assert {k: real["env"].get(k) for k in fake["env"]} == fake["env"], (kind, fake["env"], real["env"])
        assert real["user"] == MATRIX["images"]["uid"], real["user"]
        for target, source in fake["files"].items():
            there = fakeimages.path_in(b.rootfs, target)
            assert there, "%s: the fake binds %s at %s, which the built image does not have" % (kind, source, target)
            assert os.path.isdir(there) == os.path.isdir(source), (kind, target, there, source)
        for target in fake["writable"]:
            there = fakeimages.path_in(b.rootfs, target)
            assert there and os.path.isdir(there), "%s: no folder %s in the built image" % (kind, target)
        # the variant's jars: the fake picks the kernel environment's jars by name
        # (VARIANT_JARS) where the image has them, each of its rules one of the image's jars
        real_jars = sorted(os.listdir(fakeimages.path_in(b.rootfs, JARS)))
        rules = [p for feature, ps in fakeimages.VARIANT_JARS.items() if feature in VARIANT.split("-") for p in ps]
        assert sorted(sum(([j for j in real_jars if j.startswith(p)] for p in rules), [])) == real_jars, \
            (kind, rules, real_jars)
        assert all(len([j for j in real_jars if j.startswith(p)]) == 1 for p in rules), (kind, rules, real_jars)
        if JARS in fake["files"]:   # this machine's kernel environment has jars (make install)
            assert sorted(os.listdir(fake["files"][JARS])) == real_jars, kind


def scenario(built, tmp, store, catalog):
    state_dir = tempfile.mkdtemp(prefix="fakekube-", dir="/var/tmp")
    # only the built images: a pod of any other image has no entrypoint and fails to start
    fake = fakekube.FakeKube(state_dir, images={b.ref: b.image() for b in built.values()},
                             path="%s:/usr/local/bin:/usr/bin:/bin" % SPARK_K8S.parent)
    fake.start()
    cluster = kubecluster.Cluster(fake, tmp)
    failed, out = True, {}
    try:
        kubecluster.lake_secret(cluster, SECRET)
        lake = ("--iceberg-type", "rest", "--iceberg-uri", catalog.uri, "--s3-endpoint", store.endpoint,
                "--s3-region", store.region, "--s3-path-style-access", "true", "--s3-credentials-secret", SECRET)
        gpu = ("--rapids-mode", "explainOnly") if "gpu" in VARIANT.split("-") else ()
        name = cluster.install(LINE, VARIANT, "--registry", REGISTRY, *ONE_EXECUTOR, *lake, *gpu)
        spec = json.loads((cluster.prefix / "share" / "jupyter" / "kernels" / name / "kernel.json").read_text())
        out["images"] = spec["metadata"]["spark_k8s"]["images"]
        ns = unique_namespace("k8s_real")
        table = "iceberg.%s.events" % ns
        kernel = notebooks.run_kernel(cluster, tmp, name, [("where", WHERE), ("iceberg", cells.iceberg(table))],
                                      START_S, CELL_S)
        out["kernel"] = kernel
        out["kernel_pods"] = [r.body for r in fake.requests if r.method == "POST" and r.resource == "pods"
                              and isinstance(r.body, dict) and not notebooks.is_executor(r.body)]
        out["objects_after"] = [k for k in store.keys() if ns in k]
        gone = cluster.kubectl("delete", "secret", SECRET, "-n", cluster.namespace)
        assert gone.returncode == 0, gone.stderr
        fake.wait_no_leftovers(timeout=120)
        out["leftovers"] = fake.leftovers()
        failed = False
    finally:
        problems = notebooks.finish(cluster, state_dir, None, failed)
        shutil.rmtree(state_dir, ignore_errors=True)
    assert problems == [], problems
    return out


@pytest.fixture(scope="module")
def run(built, tmp_path_factory, lakehouse_store, lakehouse_catalog):
    return scenario(built, tmp_path_factory.mktemp("real-images"), lakehouse_store, lakehouse_catalog)


def lower(where):
    """The image a process runs in: the lower layer of its root overlay."""
    assert where["root"]["fstype"] == "overlay", where["root"]
    return [o.split("=", 1)[1] for o in where["root"]["options"] if o.startswith("lowerdir=")]


def variant_jars():
    """{jar path in the image: sha256} the matrix gives LINE-VARIANT's Iceberg."""
    spark = next(s for s in MATRIX["spark"] if s["line"] == LINE)
    return {"%s/%s-%s.jar" % (JARS, spark[k]["artifact"].split(":")[1], spark[k]["version"]): spark[k]["sha256"]
            for k in ("iceberg", "iceberg_aws_bundle")}


def test_iceberg_on_the_built_images(run, built):
    k = run["kernel"]
    assert k.errors["iceberg"] == [], k.out["iceberg"]
    r = cells.result(k.out["iceberg"], "iceberg")
    cells.check_iceberg(r)   # written by the executor's tasks (4 partitions), read back exactly
    assert all(p.startswith("s3://") for p in r["file_paths"]), r["file_paths"]
    assert run["objects_after"] == [], run["objects_after"]   # DROP ... PURGE removed them
    assert len(k.executors) == 1, [p["metadata"]["name"] for p in k.executors]
    assert run["leftovers"] == [], run["leftovers"]


def test_pods_run_the_built_images(run, built):
    """The kernelspec names the built images; the kernel pod runs the Jupyter image's tini and
    Python, the executor pod the runtime image's entrypoint.sh, tini and Java, each in its
    image's root filesystem (what the processes saw, from inside)."""
    k = run["kernel"]
    assert run["images"] == {"driver": built["jupyter"].ref, "executor": built["runtime"].ref}, run["images"]
    (kernel_pod,) = run["kernel_pods"]
    assert kernel_pod["spec"]["containers"][0]["image"] == built["jupyter"].ref
    assert [p["spec"]["containers"][0]["image"] for p in k.executors] == [built["runtime"].ref]
    assert k.errors["where"] == [], k.out["where"]
    where = cells.result(k.out["where"], "where")
    driver, executor = where["driver"], where["executor"]
    assert lower(driver) == [built["jupyter"].rootfs], driver["root"]
    assert lower(executor) == [built["runtime"].rootfs], executor["root"]
    assert driver["python"] == executor["python"] == LAYOUT["python"], (driver["python"], executor["python"])
    assert driver["pid1"]["exe"] == executor["pid1"]["exe"] == LAYOUT["tini"]
    assert driver["host"] == kernel_pod["metadata"]["name"], (driver["host"], kernel_pod["metadata"])
    # the executor: its pod, started by the image's entrypoint.sh (tini -s -- $JAVA_HOME/bin/java)
    pod_name = k.executors[0]["metadata"]["name"]
    assert executor["host"] == pod_name and executor["jvm_host"].split("/")[0] == pod_name, executor
    argv = executor["pid1"]["argv"]
    assert argv[:4] == [LAYOUT["tini"], "-s", "--", LAYOUT["java_home"] + "/bin/java"], argv
    assert "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend" in argv, argv
    assert JARS + "/*" in argv[argv.index("-cp") + 1].split(":"), argv


def test_the_executors_class_path_holds_the_images_iceberg_jars(run, built):
    """The executor JVM's java.class.path (reflect, on the executor) names the variant's jars in
    the image's venv, once each; read inside the executor pod they are the matrix's jars; the
    driver's class path has the same from its own image."""
    where = cells.result(run["kernel"].out["where"], "where")
    want = variant_jars()
    for side in ("executor", "driver"):
        cp, jars = where[side]["class_path"], where[side]["jars"]
        for path, sha in want.items():
            assert cp.count(path) == 1, (side, path, [e for e in cp if "jars" in e])
            assert jars[path] == sha, (side, path, jars[path], sha)
        if VARIANT == "iceberg":
            assert sorted(jars) == sorted(want), (side, sorted(jars))
    for path in want:   # and those are files of the image, not of this machine
        assert fakeimages.path_in(built["runtime"].rootfs, path), path
        assert fakeimages.path_in(built["jupyter"].rootfs, path), path
