"""test_spark_session.py — the notebook's Spark session with real PySpark, for each
Spark line, in the installed spark-LINE-baseline kernel behind `spark-k8s kernel`:
lazy until used; a query's exact answer; the Spark version of the kernelspec's line;
every property of the kernel's spark-defaults.conf live in the SparkContext; the
Spark UI's link shown when the session starts; an interrupt cancels the running
jobs and the next cell runs; a second interrupt abandons a JVM call that is no job.
"""
import io
import time

from spark_k8s_session.settings import parse_properties

from support.kernels import Kernel, java_processes, wait_gone
from support.paths import LINES

LONG_JOB = ('print("job starting", flush=True)\n'
            'spark.range(0, 10**13, numPartitions=2).selectExpr("max(id)").collect()')


def test_spark_is_lazy_until_used(kernel):
    cell = kernel.ok("repr(spark), repr(sc)")
    assert "starts on first use" in cell.result, cell
    assert java_processes(kernel.processes()) == [], "a JVM before anything used Spark"


def test_first_query_exact_answer_and_ui_link(kernel):
    cell = kernel.ok('spark.range(10**6).selectExpr("sum(id)").collect()[0][0]')
    assert cell.result == "499999500000", cell
    ui = kernel.value("sc.uiWebUrl")
    assert ui.startswith("http://"), ui
    html = [c["data"].get("text/html", "") for kind, c in cell.displays if kind == "display_data"]
    assert any(f'href="{ui}"' in x for x in html), (ui, cell.displays)
    assert java_processes(kernel.processes()), "no JVM under the kernel"
    # the real objects from now on
    assert kernel.value("type(spark).__name__, type(sc).__name__") == \
        ("SparkSession", "SparkContext")


def test_version_is_the_kernelspecs_line(kernel, line):
    assert kernel.value("spark.version") == LINES[line]
    assert kernel.value("__import__('pyspark').__version__") == LINES[line]


def test_every_property_of_spark_defaults_is_live(kernel):
    text = kernel.value("open(spark_k8s.conf_dir + '/spark-defaults.conf').read()")
    props = parse_properties(io.StringIO(text))
    assert props["spark.master"] == "local[*]", props
    live = dict(kernel.value("sorted(sc.getConf().getAll())"))
    differ = {k: (v, live.get(k)) for k, v in props.items() if live.get(k) != v}
    assert differ == {}, f"spark-defaults.conf says one thing, the SparkContext another: {differ}"


def test_interrupt_cancels_the_running_job_and_the_next_cell_runs(kernel):
    kernel.ok("spark.version")  # the interrupt is for the job, not the session's start
    started = []

    def running(cell):
        if "job starting" in cell.out and not started:
            started.append(time.monotonic())
        return started and time.monotonic() - started[0] > 4

    cell = kernel.execute(LONG_JOB, interrupt_when=running)
    assert cell.status == "error", cell
    assert cell.reply["ename"] == "KeyboardInterrupt", cell
    # the job is cancelled (the status tracker's listener catches up on its own time)
    active = kernel.value(
        "import time\n"
        "t = time.monotonic()\n"
        "while sc.statusTracker().getActiveJobsIds() and time.monotonic() - t < 60:\n"
        "    time.sleep(0.2)\n"
        "sorted(sc.statusTracker().getActiveJobsIds())")
    assert active == [], f"jobs still running after the interrupt: {active}"
    assert kernel.ok("spark.range(1000).selectExpr('sum(id)').collect()[0][0]").result == "499500"


def test_interrupt_of_a_python_udf_job(kernel):
    kernel.ok("spark.version")
    code = ('print("job starting", flush=True)\n'
            'sc.parallelize(range(2), 2).map(lambda x: __import__("time").sleep(3600)).count()')
    started = []

    def running(cell):
        if "job starting" in cell.out and not started:
            started.append(time.monotonic())
        return started and time.monotonic() - started[0] > 6

    cell = kernel.execute(code, interrupt_when=running)
    assert cell.reply["ename"] == "KeyboardInterrupt", cell
    assert kernel.ok("sc.parallelize(range(10), 2).map(lambda x: x * x).sum()").result == "285"


def test_second_interrupt_abandons_a_jvm_call_that_is_no_job(kernel):
    """A JVM call that runs no job cannot be cancelled: the second interrupt gives it up,
    and the next Spark call gets a fresh connection (no stale answer)."""
    kernel.ok("spark.version")
    # "calling" is printed once the main thread is inside Py4J's call (seen from its stack
    # by a thread of the cell's own): printed before the call, the first interrupt could
    # land in print's flush and end the cell there (a fresh-clone run saw it)
    code = ('import sys, threading, time\n'
            'def _tell(main=threading.main_thread().ident):\n'
            '    while True:\n'
            '        f, names = sys._current_frames().get(main), set()\n'
            '        while f is not None:\n'
            '            names.add(f.f_code.co_name)\n'
            '            f = f.f_back\n'
            '        if "send_command" in names:\n'
            '            return print("calling", flush=True)\n'
            '        time.sleep(0.01)\n'
            'threading.Thread(target=_tell, daemon=True).start()\n'
            'spark.sparkContext._jvm.java.lang.Thread.sleep(600000)')
    sent = []

    # interrupt once (by hand), then let Kernel.execute send the second one
    def first_then_second(cell):
        if "calling" in cell.out and len(sent) == 0:
            sent.append(time.monotonic())
            kernel.km.interrupt_kernel()
            return False
        if len(sent) == 1 and time.monotonic() - sent[0] > 5:
            sent.append(time.monotonic())
            return True
        return False

    cell = kernel.execute(code, interrupt_when=first_then_second)
    # the first interrupt cancels the Spark jobs (there are none) and leaves the call to
    # return: the cell goes on; only the second one ends it, giving the call up
    assert len(sent) == 2, f"the cell ended at the first interrupt: {cell}"
    assert cell.reply["ename"] == "KeyboardInterrupt", cell
    assert "Spark jobs cancelled" not in cell.reply["evalue"], cell  # given up, not returned
    assert kernel.ok("spark.range(7).count()").result == "7"


def test_interrupt_while_the_session_starts(prefix, home, line):
    """The start is let finish (a SparkContext cut short could not be made again in
    that JVM), the cell ends with KeyboardInterrupt, and the next cell has the session."""
    k = Kernel(f"spark-{line}-baseline", prefix.kernels, home)
    try:
        cell = k.execute('print("starting", flush=True)\nspark.range(3).count()',
                         interrupt_when=lambda c: "starting" in c.out)
        assert cell.reply["ename"] == "KeyboardInterrupt", cell
        assert k.ok("spark.range(5).count()").result == "5"
    finally:
        procs = k.processes()
        k.close()
        assert wait_gone(procs) == []
