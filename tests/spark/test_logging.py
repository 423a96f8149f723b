"""test_logging.py — the kernelspec's log4j2.properties, with real Spark on each line:
the driver's warnings reach the cell that caused them, Spark's start-up notices do not,
and dynamic allocation's note that an idle executor it chose got busy before the kill
("Unable to reach the cluster manager to kill executor/s N or no executor eligible to
kill!", nothing failed) is filtered while its other warnings still show."""
import time

ALLOCATION = "org.apache.spark.ExecutorAllocationManager"
RACE = "Unable to reach the cluster manager to kill executor/s 2 or no executor eligible to kill!"
REAL = "Unable to reach the cluster manager to request 3 total executors!"


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
