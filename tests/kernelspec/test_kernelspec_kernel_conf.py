"""test_kernelspec_kernel_conf.py — end to end: a spark-4.1-gpu-iceberg kernel whose
environment holds the RAPIDS and Iceberg jars, started by jupyter_client through
`spark-k8s kernel`, finds its variant's properties and those jars in
$SPARK_CONF_DIR/spark-defaults.conf; in an environment without the jars it finds
neither feature; spark-3.5-baseline never does; and the notebook gets the startup
file's lazy `spark`. No JVM starts here: the jars are files named like the real ones."""
from jupyter_client.manager import KernelManager

from support.cli import clean_env, run
from support.envs import env_python, env_view, env_view_with_jars
from support.kernels import execute

READ_CONF = 'print(open(os.environ["SPARK_CONF_DIR"] + "/spark-defaults.conf").read())'


def run_kernel(installed, tmp_path, name, code, kernels=None, **extra_env):
    env = clean_env(tmp_path, **extra_env)
    km = KernelManager(kernel_name=name)
    km.kernel_spec_manager.kernel_dirs = [str(kernels or installed / "share/jupyter/kernels")]
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        return [execute(kc, c) for c in code]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def conf_lines(text):
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1]
            for line in text.splitlines() if line and not line.startswith("#")}


def test_gpu_iceberg_kernel_has_rapids_and_iceberg(installed, tmp_path, matrix):
    python = env_view_with_jars(tmp_path / "env", "4.1", matrix)
    prefix = tmp_path / "p"
    run(["kernelspec", "install", "--prefix", str(prefix), "--spark", "4.1", "--variant",
         "gpu-iceberg", "--python", str(python)], clean_env(tmp_path), check=0)
    (reply, out, _, _), (_, _, _, spark) = run_kernel(
        installed, tmp_path, "spark-4.1-gpu-iceberg", ["import os\n" + READ_CONF, "repr(spark)"],
        kernels=prefix / "share/jupyter/kernels")
    assert reply["status"] == "ok", reply
    conf = conf_lines(out)
    assert conf["spark.master"] == "local[*]"
    jars = tmp_path / "env/share/spark-k8s/jars"
    assert sorted(conf["spark.driver.extraClassPath"].split(":")) == sorted(str(p) for p in jars.iterdir())
    assert "spark.jars" not in conf
    assert conf["spark.plugins"] == "com.nvidia.spark.SQLPlugin"
    assert conf["spark.rapids.sql.enabled"] == "true"
    assert conf["spark.sql.extensions"] == \
        "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
    assert conf["spark.sql.catalog.iceberg"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.iceberg.type"] == "hadoop"
    assert conf["spark.sql.catalog.iceberg.warehouse"] == "iceberg-warehouse"
    assert "starts on first use" in spark


def test_gpu_iceberg_kernel_without_its_jars_has_neither(installed, tmp_path):
    # the installed environments hold the jars (make install): one that does not
    python = env_view(env_python("4.1"), tmp_path / "env")
    prefix = tmp_path / "p"
    run(["kernelspec", "install", "--prefix", str(prefix), "--spark", "4.1", "--variant",
         "gpu-iceberg", "--python", str(python)], clean_env(tmp_path), check=0)
    (reply, out, err, _), = run_kernel(installed, tmp_path, "spark-4.1-gpu-iceberg",
                                       ["import os\n" + READ_CONF],
                                       kernels=prefix / "share/jupyter/kernels")
    assert reply["status"] == "ok", reply
    conf = conf_lines(out)
    assert "spark.plugins" not in conf and "spark.sql.extensions" not in conf, conf
    assert "spark.jars" not in conf and "spark.driver.extraClassPath" not in conf
    assert "RAPIDS is off in this kernel" in err and "Iceberg is off in this kernel" in err


def test_baseline_kernel_has_neither(installed, tmp_path):
    (reply, out, _, _), = run_kernel(installed, tmp_path, "spark-3.5-baseline",
                                     ["import os\n" + READ_CONF])
    assert reply["status"] == "ok", reply
    conf = conf_lines(out)
    assert conf["spark.master"] == "local[*]"
    assert not [k for k in conf if k.startswith("spark.rapids") or k == "spark.plugins"]
    assert not [k for k in conf if k.startswith("spark.sql.catalog") or k == "spark.sql.extensions"]


def test_admin_env_reaches_the_kernel(installed, tmp_path):
    """SPARK_K8S_* in the kernel's environment (as Jupyter Server passes it) shape the conf."""
    (reply, out, _, _), = run_kernel(installed, tmp_path, "spark-4.1-baseline",
                                     ["import os\n" + READ_CONF], SPARK_K8S_DRIVER_MEMORY="3g")
    assert reply["status"] == "ok", reply
    assert conf_lines(out)["spark.driver.memory"] == "3g"
