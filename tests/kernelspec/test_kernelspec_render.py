"""test_kernelspec_render.py — `spark-k8s render`: the spark-defaults.conf of all eight
kernelspecs, property by property with each property's source, for the local and
the Kubernetes runtime; the admin config file and SPARK_K8S_* variables in their
order of precedence; refusals naming the variable, field and value."""
import json

import pytest

from support.cli import clean_env, run
from support.envs import env_view_with_jars

LINES = ("3.5", "4.1")
VARIANTS = ("baseline", "gpu", "iceberg", "gpu-iceberg")
RAPIDS_PLUGIN = "com.nvidia.spark.SQLPlugin"
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"


@pytest.fixture(scope="module")
def prefixes(tmp_path_factory, matrix):
    """The eight kernelspecs, installed once for the local and once for the Kubernetes
    runtime; the local ones run kernel environments that hold the RAPIDS and Iceberg
    jars (files named so: render only looks for them)."""
    tmp = tmp_path_factory.mktemp("render")
    env = clean_env(tmp)
    out = {}
    for runtime in ("local", "kubernetes"):
        prefix = tmp / runtime
        # executors in pods need the Iceberg tables on shared storage: a REST catalog on S3
        # (--all gives the Iceberg options to the iceberg variants only)
        shared = ["--iceberg-type", "rest", "--iceberg-uri", CATALOG,
                  "--iceberg-warehouse", WAREHOUSE] if runtime == "kubernetes" else []
        for line in LINES:
            python = env_view_with_jars(tmp / f"env-{runtime}-{line}", line, matrix)
            run(["kernelspec", "install", "--prefix", str(prefix), "--all", "--spark", line,
                 "--runtime", runtime, "--python", str(python), *shared], env, check=0)
        out[runtime] = prefix / "share/jupyter/kernels"
    out["tmp"] = tmp
    return out


WAREHOUSE = "s3a://lake/warehouse"
CATALOG = "http://iceberg-rest:8181"


def render(path, env):
    return json.loads(run(["render", str(path), "--json"], env, check=0).stdout)


def expected_local(variant, jars_dir=None):
    """The local runtime's properties; JARS_DIR: the kernel environment's jars folder,
    whose jars of the variant go on the driver's class path (never spark.jars)."""
    want = {"spark.master": ("local[*]", "runtime (local)"),
            "spark.driver.memory": ("2g", "kernelspec"),
            "spark.k8s.notebook.progress": ("true", "kernelspec"),
            "spark.k8s.notebook.progress.intervalMs": ("500", "kernelspec"),
            "spark.ui.showConsoleProgress": ("false", "kernelspec")}
    if variant != "baseline" and jars_dir is not None:
        # in the order the variant's features come: RAPIDS, Iceberg, its AWS bundle
        order = [p for p in ("rapids-4-spark", "iceberg-spark-runtime", "iceberg-aws-bundle")
                 if ("rapids" in p and "gpu" in variant) or ("iceberg" in p and "iceberg" in variant)]
        found = [str(next(jars_dir.glob(f"{p}*.jar"))) for p in order]
        want["spark.driver.extraClassPath"] = (":".join(found), "runtime (the kernel environment's jars)")
    if "gpu" in variant.split("-"):
        want["spark.plugins"] = (RAPIDS_PLUGIN, "matrix default")
        want["spark.rapids.sql.enabled"] = ("true", "matrix default")
    if "iceberg" in variant.split("-"):
        want["spark.sql.extensions"] = (ICEBERG_EXTENSIONS, "matrix default")
        want["spark.sql.catalog.iceberg"] = ("org.apache.iceberg.spark.SparkCatalog",
                                             "kernelspec")
        want["spark.sql.catalog.iceberg.type"] = ("hadoop", "kernelspec")
        # a hadoop catalog's default (a REST or Hive catalog gets none)
        want["spark.sql.catalog.iceberg.warehouse"] = ("iceberg-warehouse", "built-in default")
    return want


def check_properties(got, want):
    props = {p["key"]: (p["value"], p["source"]) for p in got["spark_conf"]}
    assert sorted(props) == sorted(want)
    for key, (value, source) in want.items():
        assert props[key][0] == value, key
        assert props[key][1].startswith(source), (key, props[key][1])


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_local_runtime(prefixes, tmp_path, matrix, spark_k8s_version, line, variant):
    name = f"spark-{line}-{variant}"
    got = render(prefixes["local"] / name, clean_env(tmp_path))
    assert got["name"] == name and got["runtime"] == "local" and got["variant"] == variant
    assert got["spark_version"] == next(s["version"] for s in matrix["spark"] if s["line"] == line)
    jars = prefixes["tmp"] / f"env-local-{line}" / "share/spark-k8s/jars"
    check_properties(got, expected_local(variant, jars))
    settings = got["settings"]
    # the immutable tag: the line's Spark version, the variant, this spark-k8s's version
    tag = f"{line}-{got['spark_version']}-{variant}-{spark_k8s_version}"
    assert settings["images.driver"]["value"] == f"{matrix['project']['jupyter_image']}:{tag}"
    assert settings["images.executor"]["value"] == f"{matrix['project']['runtime_image']}:{tag}"
    assert got["runtime_command"][-1] == "--IPKernelApp.exec_files={resource_dir}/spark_session.py"


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_kubernetes_runtime(prefixes, tmp_path, spark_k8s_version, matrix, line, variant):
    name = f"spark-{line}-{variant}"
    got = render(prefixes["kubernetes"] / name, clean_env(tmp_path))
    assert got["runtime"] == "kubernetes"
    want = expected_local(variant)
    pod = "runtime (the driver pod)"
    want.update({
        "spark.master": ("k8s://https://<in-cluster API server>", pod),
        "spark.submit.deployMode": ("client", pod),
        "spark.kubernetes.namespace": ("<namespace of the launcher>", pod),
        "spark.kubernetes.container.image": (
            f"{matrix['project']['runtime_image']}:{line}-{got['spark_version']}-{variant}"
            f"-{spark_k8s_version}",
            "kernelspec"),
        "spark.kubernetes.driver.pod.name": ("<driver pod>", pod),
        "spark.driver.host": ("<driver service>", pod),
        "spark.driver.bindAddress": ("<driver pod IP>", pod),
        "spark.driver.port": ("7078", pod),
        "spark.blockManager.port": ("7079", pod),
        "spark.executor.cores": ("4", "kernelspec"),
        "spark.executor.memory": ("8g", "kernelspec"),
        "spark.executor.instances": ("2", "kernelspec"),
        "spark.dynamicAllocation.enabled": ("true", "built-in default"),
        "spark.dynamicAllocation.shuffleTracking.enabled": ("true", "built-in default"),
        "spark.dynamicAllocation.maxExecutors": ("4", "built-in default"),
        "spark.dynamicAllocation.shuffleTracking.timeout": ("600s", "built-in default"),
        # never on the read-only root; not on s3a:// either (no hadoop-aws in the images);
        # and no shared storage named: the session refuses managed tables (defect 2)
        "spark.sql.warehouse.dir": ("/tmp/spark-warehouse", "runtime"),
        "spark.k8s.notebook.sharedWarehouse": ("false", "runtime"),
    })
    if variant != "baseline":
        # defect 1: the image's jars on the driver's class path, read before its JVM starts
        want["spark.driver.extraClassPath"] = (
            f"/usr/local/lib/spark-k8s/envs/spark-{line}/share/spark-k8s/jars/*", "runtime (the image's jars)")
    if "gpu" in variant.split("-"):
        want.update({
            "spark.executor.resource.gpu.amount": ("1", "built-in default"),
            "spark.executor.resource.gpu.vendor": ("nvidia.com", "matrix default"),
            "spark.executor.resource.gpu.discoveryScript": (
                "/usr/local/bin/spark-k8s-gpu-discovery", "matrix default"),
            "spark.task.resource.gpu.amount": ("0.25", "1 / executor cores"),
            "spark.rapids.memory.pinnedPool.size": ("1024m", "matrix default"),
            "spark.executor.memoryOverhead": ("1843m", "pinned pool"),
        })
    if "iceberg" in variant.split("-"):
        want["spark.sql.catalog.iceberg.type"] = ("rest", "kernelspec")
        want["spark.sql.catalog.iceberg.uri"] = (CATALOG, "kernelspec")
        want["spark.sql.catalog.iceberg.warehouse"] = (WAREHOUSE, "kernelspec")
        # s3a:// through Iceberg's S3FileIO (the AWS bundle), not Hadoop's S3A
        want["spark.sql.catalog.iceberg.io-impl"] = ("org.apache.iceberg.aws.s3.S3FileIO", "kernelspec")
    check_properties(got, want)


def test_text_output_is_a_conf_with_sources(prefixes, tmp_path):
    out = run(["render", str(prefixes["local"] / "spark-4.1-gpu-iceberg")],
              clean_env(tmp_path), check=0).stdout
    lines = out.splitlines()
    props = [l for l in lines if l and not l.startswith("#")]
    assert "spark.plugins com.nvidia.spark.SQLPlugin" in props
    assert f"spark.sql.extensions {ICEBERG_EXTENSIONS}" in props
    # every property line sits under the comment naming its source
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[i - 1].startswith("# from: "), line
    assert "# from: matrix default (variant gpu-iceberg)" in lines


def test_precedence(prefixes, tmp_path):
    spec = prefixes["kubernetes"] / "spark-3.5-iceberg"
    env = clean_env(tmp_path)

    def prop(got, key):
        return next((p["value"], p["source"]) for p in got["spark_conf"] if p["key"] == key)

    got = render(spec, env)
    assert prop(got, "spark.executor.memory")[1].startswith("kernelspec")

    config = tmp_path / "admin-config.json"
    config.write_text(json.dumps({
        "resources": {"executor_memory": "6g", "executor_instances": 10},
        "image_registry": "registry.example.com/spark",
        "kubernetes": {"namespace": "analytics"},
        "iceberg": {"type": "rest", "uri": "http://iceberg-rest:8181",
                    "warehouse": "s3a://lake/warehouse"},
        "spark_conf": {"spark.sql.shuffle.partitions": "100"},
    }))
    got = render(spec, env)
    value, source = prop(got, "spark.executor.memory")
    assert value == "6g" and source.startswith(f"config file {config}")
    assert prop(got, "spark.executor.instances")[0] == "10"
    assert prop(got, "spark.executor.cores")[1].startswith("kernelspec")  # untouched
    assert prop(got, "spark.kubernetes.namespace")[0] == "analytics"
    assert prop(got, "spark.kubernetes.container.image")[0].startswith(
        "registry.example.com/spark/spark-k8s-runtime:3.5-")
    assert prop(got, "spark.sql.catalog.iceberg.type")[0] == "rest"
    assert prop(got, "spark.sql.catalog.iceberg.uri")[0] == "http://iceberg-rest:8181"
    assert prop(got, "spark.sql.shuffle.partitions") == ("100", f"config file {config} (spark_conf)")

    env.update({"SPARK_K8S_EXECUTOR_MEMORY": "7g", "SPARK_K8S_NAMESPACE": "override",
                "SPARK_K8S_SPARK_CONF": "spark.sql.shuffle.partitions=200;spark.eventLog.enabled=true"})
    got = render(spec, env)
    assert prop(got, "spark.executor.memory") == ("7g", "env SPARK_K8S_EXECUTOR_MEMORY")
    assert prop(got, "spark.executor.instances")[0] == "10"  # still the config file
    assert prop(got, "spark.kubernetes.namespace")[0] == "override"
    assert prop(got, "spark.sql.shuffle.partitions") == ("200", "env SPARK_K8S_SPARK_CONF")
    assert prop(got, "spark.eventLog.enabled") == ("true", "env SPARK_K8S_SPARK_CONF")

    # the environment can switch a kernelspec to the local runtime
    env["SPARK_K8S_RUNTIME"] = "local"
    got = render(spec, env)
    assert prop(got, "spark.master") == ("local[*]", "runtime (local)")


@pytest.mark.parametrize("var,value,needle", [
    ("SPARK_K8S_EXECUTOR_MEMORY", "4gb", "'4gb'"),
    ("SPARK_K8S_DRIVER_CORES", "two", "'two'"),
    ("SPARK_K8S_IMAGE_REGISTRY", "bad registry", "'bad registry'"),
    ("SPARK_K8S_RUNTIME", "yarn", "'yarn'"),
    ("SPARK_K8S_SPARK_CONF", "spark.master=yarn", "spark.master"),
    ("SPARK_K8S_SPARK_CONF", "spark.ok", "'spark.ok'"),
    ("SPARK_K8S_CONFIG", "/nonexistent/spark-k8s.json", "/nonexistent/spark-k8s.json"),
])
def test_env_refusals(prefixes, tmp_path, var, value, needle):
    env = clean_env(tmp_path, **{var: value})
    out = run(["render", str(prefixes["local"] / "spark-4.1-baseline")], env, check=2)
    assert needle in out.stderr and (var in out.stderr or var == "SPARK_K8S_CONFIG"), out.stderr


def test_config_file_refusals(prefixes, tmp_path):
    config = tmp_path / "admin-config.json"
    env = clean_env(tmp_path)
    for text, needles in [
        ('{"resources": {"executor_memory": "4gb"}}', ["resources.executor_memory", "'4gb'"]),
        ('{"images": {"executor": "a b"}}', ["images.executor", "'a b'"]),
        ('{"namespaces": "x"}', ["'namespaces'"]),
        ('{"spark_conf": {"spark.driver.port": "1"}}', ["spark.driver.port"]),
        ("{", []),
    ]:
        config.write_text(text)
        out = run(["render", str(prefixes["local"] / "spark-4.1-baseline")], env, check=2)
        for needle in [str(config), *needles]:
            assert needle in out.stderr, (text, out.stderr)


def test_not_found(tmp_path):
    env = clean_env(tmp_path, JUPYTER_PATH=tmp_path / "nothing")
    out = run(["render", "spark-9.9-baseline"], env, check=1)
    assert "spark-9.9-baseline" in out.stderr and str(tmp_path / "nothing") in out.stderr
