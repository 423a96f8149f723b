"""Spark's progress under the running cell (cells.py starts one CellProgress a cell).

While a cell runs Spark jobs, one display (display_data with a display_id, then
update_display_data for the same id) shows each job with its stages: completed and
total tasks, running and failed ones, elapsed time and a bar, as text/plain for every
client and text/html for those that render it. It updates at most once per interval
and only when something changed; when the cell ends it collapses to one line
("Spark: 3 jobs, 412 tasks, 18.2 s"), saying when a job failed or was cancelled. A
cell that runs no Spark job sends nothing.

Where the data comes from: the driver's own status tracker (SparkStatusTracker, read
through py4j from a thread of this module: its own connection), for the jobs tagged
with the cell's job tag (SparkContext.addJobTag on the cell's thread); nothing is
parsed from logs. Spark's console progress bar is off in these kernels
(spark.ui.showConsoleProgress false) so that it does not fight this display.

Executors lost while the cell runs are named under its jobs, with why (Spark's own
removal reason from its status store, e.g. the exit code and the container status the
Kubernetes API gave) and, for one that ran out of memory (OOMKilled, exit code 137),
the setting to raise; an executor that dynamic allocation released is no loss. The
summary line keeps them.

The messages go straight to the kernel's iopub socket with the cell's request as their
parent, so they land in the running cell whatever thread sends them.
"""
import html
import threading
import time

BAR = 24


class Job:
    """What is known of one job: its stages' counts, its state, when it was seen."""

    def __init__(self, job_id):
        self.id = job_id
        self.status = "RUNNING"
        self.stages = {}  # stage id -> (name, tasks, active, completed, failed)
        self.first_seen = time.monotonic()

    def counts(self):
        """(completed, total, active, failed) over its stages; stages of a finished job
        that never ran a task were skipped (their output was already there)."""
        done = total = active = failed = 0
        for _, tasks, act, comp, fail in self.stages.values():
            if self.status != "RUNNING" and comp == 0 and act == 0:
                continue
            done, total = done + comp, total + tasks
            active, failed = active + act, failed + fail
        return done, total, active, failed


# Removal reasons of executors given back on purpose (dynamic allocation, the
# session's end): no loss to explain.
RELEASED = ("killed by driver", "Executor killed by driver", "decommission", "Decommission")


def explain_loss(executor_id, reason, memory, overhead):
    """One line on a lost executor: why, and for an OOM kill what to raise (MEMORY and
    OVERHEAD: spark.executor.memory and spark.executor.memoryOverhead as set, or None)."""
    first = reason.strip().splitlines()[0].strip() if reason.strip() else "no reason given"
    if "OOMKilled" in reason or "exit code 137" in reason:
        now = "spark.executor.memory is %s" % memory if memory else "spark.executor.memory"
        if overhead:
            now += ", spark.executor.memoryOverhead %s" % overhead
        return ("executor %s lost: its container ran out of memory (OOMKilled, exit code 137); "
                "%s: raise it or spark.executor.memoryOverhead (%%%%spark_conf --restart)"
                % (executor_id, now))
    return "executor %s lost: %s" % (executor_id, first)


def bar_text(done, total, width=BAR):
    filled = int(width * done / total) if total else 0
    return "\u2588" * filled + "\u2591" * (width - filled)


def fmt_seconds(s):
    return "%.1f s" % s if s < 60 else "%d min %02d s" % (s // 60, s % 60)


def render_live(jobs, started, now, losses=()):
    """The live display of JOBS (ordered by id) and the LOSSES of executors (lines) as
    a MIME bundle."""
    lines, rows = [], []
    for job in jobs:
        done, total, active, failed = job.counts()
        state = {"RUNNING": "", "SUCCEEDED": " done", "FAILED": " failed",
                 "CANCELLED": " cancelled"}.get(job.status, " " + job.status.lower())
        extra = "".join([", %d running" % active if active else "",
                         ", %d failed" % failed if failed else ""])
        head = "job %d%s  %s  %d/%d tasks%s" % (job.id, state, bar_text(done, total), done,
                                                total, extra)
        lines.append(head)
        pct = 100.0 * done / total if total else 0.0
        rows.append('<tr><td style="padding-right:1em">job %d%s</td>'
                    '<td style="width:16em"><div style="background:#e0e0e0;height:0.9em;'
                    'border-radius:3px"><div style="background:%s;width:%.1f%%;height:100%%;'
                    'border-radius:3px"></div></div></td><td style="padding-left:1em">'
                    '%d/%d tasks%s</td></tr>'
                    % (job.id, html.escape(state), "#d9534f" if job.status in
                       ("FAILED", "CANCELLED") else "#326ce5", pct, done, total,
                       html.escape(extra)))
        for sid in sorted(job.stages):
            name, tasks, act, comp, fail = job.stages[sid]
            skipped = job.status != "RUNNING" and comp == 0 and act == 0
            if skipped:
                lines.append("  stage %d skipped  %s" % (sid, name))
            else:
                lines.append("  stage %d  %s  %d/%d%s  %s" % (
                    sid, bar_text(comp, tasks, 12), comp, tasks,
                    " (%d failed)" % fail if fail else "", name))
            rows.append('<tr style="color:#666;font-size:85%%"><td style="padding-left:1.5em">'
                        'stage %d</td><td>%s</td><td style="padding-left:1em">%s</td></tr>'
                        % (sid, html.escape(name[:60]),
                           "skipped" if skipped else "%d/%d%s%s" % (
                               comp, tasks, ", %d running" % act if act else "",
                               ", %d failed" % fail if fail else "")))
    for loss in losses:
        lines.append(loss)
        rows.append('<tr style="color:#d9534f"><td colspan="3">%s</td></tr>' % html.escape(loss))
    elapsed = fmt_seconds(now - started)
    text = "Spark: %s\n%s" % (elapsed, "\n".join(lines))
    html_out = ('<div class="spark-k8s-progress"><b>Spark</b> %s<table style="border:none">'
                '%s</table></div>' % (html.escape(elapsed), "".join(rows)))
    return {"text/plain": text, "text/html": html_out}


def summary(jobs, started, now, cancelled=False, losses=()):
    """The line a finished cell keeps: jobs, tasks, time, and what went wrong (with a
    line for each executor lost)."""
    n = len(jobs)
    tasks = sum(j.counts()[0] for j in jobs)
    failed = [j for j in jobs if j.status == "FAILED"]
    text = "Spark: %d job%s, %d task%s, %s" % (n, "" if n == 1 else "s", tasks,
                                               "" if tasks == 1 else "s",
                                               fmt_seconds(now - started))
    if cancelled and failed:
        text += " \u2014 cancelled by the interrupt (%s)" % ", ".join(
            "job %d" % j.id for j in failed)
    elif failed:
        text += " \u2014 %s failed" % ", ".join("job %d" % j.id for j in failed)
    return {"text/plain": "\n".join([text, *losses]),
            "text/html": '<div class="spark-k8s-progress">%s</div>'
            % "<br>".join(html.escape(t) for t in [text, *losses])}


class CellProgress:
    """The progress of one cell: polls the status tracker every INTERVAL seconds from
    a thread of its own and publishes through SEND(msg_type, content)."""

    def __init__(self, sc, tag, interval, send, cancelled=lambda: False):
        self.sc = sc
        self.tag = tag
        self.interval = interval
        self.send = send
        self.cancelled = cancelled
        self.jobs = {}
        self.losses = {}  # executor id -> the line that explains its loss
        self.started = time.monotonic()
        self.started_ms = time.time() * 1000.0
        self.failed_seen = -1  # failed tasks at the last look at the executors
        self.display_id = None
        self.last = None
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, name="spark-k8s-progress", daemon=True)
        self.thread.start()

    def poll(self):
        """Read the tagged jobs and their stages from the driver."""
        jtracker = self.sc._jsc.sc().statusTracker()
        tracker = self.sc.statusTracker()
        for job_id in list(jtracker.getJobIdsForTag(self.tag)):
            job = self.jobs.get(job_id) or self.jobs.setdefault(job_id, Job(job_id))
            info = tracker.getJobInfo(job_id)
            if info is None:
                continue
            job.status = str(info.status)
            for sid in info.stageIds:
                st = tracker.getStageInfo(sid)
                if st is not None:
                    job.stages[sid] = (st.name, st.numTasks, st.numActiveTasks,
                                       st.numCompletedTasks, st.numFailedTasks)
        failed = sum(j.counts()[3] for j in self.jobs.values())
        if failed != self.failed_seen:  # a lost executor fails the tasks it ran
            self.failed_seen = failed
            try:
                self.poll_losses()
            except Exception:
                pass  # the jobs' progress goes on without it

    def poll_losses(self):
        """Executors removed since the cell began, not on purpose: Spark's status store
        (the executors tab's data) keeps each one's removal reason."""
        store = self.sc._jsc.sc().statusStore()
        executors = store.executorList(False)
        conf = self.sc.getConf()
        for i in range(executors.size()):
            e = executors.apply(i)
            if e.isActive() or e.id() in self.losses or not e.removeTime().isDefined():
                continue
            if e.removeTime().get().getTime() < self.started_ms - 1000:
                continue
            reason = e.removeReason().get() if e.removeReason().isDefined() else ""
            if any(word in reason for word in RELEASED):
                continue
            self.losses[e.id()] = explain_loss(e.id(), reason, conf.get("spark.executor.memory"),
                                               conf.get("spark.executor.memoryOverhead"))

    def publish(self, bundle, final=False):
        if bundle == self.last and not final:
            return
        self.last = bundle
        content = {"data": bundle, "metadata": {}, "transient": {"display_id": self.display_id}}
        if self.display_id is None:
            self.display_id = "spark-k8s-progress-%s" % self.tag
            content["transient"]["display_id"] = self.display_id
            self.send("display_data", content)
        else:
            self.send("update_display_data", content)

    def run(self):
        while not self.stop_event.wait(self.interval):
            try:
                self.poll()
            except Exception:
                continue  # the driver is busy or gone: the next poll, or the final one
            if self.jobs:
                jobs = [self.jobs[i] for i in sorted(self.jobs)]
                self.publish(render_live(jobs, self.started, time.monotonic(),
                                         list(self.losses.values())))

    def finish(self, settle=2.0):
        """Stop polling; the one-line summary replaces the live display (when a job ran).
        The status tracker takes in a job's last tasks and its end from Spark's listener
        bus, after the action that ran it has returned: a job it still shows running is
        polled again, for up to SETTLE seconds (a job the cell left running in a thread
        of its own is summed as it is then)."""
        self.stop_event.set()
        self.thread.join(timeout=10)
        deadline = time.monotonic() + settle
        while True:
            try:
                self.poll()
            except Exception:
                break
            if time.monotonic() > deadline or all(
                    j.status != "RUNNING" for j in self.jobs.values()):
                break
            time.sleep(0.05)
        if not self.jobs:
            return
        jobs = [self.jobs[i] for i in sorted(self.jobs)]
        try:
            self.poll_losses()
        except Exception:
            pass
        self.publish(summary(jobs, self.started, time.monotonic(), self.cancelled(),
                             list(self.losses.values())), final=True)
