"""The notebook's one SparkSession: built the first time `spark` or `sc` is used
(or at kernel start, in the background, where a Spark Connect server must be up),
announced in the cell that started it, and quoted with the JVM's last words when it
cannot start. An interrupt while it starts lets the start finish (a SparkContext cut
short in its constructor could not be made again in that JVM), then ends the cell."""
import os
import signal
import threading

from .jvm import StderrTail
from .notebook_conf import NotebookConf


def in_main_thread():
    return threading.current_thread() is threading.main_thread()


class SignalShim:
    """pyspark.context's view of the signal module: SparkContext's own SIGINT
    handler (cancelAllJobs from the interrupted thread, on the connection that
    waits for the job) is never installed; interrupts.py's does that job."""

    def __getattr__(self, name):
        return getattr(signal, name)

    @staticmethod
    def signal(signum, handler):
        if signum == signal.SIGINT:
            return signal.getsignal(signum)
        return signal.signal(signum, handler)


class Session:
    """The SparkSession of SHELL's notebook, from the kernel's SETTINGS.

    started_hooks: called with the new SparkSession once it stands (on the thread
    that started it). main_thread_use: called each time a cell's code (the main
    thread) gets the session."""

    def __init__(self, shell, settings):
        self.shell = shell
        self.settings = settings
        self.spark = None            # the SparkSession, once started
        self.error = None            # why a start in the background failed
        self.announce_info = None    # the start, still to be shown
        self.starting = False        # inside the start (an interrupt waits for it)
        self.interrupted = False     # interrupted while it started
        self.lock = threading.RLock()
        self.started_hooks = []
        self.main_thread_use = None
        self.lazy_spark = LazySparkSession(self)
        self.lazy_sc = LazySparkContext(self)
        self.conf = NotebookConf(self)   # the notebook's own settings (%%spark_conf)

    # ---- starting ----------------------------------------------------------------

    def start(self):
        """Build the session (once); returns it, or raises with the JVM's words."""
        # From here an interrupt waits for the start (see Interrupts.on_sigint): one
        # that came inside an import would leave a half-imported numpy behind for good.
        self.starting, self.interrupted = True, False
        try:
            import pyspark.context
            from pyspark.sql import SparkSession
        except BaseException:
            self.starting = False
            raise
        if getattr(pyspark.context, "signal", None) is signal:
            pyspark.context.signal = SignalShim()

        log = self.settings.spark_log
        if log:
            os.environ["SPARK_K8S_SPARK_LOG"] = log  # the JVM's log4j2 file appender
        tail = StderrTail()
        before = signal.getsignal(signal.SIGINT) if in_main_thread() else None
        try:
            builder = SparkSession.builder
            for key, value in self.conf.builder_options().items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
        except BaseException as exc:
            tail.restore()
            words = tail.last_words()
            if isinstance(exc, KeyboardInterrupt) or not words:
                raise
            raise RuntimeError("Spark did not start. The JVM said:\n" + words) from exc
        finally:
            self.starting = False
        tail.restore()
        if before is not None and signal.getsignal(signal.SIGINT) is not before:
            signal.signal(signal.SIGINT, before)  # should SparkContext have set its own
        for hook in self.started_hooks:
            hook(session)
        return session

    def get(self):
        """The SparkSession, started now if it is not yet."""
        shell = self.shell
        with self.lock:
            if self.spark is None:
                if self.error is not None:
                    error, self.error = self.error, None
                    raise error
                self.spark = self.start()
                if shell.user_ns.get("spark") is self.lazy_spark:
                    shell.user_ns["spark"] = self.spark
                if shell.user_ns.get("sc") is self.lazy_sc:
                    shell.user_ns["sc"] = self.spark.sparkContext
                self.announce_info = self.describe()
        if self.announce_info is not None and in_main_thread():
            self.announce_pending()
        if in_main_thread() and self.main_thread_use is not None:
            self.main_thread_use()  # the cell that started the session shows its jobs too
        if self.interrupted and in_main_thread():
            # interrupted while the JVM started: the session stands, the cell stops
            self.interrupted = False
            raise KeyboardInterrupt("interrupted while Spark started (the session is up)")
        return self.spark

    def restart(self):
        """Stop the running session and start a new one (in this JVM) with the settings
        asked for since; `spark` and `sc` become the new ones."""
        shell = self.shell
        with self.lock:
            old, self.spark = self.spark, None
            if old is not None:
                old_sc = old.sparkContext
                old.stop()
                if shell.user_ns.get("spark") is old:
                    shell.user_ns["spark"] = self.lazy_spark
                if shell.user_ns.get("sc") is old_sc:
                    shell.user_ns["sc"] = self.lazy_sc
        return self.get()

    def start_in_background(self):
        """Start the session on a thread of its own; a failure is told by the next cell."""
        # PySpark is imported here, on the kernel's main thread, and only the JVM's start
        # is left to the thread: the same import made from the thread while ipykernel
        # still started up failed now and then with "No module named 'pyspark'".
        try:
            import pyspark.context  # noqa: F401
            import pyspark.sql  # noqa: F401
        except ImportError:
            pass  # the start below says so in the first cell that uses spark

        def run():
            try:
                self.get()
            except Exception as exc:
                self.error = exc

        threading.Thread(target=run, name="spark-k8s-start", daemon=True).start()

    # ---- what the cell shows -----------------------------------------------------

    def describe(self):
        sc_ = self.spark.sparkContext
        return {"version": self.spark.version, "master": sc_.master,
                "app_id": sc_.applicationId, "ui": sc_.uiWebUrl or "",
                "connect": self.settings.connect_url()}

    def announce_pending(self):
        """Show the session's start, when it has not been shown yet."""
        info, self.announce_info = self.announce_info, None
        if info is not None:
            announce(info)

    @property
    def ui_url(self):
        """The Spark UI's address (None until the session runs): its path on the Jupyter
        server that started the kernel, when that server routes it (ui_route.h)."""
        if self.spark is None or not self.spark.sparkContext.uiWebUrl:
            return None
        return os.environ.get("SPARK_K8S_UI_PATH") or self.spark.sparkContext.uiWebUrl


def publish_ui(spark):
    """A started session's UI, for the Jupyter server's route to it: on the local
    runtime the launcher names a file (SPARK_K8S_UI_REGISTRY) that only this process
    can fill, since Spark picks the port (4040, or the next free one) as it starts."""
    path = os.environ.get("SPARK_K8S_UI_REGISTRY")
    ui = spark.sparkContext.uiWebUrl
    if not path or not ui:
        return
    import json
    from urllib.parse import urlsplit
    doc = {"url": "http://127.0.0.1:%d" % (urlsplit(ui).port or 4040),
           "connection_file": os.environ.get("SPARK_K8S_UI_CONNECTION", "")}
    tmp = "%s.%d" % (path, os.getpid())
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)  # a half-written file is nobody's to remove later
        except OSError:
            pass
        import sys
        print("spark-k8s: the Spark UI cannot be reached through Jupyter: %s" % e, file=sys.stderr)


def announce(info):
    """The session's start, as one display: text for every client, a link for
    those that render HTML."""
    import html
    text = "Spark %s (%s, %s)" % (info["version"], info["master"], info["app_id"])
    parts = ['<b>Spark %s</b> <code>%s</code> %s' % (
        html.escape(info["version"]), html.escape(info["master"]),
        html.escape(info["app_id"]))]
    pod = os.environ.get("SPARK_K8S_POD_NAME")
    routed = os.environ.get("SPARK_K8S_UI_PATH")
    if info["ui"] and routed:
        # the Jupyter server that started the kernel serves the UI under its own URL
        text += " — Spark UI: %s" % routed
        parts.append('&mdash; <a href="%s" target="_blank">Spark UI</a>'
                     % html.escape(routed, quote=True))
    elif info["ui"] and pod:
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


class LazySparkSession:
    """The notebook's SparkSession; built from SPARK_CONF_DIR on first use."""

    __slots__ = ("_spark_k8s",)

    def __init__(self, session):
        object.__setattr__(self, "_spark_k8s", session)

    def __getattr__(self, name):
        return getattr(self._spark_k8s.get(), name)

    def __dir__(self):
        from pyspark.sql import SparkSession

        return dir(SparkSession)

    def __repr__(self):
        if self._spark_k8s.spark is None:
            return "<SparkSession: starts on first use (spark-k8s)>"
        return repr(self._spark_k8s.spark)


class LazySparkContext:
    """The notebook's SparkContext; starts the SparkSession on first use."""

    __slots__ = ("_spark_k8s",)

    def __init__(self, session):
        object.__setattr__(self, "_spark_k8s", session)

    def __getattr__(self, name):
        return getattr(self._spark_k8s.get().sparkContext, name)

    def __repr__(self):
        if self._spark_k8s.spark is None:
            return "<SparkContext: starts on first use (spark-k8s)>"
        return repr(self._spark_k8s.spark.sparkContext)
