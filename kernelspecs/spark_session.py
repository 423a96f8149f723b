"""spark-k8s: the notebook's Spark session (an IPython startup file).

Every spark-k8s kernelspec ships this file and its runtime command runs it at
kernel start (--IPKernelApp.exec_files={resource_dir}/spark_session.py). It gives
the notebook:

  spark     a SparkSession built the first time it is used, from the properties
            in $SPARK_CONF_DIR/spark-defaults.conf that spark-k8s wrote for this
            kernel (a kernel that never touches Spark never starts a JVM); the
            cell that starts it shows a link to the Spark UI
  sc        its SparkContext, just as lazy
  spark_k8s this kernel's helper: ui_url, connect_url, conf_dir, gpu_plan(df)

On Kubernetes without a shared warehouse the session refuses new managed tables of
spark_catalog, which the executors would write into their own pods (spark_tables.py).

A session that cannot start (no Java, a bad property) fails the cell with the
JVM's own last words, not only PySpark's "Java gateway process exited".

Interrupting a cell cancels the Spark jobs running at that moment, from a thread
of its own (py4j pins one connection to each thread: a call made from the
interrupted thread would be written into the connection that waits for the
running job). While the interrupted cell waits inside a Spark call, that call is
left to return, cancelled, and the cell ends with KeyboardInterrupt; a second
interrupt abandons the call at once (its connection is closed, so the next call
starts clean). An interrupt while the session starts lets the start finish (a
SparkContext cut short in its constructor could not be made again in that JVM),
then ends the cell.

A kernel whose properties start a Spark Connect server (spark.plugins names
SparkConnectPlugin) starts its session at kernel start, in the background, and
the first cell tells the sc:// address. Without an importable pyspark the kernel
defines neither `spark` nor `sc` and the first cell shows one line saying so.
"""


def _spark_k8s_install():
    import importlib.util
    import os
    import signal
    import sys
    import threading

    try:
        shell = get_ipython()  # noqa: F821 (IPython defines it)
    except NameError:
        shell = None
    if shell is None:
        return

    def tell_once(text):
        """Show TEXT on stderr of the next cell that runs."""
        def hook(*_args):
            shell.events.unregister("pre_run_cell", hook)
            print(text, file=sys.stderr)
        shell.events.register("pre_run_cell", hook)

    if importlib.util.find_spec("pyspark") is None:
        note = ("spark-k8s: pyspark is not importable by %s; `spark` and `sc` are not "
                "defined in this kernel." % sys.executable)
        print(note, file=sys.__stderr__)
        tell_once(note)
        return

    try:  # beside this file, which IPython runs with its folder on sys.path
        import spark_progress
    except ImportError:
        spark_progress = None
    try:
        import spark_tables
    except ImportError:
        spark_tables = None
    conf_dir = os.environ.get("SPARK_CONF_DIR", "")
    # Python workers of local-mode executors run this interpreter, not the first
    # python3 on PATH (which lacks this environment's pandas and pyarrow).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    def read_defaults():
        """spark-defaults.conf as a dict (java.util.Properties' escapes undone)."""
        props = {}
        try:
            with open(os.path.join(conf_dir, "spark-defaults.conf"), encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if not line or line[0] in "#!":
                        continue
                    key, _, value = line.partition(" ")
                    value = value.lstrip()
                    out, i = [], 0
                    while i < len(value):
                        if value[i] == "\\" and i + 1 < len(value):
                            i += 1
                        out.append(value[i])
                        i += 1
                    props[key] = "".join(out)
        except OSError:
            pass
        return props

    defaults = read_defaults()
    state = {"session": None, "error": None, "cancelling": False, "announce": None,
             "starting": False, "interrupted": False, "lock": threading.RLock(),
             "cell": 0, "progress": None, "parent": None, "cell_interrupted": False}
    state["progress_on"] = defaults.get("spark.k8s.notebook.progress", "true") == "true"
    try:
        state["progress_interval"] = max(0.1, int(defaults.get(
            "spark.k8s.notebook.progress.intervalMs", "500")) / 1000.0)
    except ValueError:
        state["progress_interval"] = 0.5

    # ---- the JVM's own words ------------------------------------------------------

    class StderrTail:
        """While a session starts, fd 2 is a pipe read by a thread that passes every
        byte on to the real stderr (the notebook) and keeps the last few KB: the JVM
        inherits the pipe, so its last words can be put into the cell's error."""

        def __init__(self):
            self.tail = b""
            self.read_fd, write_fd = os.pipe()
            self.saved = os.dup(2)
            sys.stderr.flush()
            os.dup2(write_fd, 2)
            os.close(write_fd)
            self.thread = threading.Thread(target=self.pump, name="spark-k8s-stderr",
                                           daemon=True)
            self.thread.start()

        def pump(self):
            while True:
                try:
                    data = os.read(self.read_fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.tail = (self.tail + data)[-8192:]
                # Java 17 announces Spark 4's incubator module at every start
                data = data.replace(b"WARNING: Using incubator modules: jdk.incubator.vector\n", b"")
                try:
                    if data:
                        os.write(self.saved, data)
                except OSError:
                    pass

        def restore(self):
            """fd 2 back as it was; the pump goes on for the JVM's later output."""
            sys.stderr.flush()
            os.dup2(self.saved, 2)

        def last_words(self):
            lines = [ln for ln in self.tail.decode("utf-8", "replace").splitlines()
                     if ln.strip() and not ln.startswith("WARNING: Using incubator")]
            return "\n".join(lines[-15:])

    # ---- the session --------------------------------------------------------------

    def describe(session):
        sc_ = session.sparkContext
        return {"version": session.version, "master": sc_.master, "app_id": sc_.applicationId,
                "ui": sc_.uiWebUrl or "", "connect": connect_url(session)}

    def connect_url(session=None):
        plugins = defaults.get("spark.plugins", "")
        if "SparkConnectPlugin" not in plugins:
            return None
        port = defaults.get("spark.connect.grpc.binding.port", "15002")
        token = defaults.get("spark.connect.authenticate.token")
        url = "sc://localhost:%s" % port
        return url + ("/;token=%s" % token if token else "")

    def announce(info):
        """The session's start, as one display: text for every client, a link for
        those that render HTML."""
        import html
        text = "Spark %s (%s, %s)" % (info["version"], info["master"], info["app_id"])
        parts = ['<b>Spark %s</b> <code>%s</code> %s' % (
            html.escape(info["version"]), html.escape(info["master"]),
            html.escape(info["app_id"]))]
        pod = os.environ.get("SPARK_K8S_POD_NAME")
        if info["ui"] and pod:
            # in a pod the UI's address is the pod's, which a browser seldom reaches:
            # say where it is and how to get there instead of a dead link
            from urllib.parse import urlsplit
            port = urlsplit(info["ui"]).port or 4040
            ns = os.environ.get("SPARK_K8S_POD_NAMESPACE", "default")
            forward = "kubectl port-forward -n %s pod/%s %d" % (ns, pod, port)
            text += (" — Spark UI: port %d of the kernel's pod %s; to open it: %s, then "
                     "http://localhost:%d" % (port, pod, forward, port))
            parts.append("&mdash; Spark UI: port %d of the kernel's pod <code>%s</code>; to open "
                         "it: <code>%s</code>, then http://localhost:%d"
                         % (port, html.escape(pod), html.escape(forward), port))
        elif info["ui"]:
            text += " — Spark UI: %s" % info["ui"]
            parts.append('&mdash; <a href="%s" target="_blank">Spark UI</a>'
                         % html.escape(info["ui"], quote=True))
        if info["connect"]:
            shown = info["connect"].split("/;", 1)[0]
            text += " — Spark Connect: %s (spark_k8s.connect_url has the token)" % shown
            parts.append("&mdash; Spark Connect: <code>%s</code> "
                         "(<code>spark_k8s.connect_url</code> has the token)" % html.escape(shown))
        try:
            from IPython.display import display
            display({"text/plain": text, "text/html": " ".join(parts)}, raw=True)
        except Exception:
            print(text)

    class SignalShim:
        """pyspark.context's view of the signal module: SparkContext's own SIGINT
        handler (cancelAllJobs from the interrupted thread, on the connection that
        waits for the job) is never installed; ours does that job."""

        def __getattr__(self, name):
            return getattr(signal, name)

        @staticmethod
        def signal(signum, handler):
            if signum == signal.SIGINT:
                return signal.getsignal(signum)
            return signal.signal(signum, handler)

    def start_session():
        """Build the session (once); returns it, or raises with the JVM's words."""
        # From here an interrupt waits for the start (see on_sigint): one that came
        # inside an import would leave a half-imported numpy behind for good.
        state["starting"], state["interrupted"] = True, False
        try:
            import pyspark.context
            from pyspark.sql import SparkSession
        except BaseException:
            state["starting"] = False
            raise
        if getattr(pyspark.context, "signal", None) is signal:
            pyspark.context.signal = SignalShim()

        tail = StderrTail()
        before = signal.getsignal(signal.SIGINT) if in_main_thread() else None
        try:
            session = SparkSession.builder.getOrCreate()
        except BaseException as exc:
            tail.restore()
            words = tail.last_words()
            if isinstance(exc, KeyboardInterrupt) or not words:
                raise
            raise RuntimeError("Spark did not start. The JVM said:\n" + words) from exc
        finally:
            state["starting"] = False
        tail.restore()
        if before is not None and signal.getsignal(signal.SIGINT) is not before:
            signal.signal(signal.SIGINT, before)  # should SparkContext have set its own
        watch_cancellations()
        if defaults.get("spark.k8s.notebook.sharedWarehouse") == "false" and spark_tables:
            spark_tables.install(lambda: session)
        return session

    def session():
        with state["lock"]:
            if state["session"] is None:
                if state["error"] is not None:
                    error, state["error"] = state["error"], None
                    raise error
                state["session"] = start_session()
                if shell.user_ns.get("spark") is lazy_spark:
                    shell.user_ns["spark"] = state["session"]
                if shell.user_ns.get("sc") is lazy_sc:
                    shell.user_ns["sc"] = state["session"].sparkContext
                state["announce"] = describe(state["session"])
        if state["announce"] is not None and in_main_thread():
            info, state["announce"] = state["announce"], None
            announce(info)
        if in_main_thread() and state["parent"] is not None and state["progress"] is None:
            start_progress()  # the cell that started the session shows its jobs too
        if state["interrupted"] and in_main_thread():
            # interrupted while the JVM started: the session stands, the cell stops
            state["interrupted"] = False
            raise KeyboardInterrupt("interrupted while Spark started (the session is up)")
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

    class SparkK8s:
        """This kernel's spark-k8s helper."""

        __slots__ = ()

        @property
        def conf_dir(self):
            """The folder of the kernel's spark-defaults.conf."""
            return conf_dir

        @property
        def ui_url(self):
            """The Spark UI's address (None until the session runs)."""
            s = state["session"]
            return s.sparkContext.uiWebUrl if s is not None else None

        @property
        def connect_url(self):
            """The sc:// address of the kernel's Spark Connect server, with its token."""
            return connect_url()

        @property
        def progress(self):
            """Whether cells show their Spark jobs' progress (set False to stop)."""
            return state["progress_on"]

        @progress.setter
        def progress(self, on):
            state["progress_on"] = bool(on)

        @property
        def progress_interval(self):
            """Seconds between progress updates (at least 0.1)."""
            return state["progress_interval"]

        @progress_interval.setter
        def progress_interval(self, seconds):
            state["progress_interval"] = max(0.1, float(seconds))

        def gpu_plan(self, df, explain="ALL"):
            """What the RAPIDS Accelerator would run on a GPU for DF's query, operator by
            operator ("*Exec <ProjectExec> will run on GPU", "!Exec ... cannot run on GPU
            because ..."): RAPIDS' own ExplainPlan, which needs no GPU. EXPLAIN: ALL, or
            NOT_ON_GPU for what stays on the CPU only."""
            s = session()
            explain_plan = s._jvm.com.nvidia.spark.rapids.ExplainPlan
            if not callable(getattr(explain_plan, "explainPotentialGpuPlan", None)):
                raise RuntimeError("spark-k8s: the RAPIDS Accelerator is not on this kernel's "
                                   "class path: gpu_plan needs a gpu kernel")
            return GpuPlan(explain_plan.explainPotentialGpuPlan(df._jdf, explain))

        def __repr__(self):
            return "<spark-k8s: conf %s, Spark UI %s, Spark Connect %s, progress %s>" % (
                conf_dir, self.ui_url or "(not started)",
                (connect_url() or "off").split("/;", 1)[0],
                "every %.1f s" % state["progress_interval"] if state["progress_on"] else "off")

    class GpuPlan(str):
        """RAPIDS' plan explanation, shown as the text it is."""

        __slots__ = ()

        def __repr__(self):
            return str(self)

    lazy_spark = LazySparkSession()
    lazy_sc = LazySparkContext()
    shell.user_ns["spark"] = lazy_spark
    shell.user_ns["sc"] = lazy_sc
    shell.user_ns["spark_k8s"] = SparkK8s()

    def spark_progress_magic(line):
        """%spark_progress on | off | SECONDS: Spark's progress under the cells of this
        notebook, on (at SECONDS between updates) or off."""
        arg = line.strip().lower()
        if arg in ("on", ""):
            state["progress_on"] = True
        elif arg == "off":
            state["progress_on"] = False
        else:
            try:
                state["progress_interval"] = max(0.1, float(arg))
                state["progress_on"] = True
            except ValueError:
                print("usage: %spark_progress on | off | SECONDS", file=sys.stderr)
                return
        print("spark-k8s: progress %s" % ("every %.1f s" % state["progress_interval"]
                                           if state["progress_on"] else "off"))

    shell.register_magic_function(spark_progress_magic, "line", "spark_progress")

    # ---- progress -------------------------------------------------------------------

    def send_to_cell(parent):
        """A function that publishes a message on iopub in the cell PARENT started."""
        pub = shell.display_pub

        def send(msg_type, content):
            pub.session.send(pub.pub_socket, msg_type, content, parent=parent, ident=pub.topic)
        return send

    def start_progress():
        s = state["session"]
        if s is None or not state["progress_on"] or state["parent"] is None or spark_progress is None:
            return
        state["cell"] += 1
        tag = "spark-k8s-cell-%d" % state["cell"]
        try:
            s.sparkContext.addJobTag(tag)
        except Exception:
            return  # the session is not usable: the cell will say why
        state["progress"] = spark_progress.CellProgress(
            s.sparkContext, tag, state["progress_interval"], send_to_cell(state["parent"]),
            cancelled=lambda: state["cell_interrupted"])

    def finish_progress(*_args):
        p, state["progress"] = state["progress"], None
        state["parent"] = None
        if p is None:
            return
        try:
            p.finish()
        finally:
            try:
                state["session"].sparkContext.removeJobTag(p.tag)
            except Exception:
                pass

    # ---- interrupts ---------------------------------------------------------------

    def in_main_thread():
        return threading.current_thread() is threading.main_thread()

    def in_py4j(frame):
        """Whether FRAME is inside a py4j call (the thread waits on its connection)."""
        marker = os.sep + "py4j" + os.sep
        while frame is not None:
            if marker in frame.f_code.co_filename:
                return True
            frame = frame.f_back
        return False

    def cancel_jobs(keep_on=False):
        """SparkContext.cancelAllJobs from a thread of its own (its own connection).
        KEEP_ON: go on cancelling, twice a second for up to a minute, the jobs that
        start while the interrupted call has not returned (an interrupt that came
        before its job was submitted must still stop it)."""
        s = state["session"]
        if s is None:
            return

        def run():
            import time
            deadline = time.monotonic() + 60
            try:
                s.sparkContext.cancelAllJobs()
                while keep_on:
                    time.sleep(0.5)
                    # only while the interrupted call has not returned: a later
                    # cell's jobs are not this interrupt's to cancel
                    if not state["cancelling"] or time.monotonic() > deadline:
                        return
                    s.sparkContext.cancelAllJobs()
            except Exception as exc:  # the interrupt itself must still happen
                print("spark-k8s: could not cancel the Spark jobs: %s" % exc, file=sys.stderr)

        threading.Thread(target=run, name="spark-k8s-cancel", daemon=True).start()

    def abandon_call():
        """Close this thread's py4j connection: the call waiting on it is given up,
        and the next call opens a fresh one instead of reading a stale answer."""
        try:
            client = state["session"].sparkContext._gateway._gateway_client
            conn = client.get_thread_connection()
            if conn is not None:
                conn.close(reset=True)
        except Exception:
            pass

    # ipykernel installs signal.default_int_handler around each request; while a cell
    # runs, ours stands in front of it.
    def on_sigint(signum, frame):
        previous = on_sigint.previous
        state["cell_interrupted"] = True
        if state["starting"] and not state["interrupted"] and in_main_thread():
            # a JVM call cut short now would leave a half-made SparkContext behind:
            # the start finishes, then the cell is interrupted (see session())
            state["interrupted"] = True
            return
        if state["session"] is not None and in_py4j(frame):
            if not state["cancelling"]:
                state["cancelling"] = True
                cancel_jobs(keep_on=True)
                return  # the Spark call returns, cancelled: see watch_cancellations
            abandon_call()  # a second interrupt: give the call up now
        else:
            cancel_jobs()
        state["cancelling"] = False
        if callable(previous):
            return previous(signum, frame)
        raise KeyboardInterrupt

    on_sigint.previous = None

    def watch_cancellations():
        """A Spark call that fails while we cancel jobs for an interrupt raises
        KeyboardInterrupt (from the cancellation), as an interrupt should."""
        import py4j.java_gateway
        import py4j.protocol

        def wrap(get_return_value):
            if getattr(get_return_value, "_spark_k8s", False):
                return get_return_value

            def checked(*args, **kwargs):
                __tracebackhide__ = True  # IPython leaves this frame out of tracebacks
                try:
                    return get_return_value(*args, **kwargs)
                except Exception as exc:
                    if not state["cancelling"]:
                        raise
                    state["cancelling"] = False
                    why = next((ln.strip(" :") for ln in str(exc).splitlines()
                                if "cancel" in ln.lower()), "")
                    # the cell ends as interrupted, not with the JVM's long trace
                    raise KeyboardInterrupt(
                        "Spark jobs cancelled" + (" (%s)" % why if why else "")) from None

            checked._spark_k8s = True
            return checked

        py4j.protocol.get_return_value = wrap(py4j.protocol.get_return_value)
        py4j.java_gateway.get_return_value = wrap(py4j.java_gateway.get_return_value)

    def before_cell(*_args):
        state["cancelling"] = False
        state["cell_interrupted"] = False
        if not in_main_thread():
            return
        try:
            state["parent"] = dict(shell.display_pub.parent_header)
        except Exception:
            state["parent"] = None
        current = signal.getsignal(signal.SIGINT)
        if current is not on_sigint:
            on_sigint.previous = current
            signal.signal(signal.SIGINT, on_sigint)
        if state["announce"] is not None:
            info, state["announce"] = state["announce"], None
            announce(info)
        if state["error"] is not None and state["session"] is None:
            print("spark-k8s: the Spark session did not start: %s" % state["error"],
                  file=sys.stderr)
        start_progress()

    shell.events.register("pre_run_cell", before_cell)
    shell.events.register("post_run_cell", finish_progress)

    # A Spark Connect server must be up before any cell asks for it.
    if "SparkConnectPlugin" in defaults.get("spark.plugins", ""):
        # PySpark is imported here, on the kernel's main thread, and only the JVM's start
        # is left to the thread: the same import made from the thread while ipykernel
        # still started up failed now and then with "No module named 'pyspark'".
        try:
            import pyspark.context  # noqa: F401
            import pyspark.sql  # noqa: F401
        except ImportError:
            pass  # the start below says so in the first cell that uses spark

        def start_in_background():
            try:
                session()
            except Exception as exc:
                state["error"] = exc

        threading.Thread(target=start_in_background, name="spark-k8s-start",
                         daemon=True).start()


_spark_k8s_install()
del _spark_k8s_install
