"""spark_k8s_session: the notebook's Spark session in a spark-k8s kernel.

Every spark-k8s kernelspec ships this package beside its IPython startup file
(spark_session.py), which the runtime command runs at kernel start
(--IPKernelApp.exec_files={resource_dir}/spark_session.py) and which calls install().
It gives the notebook:

  spark     a SparkSession built the first time it is used, from the properties
            in $SPARK_CONF_DIR/spark-defaults.conf that spark-k8s wrote for this
            kernel (a kernel that never touches Spark never starts a JVM); the
            cell that starts it shows a link to the Spark UI
  sc        its SparkContext, just as lazy
  spark_k8s this kernel's helper: ui_url, connect_url, conf_dir, spark_log, gpu_plan(df)
  %spark_progress on | off | SECONDS
  %%spark_conf [--restart]   Spark properties for this notebook's session, within
            the admin's limits (notebook_conf.py); %spark_conf shows them

On Kubernetes without a shared warehouse the session refuses new managed tables of
spark_catalog, which the executors would write into their own pods (tables.py).

A session that cannot start (no Java, a bad property) fails the cell with the
JVM's own last words, not only PySpark's "Java gateway process exited" (jvm.py).

Interrupting a cell cancels the Spark jobs running at that moment; a second
interrupt abandons the Spark call at once (interrupts.py). An interrupt while the
session starts lets the start finish, then ends the cell (session.py).

A kernel whose properties start a Spark Connect server (spark.plugins names
SparkConnectPlugin) starts its session at kernel start, in the background, and
the first cell tells the sc:// address. Without an importable pyspark the kernel
defines neither `spark` nor `sc` and the first cell shows one line saying so.

    settings.py    the kernel's spark-defaults.conf and the notebook settings in it
    jvm.py         the JVM's last words
    session.py     the session: lazy start, announcement, `spark` and `sc`
    interrupts.py  interrupts and the cancellation of Spark jobs
    cells.py       before and after each cell; the progress display's wiring
    progress.py    the progress display under the running cell
    tables.py      the managed-table guard
    helper.py      `spark_k8s` and %spark_progress

Nothing here imports pyspark until the session starts.
"""
import importlib.util
import os
import sys


def tell_once(shell, text):
    """Show TEXT on stderr of the next cell that runs."""
    def hook(*_args):
        shell.events.unregister("pre_run_cell", hook)
        print(text, file=sys.stderr)
    shell.events.register("pre_run_cell", hook)


def install(shell=None):
    """Give the notebook of SHELL (IPython's running shell by default) `spark`, `sc`,
    `spark_k8s` and %spark_progress; returns the Session (None without IPython or
    pyspark)."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return None
        shell = get_ipython()
        if shell is None:
            return None
    if importlib.util.find_spec("pyspark") is None:
        note = ("spark-k8s: pyspark is not importable by %s; `spark` and `sc` are not "
                "defined in this kernel." % sys.executable)
        print(note, file=sys.__stderr__)
        tell_once(shell, note)
        return None

    from . import tables
    from .cells import Cells
    from .helper import SparkK8s, progress_magic
    from .interrupts import Interrupts
    from .notebook_conf import spark_conf_magic
    from .session import Session, publish_ui
    from .settings import Settings

    # Python workers of local-mode executors run this interpreter, not the first
    # python3 on PATH (which lacks this environment's pandas and pyarrow).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    settings = Settings.from_environment()
    session = Session(shell, settings)
    interrupts = Interrupts(session)
    cells = Cells(shell, session, interrupts, settings)
    session.started_hooks.append(interrupts.watch_cancellations)
    session.started_hooks.append(publish_ui)
    if not settings.shared_warehouse:
        guarded = []

        def guard_tables(_spark):  # once: a restarted session is guarded by the same
            if not guarded:
                guarded.append(tables.install(lambda: session.spark))
        session.started_hooks.append(guard_tables)
    session.main_thread_use = cells.session_used

    shell.user_ns["spark"] = session.lazy_spark
    shell.user_ns["sc"] = session.lazy_sc
    shell.user_ns["spark_k8s"] = SparkK8s(session, cells)
    shell.register_magic_function(progress_magic(cells), "line", "spark_progress")
    shell.register_magic_function(spark_conf_magic(session.conf), "line_cell", "spark_conf")
    cells.register()

    # A Spark Connect server must be up before any cell asks for it.
    if settings.starts_connect_server:
        session.start_in_background()
    return session
