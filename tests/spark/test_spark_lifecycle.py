"""test_spark_lifecycle.py — how a real Spark kernel ends, for each Spark line: after
shutdown, restart and a SIGKILL of the launcher no JVM and no Python is left; a
session that cannot start (no Java, a bad property) fails its cell with the JVM's
own words and the kernel keeps serving; the kernelspec's own properties (--conf,
--driver-memory) are what the live session holds."""
import os
import signal

from support.kernels import Kernel, START_S, install_kernelspec, java_processes, wait_gone
from support.procs import describe


def started(prefix, home, line, name=None, **env):
    k = Kernel(name or f"spark-{line}-baseline", prefix.kernels if name is None else home.kernels,
                 home, **env)
    assert k.ok("spark.range(10).count()").result == "10"
    procs = k.processes()
    assert java_processes(procs), f"no JVM under the kernel: {describe(procs)}"
    return k, procs


def test_shutdown_leaves_no_jvm(prefix, home, line):
    k, procs = started(prefix, home, line)
    k.close()
    alive = wait_gone(procs)
    assert alive == [], f"left after shutdown: {describe(alive)}"


def test_restart_leaves_no_jvm_and_the_new_kernel_serves(prefix, home, line):
    k, procs = started(prefix, home, line)
    try:
        k.km.restart_kernel(now=False)
        alive = wait_gone(procs)
        assert alive == [], f"left after restart: {describe(alive)}"
        k.kc.wait_for_ready(timeout=START_S)
        k.drain()
        assert k.ok("spark.range(4).count()").result == "4"
        procs = k.processes()
    finally:
        k.close()
    assert wait_gone(procs) == []


def test_sigkill_of_the_launcher_leaves_no_jvm(prefix, home, line):
    k, procs = started(prefix, home, line)
    try:
        os.kill(k.launcher.pid, signal.SIGKILL)
        alive = wait_gone(procs)
        assert alive == [], f"left after the launcher's SIGKILL: {describe(alive)}"
    finally:
        k.kc.stop_channels()
        k.km.cleanup_resources()


def test_no_java_fails_the_cell_with_the_jvm_s_words(prefix, home, line):
    k = Kernel(f"spark-{line}-baseline", prefix.kernels, home,
                 JAVA_HOME="/nonexistent/jdk-for-this-test")
    try:
        cell = k.execute("spark.range(3).count()")
        assert cell.status == "error", cell
        text = cell.reply["evalue"]
        assert "Spark did not start" in text, cell
        assert "/nonexistent/jdk-for-this-test" in text, cell
        assert k.ok("6 * 7").result == "42"  # the kernel keeps serving
    finally:
        procs = k.processes()
        k.close()
    assert wait_gone(procs) == []


def test_bad_property_fails_the_cell_with_the_jvm_s_words(prefix, home, line):
    install_kernelspec(prefix, home, "--spark", line, "--name", "bad-heap",
                         "--conf", "spark.driver.memory=lots")
    k = Kernel("bad-heap", home.kernels, home)
    try:
        cell = k.execute("spark.range(3).count()")
        assert cell.status == "error", cell
        assert "Spark did not start" in cell.reply["evalue"], cell
        assert "-Xmxlots" in cell.reply["evalue"], cell  # the JVM's own complaint
        assert k.ok("6 * 7").result == "42"
    finally:
        procs = k.processes()
        k.close()
    assert wait_gone(procs) == []


def test_kernelspec_properties_are_live(prefix, home, line):
    install_kernelspec(prefix, home, "--spark", line, "--name", "props",
                         "--driver-memory", "1g", "--conf", "spark.sql.shuffle.partitions=7",
                         "--conf", "spark.app.name=spark-k8s props test")
    k = Kernel("props", home.kernels, home)
    try:
        got = k.value("spark.conf.get('spark.sql.shuffle.partitions'), "
                      "sc.getConf().get('spark.driver.memory'), sc.appName")
        assert got == ("7", "1g", "spark-k8s props test")
        # the JVM really got the heap the property asks for (not only the conf entry)
        heap = k.value("sc._jvm.java.lang.Runtime.getRuntime().maxMemory()")
        assert 0.5 * 2**30 < heap <= 2**30, heap
    finally:
        procs = k.processes()
        k.close()
    assert wait_gone(procs) == []
