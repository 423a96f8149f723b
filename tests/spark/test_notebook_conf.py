"""test_notebook_conf.py — a notebook's own session settings (%%spark_conf,
spark_k8s.configure) held to the admin's limits: the parsing and the checks without
Spark, then with real Spark on each line, through a kernel whose launcher has limits
from SPARK_K8S_LIMIT_*: refusals naming the limit or the reason (and nothing applied),
settings that the session starts with, a running session told they apply at a
restart, and --restart starting a new session with them."""
import pytest

from spark_k8s_session.notebook_conf import Limits, SparkConfError, check, parse_body, size_mib
from support.kernels import started

LIMITS = {"spark.k8s.notebook.limits.executors": "2",
          "spark.k8s.notebook.limits.executorCores": "2",
          "spark.k8s.notebook.limits.executorMemory": "1g",
          "spark.k8s.notebook.limits.executorGpus": "0",
          "spark.k8s.notebook.limits.lockedProperties": "spark.sql.catalog.*,spark.jars"}


def test_a_body_is_properties_or_json():
    assert parse_body("# sizes\nspark.executor.memory 4g\n\nspark.executor.cores=2\n"
                      "spark.app.name  my notebook \n") == [
        ("spark.executor.memory", "4g"), ("spark.executor.cores", "2"),
        ("spark.app.name", "my notebook")]
    assert parse_body('{"spark.executor.instances": 3, "spark.eventLog.enabled": true}') == [
        ("spark.executor.instances", "3"), ("spark.eventLog.enabled", "true")]
    with pytest.raises(SparkConfError, match=r"line 2: 'spark.executor.cores' is not"):
        parse_body("spark.executor.memory 4g\nspark.executor.cores\n")
    with pytest.raises(SparkConfError, match="not a JSON object"):
        parse_body('{"spark.x": ')
    with pytest.raises(SparkConfError, match="not a text, number or boolean"):
        parse_body('{"spark.x": [1]}')


def test_sizes():
    assert size_mib("512m") == 512 and size_mib("4g") == 4096 and size_mib("1024") == 1024
    assert size_mib("2GB") == 2048 and size_mib("lots") is None


def test_checks_name_the_limit_or_the_reason():
    limits = Limits(LIMITS)
    assert limits.executors == 2 and limits.executor_memory_mib == 1024
    assert check([("spark.executor.instances", "2"), ("spark.executor.memory", "1g"),
                  ("spark.executor.cores", "2"), ("spark.sql.shuffle.partitions", "9"),
                  ("spark.dynamicAllocation.maxExecutors", "2")], limits) == []
    problems = check([("spark.executor.instances", "3"), ("spark.executor.memory", "2g"),
                      ("spark.executor.cores", "4"), ("spark.executor.resource.gpu.amount", "1"),
                      ("spark.dynamicAllocation.maxExecutors", "5"), ("spark.master", "local[1]"),
                      ("spark.kubernetes.namespace", "other"), ("spark.sql.catalog.x", "y"),
                      ("spark.jars", "/x.jar"), ("spark.executor.cores", "two"),
                      ("spark.k8s.notebook.limits.executors", "100"), ("hadoop.x", "1")], limits)
    assert problems == [
        "spark.executor.instances = 3 is more than the admin's limit of 2 executors (limits.executors)",
        "spark.executor.memory = 2g is more than the admin's limit of 1g per executor (limits.executor_memory)",
        "spark.executor.cores = 4 is more than the admin's limit of 2 cores per executor (limits.executor_cores)",
        "spark.executor.resource.gpu.amount = 1 is more than the admin's limit of 0 GPUs per executor "
        "(limits.executor_gpus)",
        "spark.dynamicAllocation.maxExecutors = 5 is more than the admin's limit of 2 executors (limits.executors)",
        "spark.master cannot be set from a notebook: the runtime sets it",
        "spark.kubernetes.namespace cannot be set from a notebook: the runtime's Kubernetes settings come "
        "from the kernelspec",
        "spark.sql.catalog.x cannot be set from a notebook: the admin locked it (limits.locked_properties)",
        "spark.jars cannot be set from a notebook: the admin locked it (limits.locked_properties)",
        "spark.executor.cores = 'two': expected a whole number of cores",
        "spark.k8s.notebook.limits.executors cannot be set from a notebook: spark-k8s's own settings come "
        "from the kernelspec",
        "'hadoop.x' is not a Spark property name (spark.…: letters, digits and . _ - [ ])"]
    # without limits only the runtime's own properties are refused
    assert check([("spark.executor.instances", "300"), ("spark.executor.memory", "64g")], Limits({})) == []


@pytest.fixture(scope="module")
def limited(prefix, home, line):
    """spark-LINE-baseline started by a launcher with the admin's limits."""
    yield from started(prefix, home, line, SPARK_K8S_LIMIT_EXECUTORS="2",
                       SPARK_K8S_LIMIT_EXECUTOR_MEMORY="1g",
                       SPARK_K8S_LIMIT_LOCKED_PROPERTIES="spark.sql.catalog.*")


def refused(kernel, code):
    """(ename, evalue) of the reply to CODE, which must fail (IPython shows a UsageError
    as a line on stderr, not as an error message): the kernel goes on serving."""
    cell = kernel.execute(code)
    assert cell.status == "error", cell
    if cell.reply["ename"] == "UsageError":
        assert cell.err.strip() == "UsageError: " + cell.reply["evalue"], cell
    return cell.reply["ename"], cell.reply["evalue"]


def test_settings_before_the_start_within_the_limits(limited):
    k = limited
    assert k.value("spark_k8s._session.spark is None")
    assert refused(k, "%%spark_conf\nspark.executor.memory 2g\nspark.sql.shuffle.partitions 5\n") == (
        "UsageError", "spark-k8s: not applied: spark.executor.memory = 2g is more than the admin's "
                      "limit of 1g per executor (limits.executor_memory)")
    name, text = refused(k, "%%spark_conf\nspark.master local[1]\nspark.sql.catalog.x y\n")
    assert name == "UsageError" and text.splitlines() == [
        "spark-k8s: not applied:",
        "  spark.master cannot be set from a notebook: the runtime sets it",
        "  spark.sql.catalog.x cannot be set from a notebook: the admin locked it (limits.locked_properties)"]
    name, text = refused(k, "spark_k8s.configure(executors=5)")
    assert name == "SparkConfError" and "limits.executors" in text, text
    assert k.value("spark_k8s._session.conf.pending") == {}   # nothing of a refused cell

    cell = k.ok("%%spark_conf\nspark.executor.memory 768m\nspark.sql.shuffle.partitions=7\n")
    assert cell.out.strip() == ("spark-k8s: the session will start with spark.executor.memory=768m, "
                                "spark.sql.shuffle.partitions=7"), cell
    assert k.value("spark_k8s._session.spark is None")   # still not started
    assert k.value("spark.conf.get('spark.sql.shuffle.partitions')") == "7"
    assert k.value("sc.getConf().get('spark.executor.memory')") == "768m"
    shown = k.ok("%spark_conf").out
    assert "spark.executor.memory=768m" in shown and "at most 2 executors (limits.executors)" in shown, shown


def test_a_running_session_takes_them_at_a_restart(limited):
    k = limited
    first = k.value("sc.applicationId")
    cell = k.ok("%%spark_conf\nspark.sql.shuffle.partitions 9\n")
    assert "the Spark session is running; spark.sql.shuffle.partitions=9 apply when it restarts" in cell.out, cell
    assert k.value("spark.conf.get('spark.sql.shuffle.partitions')") == "7"
    cell = k.ok('%%spark_conf --restart\n{"spark.sql.shuffle.partitions": 11}\n')
    assert "spark-k8s: the Spark session restarted with spark.sql.shuffle.partitions=11" in cell.out, cell
    assert k.value("spark.conf.get('spark.sql.shuffle.partitions')") == "11"
    assert k.value("sc.getConf().get('spark.executor.memory')") == "768m"   # asked for before
    assert k.value("sc.applicationId") != first
    assert k.value("spark.range(10**5).selectExpr('sum(id)').collect()[0][0]") == 4999950000
    assert k.value("sc is spark.sparkContext")
