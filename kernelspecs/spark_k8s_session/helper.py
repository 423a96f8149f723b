"""The notebook's `spark_k8s` (this kernel's helper: ui_url, connect_url, conf_dir,
spark_log, progress, progress_interval, configure(...), gpu_plan(df)) and the
%spark_progress magic."""
import sys


class SparkK8s:
    """This kernel's spark-k8s helper."""

    __slots__ = ("_session", "_cells")

    def __init__(self, session, cells):
        self._session = session
        self._cells = cells

    @property
    def conf_dir(self):
        """The folder of the kernel's spark-defaults.conf."""
        return self._session.settings.conf_dir

    @property
    def spark_log(self):
        """The driver's log file: Spark's warnings and errors, with the failed tasks'
        reports and JVM stack traces that cells leave out."""
        return self._session.settings.spark_log

    @property
    def ui_url(self):
        """The Spark UI's address (None until the session runs)."""
        return self._session.ui_url

    @property
    def connect_url(self):
        """The sc:// address of the kernel's Spark Connect server, with its token."""
        return self._session.settings.connect_url()

    @property
    def progress(self):
        """Whether cells show their Spark jobs' progress (set False to stop)."""
        return self._cells.progress_on

    @progress.setter
    def progress(self, on):
        self._cells.progress_on = bool(on)

    @property
    def progress_interval(self):
        """Seconds between progress updates (at least 0.1)."""
        return self._cells.progress_interval

    @progress_interval.setter
    def progress_interval(self, seconds):
        self._cells.progress_interval = max(0.1, float(seconds))

    def configure(self, properties=None, restart=False, **shortcuts):
        """Spark properties for this notebook's session, as %%spark_conf takes them:
        PROPERTIES (a dict) and SHORTCUTS (executors, min_executors, max_executors,
        executor_cores, executor_memory, executor_gpus), checked against the admin's
        limits and applied when the session starts; RESTART restarts a running one."""
        from .notebook_conf import SHORTCUTS, SparkConfError, value_text
        unknown = sorted(set(shortcuts) - set(SHORTCUTS))
        if unknown:
            raise TypeError("configure(): unknown argument %s (one of %s, or a dict of "
                            "Spark properties)" % (", ".join(unknown), ", ".join(SHORTCUTS)))
        pairs = [(str(k), value_text(v)) for k, v in (properties or {}).items()]
        pairs += [(SHORTCUTS[k], value_text(v)) for k, v in shortcuts.items()]
        if not pairs:
            raise SparkConfError("configure(): no settings given")
        print(self._session.conf.set(pairs, restart=restart))

    def gpu_plan(self, df, explain="ALL"):
        """What the RAPIDS Accelerator would run on a GPU for DF's query, operator by
        operator ("*Exec <ProjectExec> will run on GPU", "!Exec ... cannot run on GPU
        because ..."): RAPIDS' own ExplainPlan, which needs no GPU. EXPLAIN: ALL, or
        NOT_ON_GPU for what stays on the CPU only."""
        s = self._session.get()
        explain_plan = s._jvm.com.nvidia.spark.rapids.ExplainPlan
        if not callable(getattr(explain_plan, "explainPotentialGpuPlan", None)):
            raise RuntimeError("spark-k8s: the RAPIDS Accelerator is not on this kernel's "
                               "class path: gpu_plan needs a gpu kernel")
        return GpuPlan(explain_plan.explainPotentialGpuPlan(df._jdf, explain))

    def __repr__(self):
        return "<spark-k8s: conf %s, Spark UI %s, Spark Connect %s, progress %s>" % (
            self.conf_dir, self.ui_url or "(not started)",
            (self.connect_url or "off").split("/;", 1)[0], self._cells.progress_text())


class GpuPlan(str):
    """RAPIDS' plan explanation, shown as the text it is."""

    __slots__ = ()

    def __repr__(self):
        return str(self)


def progress_magic(cells):
    """The %spark_progress line magic for CELLS."""

    def spark_progress(line):
        """%spark_progress on | off | SECONDS: Spark's progress under the cells of this
        notebook, on (at SECONDS between updates) or off."""
        arg = line.strip().lower()
        if arg in ("on", ""):
            cells.progress_on = True
        elif arg == "off":
            cells.progress_on = False
        else:
            try:
                cells.progress_interval = max(0.1, float(arg))
                cells.progress_on = True
            except ValueError:
                print("usage: %spark_progress on | off | SECONDS", file=sys.stderr)
                return
        print("spark-k8s: progress %s" % cells.progress_text())

    return spark_progress
