"""Before and after each cell: the cell's request is remembered (progress and
notices go to it), the SIGINT handler of interrupts.py stands in front, a session
started in the background is announced (or why it did not start is told), and the
cell's Spark jobs are tagged and shown under it (progress.py) until it ends."""
import os
import sys

from . import progress
from .session import in_main_thread


class Cells:
    """The cells of SHELL's notebook, with SESSION, INTERRUPTS and the progress
    display as SETTINGS set it (progress_on, progress_interval: changed by the
    spark_k8s helper and %spark_progress)."""

    def __init__(self, shell, session, interrupts, settings):
        self.shell = shell
        self.session = session
        self.interrupts = interrupts
        self.progress_on = settings.progress_on
        self.progress_interval = settings.progress_interval
        self.count = 0          # cells that showed progress: their job tags
        self.progress = None    # the running cell's progress.CellProgress
        self.parent = None      # the running cell's request header
        self.log_size = None    # the size of Spark's log file when the cell began

    def register(self):
        self.shell.events.register("pre_run_cell", self.before_cell)
        self.shell.events.register("post_run_cell", self.after_cell)

    def before_cell(self, *_args):
        self.interrupts.new_cell()
        if not in_main_thread():
            return
        try:
            self.parent = dict(self.shell.display_pub.parent_header)
        except Exception:
            self.parent = None
        self.interrupts.stand_in_front()
        self.log_size = self.spark_log_size()
        self.session.announce_pending()
        if self.session.error is not None and self.session.spark is None:
            print("spark-k8s: the Spark session did not start: %s" % self.session.error,
                  file=sys.stderr)
        self.start_progress()

    def after_cell(self, result=None, *_args):
        p, self.progress = self.progress, None
        self.parent = None
        if p is not None:
            try:
                p.finish()
            finally:
                try:
                    self.session.spark.sparkContext.removeJobTag(p.tag)
                except Exception:
                    pass
        if getattr(result, "error_in_exec", None) is not None and in_main_thread():
            self.name_spark_log()

    def spark_log_size(self):
        path = self.session.settings.spark_log
        try:
            return os.path.getsize(path) if path else None
        except OSError:
            return 0

    def name_spark_log(self):
        """A failed cell during which Spark logged: where the log is, since the cell
        shows the job's error without the tasks' reports and their JVM stack traces."""
        before, now = self.log_size, self.spark_log_size()
        if self.session.spark is not None and now is not None and now > (before or 0):
            print("spark-k8s: Spark's log of this failure, with its JVM stack traces: %s"
                  % self.session.settings.spark_log, file=sys.stderr)

    def session_used(self):
        """The running cell got the session: it shows its jobs, should it not yet."""
        if self.parent is not None and self.progress is None:
            self.start_progress()

    # ---- progress ----------------------------------------------------------------

    def send_to_cell(self, parent):
        """A function that publishes a message on iopub in the cell PARENT started."""
        pub = self.shell.display_pub

        def send(msg_type, content):
            pub.session.send(pub.pub_socket, msg_type, content, parent=parent, ident=pub.topic)
        return send

    def start_progress(self):
        s = self.session.spark
        if s is None or not self.progress_on or self.parent is None:
            return
        self.count += 1
        tag = "spark-k8s-cell-%d" % self.count
        try:
            s.sparkContext.addJobTag(tag)
        except Exception:
            return  # the session is not usable: the cell will say why
        self.progress = progress.CellProgress(
            s.sparkContext, tag, self.progress_interval, self.send_to_cell(self.parent),
            cancelled=lambda: self.interrupts.cell_interrupted)

    def progress_text(self):
        return "every %.1f s" % self.progress_interval if self.progress_on else "off"
