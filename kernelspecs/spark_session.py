"""spark-k8s: the notebook's Spark session (an IPython startup file).

Every spark-k8s kernelspec ships this file and its runtime command runs it at
kernel start (--IPKernelApp.exec_files={resource_dir}/spark_session.py). It gives
the notebook:

  spark  a SparkSession built the first time it is used, from the properties
         in $SPARK_CONF_DIR/spark-defaults.conf that spark-k8s wrote for this
         kernel (a kernel that never touches Spark never starts a JVM);
  sc     its SparkContext, just as lazy.

Without an importable pyspark it defines neither and the first cell shows one
line saying so. Interrupting a cell also cancels the Spark jobs running at that
moment (SparkContext.cancelAllJobs), so an interrupt never leaves executors busy.
"""


def _spark_k8s_install():
    import importlib.util
    import signal
    import sys
    import threading

    try:
        shell = get_ipython()  # noqa: F821 (IPython defines it)
    except NameError:
        shell = None
    if shell is None:
        return

    if importlib.util.find_spec("pyspark") is None:
        note = ("spark-k8s: pyspark is not importable by %s; `spark` and `sc` are not "
                "defined in this kernel." % sys.executable)
        print(note, file=sys.__stderr__)

        def tell_once(*_args):
            shell.events.unregister("pre_run_cell", tell_once)
            print(note, file=sys.stderr)

        shell.events.register("pre_run_cell", tell_once)
        return

    state = {"session": None}

    def session():
        if state["session"] is None:
            from pyspark.sql import SparkSession

            state["session"] = SparkSession.builder.getOrCreate()
            # From now on the notebook sees the real objects, unless it rebound the names.
            if shell.user_ns.get("spark") is lazy_spark:
                shell.user_ns["spark"] = state["session"]
            if shell.user_ns.get("sc") is lazy_sc:
                shell.user_ns["sc"] = state["session"].sparkContext
        return state["session"]

    class LazySparkSession:
        """The notebook's SparkSession; built from SPARK_CONF_DIR on first use."""

        __slots__ = ()

        def __getattr__(self, name):
            return getattr(session(), name)

        def __dir__(self):
            from pyspark.sql import SparkSession

            return dir(SparkSession)

        def __repr__(self):
            if state["session"] is None:
                return "<SparkSession: starts on first use (spark-k8s)>"
            return repr(state["session"])

    class LazySparkContext:
        """The notebook's SparkContext; starts the SparkSession on first use."""

        __slots__ = ()

        def __getattr__(self, name):
            return getattr(session().sparkContext, name)

        def __repr__(self):
            if state["session"] is None:
                return "<SparkContext: starts on first use (spark-k8s)>"
            return repr(state["session"].sparkContext)

    lazy_spark = LazySparkSession()
    lazy_sc = LazySparkContext()
    shell.user_ns["spark"] = lazy_spark
    shell.user_ns["sc"] = lazy_sc

    def cancel_jobs():
        if state["session"] is None:
            return
        try:
            state["session"].sparkContext.cancelAllJobs()
        except Exception as exc:  # the interrupt itself must still happen
            print("spark-k8s: could not cancel the Spark jobs: %s" % exc, file=sys.stderr)

    # ipykernel installs signal.default_int_handler around each request; while a cell
    # runs, ours stands in front of it: cancel the jobs, then interrupt as before.
    def on_sigint(signum, frame):
        cancel_jobs()
        previous = on_sigint.previous
        if callable(previous):
            return previous(signum, frame)
        raise KeyboardInterrupt

    on_sigint.previous = None

    def before_cell(*_args):
        if threading.current_thread() is not threading.main_thread():
            return
        current = signal.getsignal(signal.SIGINT)
        if current is not on_sigint:
            on_sigint.previous = current
            signal.signal(signal.SIGINT, on_sigint)

    shell.events.register("pre_run_cell", before_cell)


_spark_k8s_install()
del _spark_k8s_install
