"""test_logging.py — the kernelspec's log4j2.properties, with real Spark on each line:
the driver's warnings reach the cell that caused them, Spark's start-up notices do not,
and dynamic allocation's note that an idle executor it chose got busy before the kill
("Unable to reach the cluster manager to kill executor/s N or no executor eligible to
kill!", nothing failed) is filtered while its other warnings still show. A job that
fails in a UDF shows the Python traceback and Spark's error, not the tasks' reports
and their JVM stack traces: those are in the driver's log, which the cell names."""
import os
import re
import time

ALLOCATION = "org.apache.spark.ExecutorAllocationManager"
RACE = "Unable to reach the cluster manager to kill executor/s 2 or no executor eligible to kill!"
REAL = "Unable to reach the cluster manager to request 3 total executors!"
FAILING_UDF = """\
from pyspark.sql.functions import udf

@udf("int")
def one_over(x):
    return 1 // (x - 3)

spark.range(6, numPartitions=3).select(one_over("id")).collect()
"""
LOG_LINE = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (INFO|WARN|ERROR) ", re.M)


def test_the_kernelspecs_logging_keeps_warnings_and_drops_the_kill_race(kernel):
    kernel.ok("spark.range(10).count()")
    code = ("_log = spark._jvm.org.apache.logging.log4j.LogManager.getLogger(%r)\n"
            "_log.warn(%r)\n_log.warn(%r)\n" % (ALLOCATION, RACE, REAL))
    cell = kernel.ok(code)
    err = cell.err
    deadline = time.monotonic() + 10
    while REAL not in err and time.monotonic() < deadline:   # the JVM's stderr is a pipe of its own
        err += kernel.ok("None").err
    assert "WARN ExecutorAllocationManager: " + REAL in err, cell
    assert RACE not in err, err
    assert "Using Spark's default log4j profile" not in err, err


def test_a_failed_udf_shows_its_traceback_and_names_the_log_with_the_rest(kernel):
    log = kernel.value("spark_k8s.spark_log")
    assert log.endswith("/spark.log") and log.startswith(kernel.value("spark_k8s.conf_dir")), log
    cell = kernel.execute(FAILING_UDF)
    assert cell.status == "error", cell
    [error] = cell.errors
    assert error["ename"] == "PythonException", error
    shown = "\n".join(error["traceback"])
    assert "ZeroDivisionError" in shown and "one_over" in shown, shown
    err = cell.err
    assert not LOG_LINE.search(err), err           # no task report, WARN or ERROR
    assert "\tat org.apache.spark" not in err, err  # no JVM stack trace
    assert err.strip() == "spark-k8s: Spark's log of this failure, with its JVM stack traces: %s" % log, err
    text = open(log, encoding="utf-8").read()
    assert re.search(r"WARN TaskSetManager: Lost task \S+ in stage \S+ \(TID \d+\) .*\): "
                     r"org\.apache\.spark\.api\.python\.PythonException", text), text[-3000:]
    assert "ZeroDivisionError" in text and "\tat org.apache.spark" in text, text[-3000:]
    assert re.search(r"ERROR TaskSetManager: Task \S+ in stage \S+ failed \d+ times?; aborting job", text)
    # the kernel goes on, and a good cell names no log
    again = kernel.ok("spark.range(5).count()")
    assert again.result == "5" and again.err == "", again
    assert os.path.getsize(log) > 0
