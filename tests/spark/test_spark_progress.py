"""test_spark_progress.py — Spark's progress under the running cell, with real Spark on
each line: a multi-stage query gets one display (display_data, then
update_display_data with the same display_id) whose completed task counts only grow
and end at the totals, with text/plain and text/html, collapsing to a one-line summary
whose job and task counts are Spark's own (jobs of known size, checked against the
status tracker);
a cancelled job is shown as cancelled; a cell that runs no Spark job sends no progress
message; spark_k8s.progress, %spark_progress and the kernelspec's --no-progress turn it
off (Spark's console bar stays off only while ours is on)."""
import re

import pytest

from support.kernels import Kernel, install_kernelspec, wait_gone
from support.paths import LINES

MULTI_STAGE = ("spark.range(0, 2 * 10**6, numPartitions=6).selectExpr('id % 7 AS k', 'id')"
               ".groupBy('k').count().orderBy('k').collect()[-1]['count']")
JOB_LINE = re.compile(r"^job (\d+)(?: (done|failed|cancelled))?  \S+  (\d+)/(\d+) tasks", re.M)


def progress_messages(cell):
    """The progress display's messages: [(msg_type, display_id, text/plain, text/html)]."""
    out = []
    for kind, content in cell.displays:
        did = content.get("transient", {}).get("display_id", "")
        if did.startswith("spark-k8s-progress-"):
            out.append((kind, did, content["data"]["text/plain"],
                        content["data"].get("text/html", "")))
    return out


def test_a_multi_stage_query_shows_growing_counts_then_a_summary(kernel):
    kernel.ok("spark_k8s.progress = True; spark.version")
    cell = kernel.ok(MULTI_STAGE)
    assert cell.result == str(2 * 10**6 // 7), cell
    msgs = progress_messages(cell)
    assert msgs, f"no progress display: {cell.displays}"
    assert msgs[0][0] == "display_data", msgs[0]
    assert all(kind == "update_display_data" for kind, *_ in msgs[1:]), msgs
    assert len({did for _, did, _, _ in msgs}) == 1, "more than one display for one cell"
    assert all(html.startswith('<div class="spark-k8s-progress">') for *_, html in msgs)

    live, last = msgs[:-1], msgs[-1]
    seen = {}
    for _, _, text, _ in live:
        for job, state, done, total in JOB_LINE.findall(text):
            job, done, total = int(job), int(done), int(total)
            assert done <= total, text
            assert done >= seen.get(job, (0, 0))[0], f"job {job} went back: {text}"
            seen[job] = (done, total, state)
    assert seen, f"no job line in the live display: {live}"
    m = re.fullmatch(r"Spark: (\d+) jobs?, (\d+) tasks?, [\d.]+ (s|min \d+ s)", last[2])
    assert m, last[2]
    assert int(m.group(1)) >= len(seen) and int(m.group(2)) >= sum(d for d, _, _ in seen.values())


# Two jobs whose tasks are known from their partitions: a count over 4 partitions (one
# stage, 4 tasks) and a reduceByKey into 3 partitions (a map stage of 4 tasks and a
# reduce stage of 3): 2 jobs, 11 tasks. Each map task sleeps a little, so the display
# sees each job while it runs, before its last task is done.
KNOWN_JOBS = ("import time\n"
              "sc.setJobGroup('spark-k8s-known', 'jobs of known size')\n"
              "a = sc.parallelize(range(8), 4).map(lambda x: time.sleep(0.4) or x).count()\n"
              "b = sc.parallelize(range(12), 4).map(lambda x: (x % 3, time.sleep(0.2) or 1))"
              ".reduceByKey(lambda p, q: p + q, 3).count()\n"
              "sc.setLocalProperty('spark.jobGroup.id', None)\n"
              "a, b")
KNOWN_TOTALS = (2, 11)
# Spark's own totals for those jobs, from its status tracker (once it has taken in the
# jobs' end: the listener catches up on its own time)
TRACKER_TOTALS = (
    "import time\n"
    "t, deadline = sc.statusTracker(), time.monotonic() + 60\n"
    "def totals():\n"
    "    ids = t.getJobIdsForGroup('spark-k8s-known')\n"
    "    jobs = [t.getJobInfo(i) for i in ids]\n"
    "    stages = [t.getStageInfo(s) for j in jobs for s in j.stageIds]\n"
    "    return (len(ids), sum(s.numCompletedTasks for s in stages),\n"
    "            sum(s.numTasks for s in stages), sorted(str(j.status) for j in jobs))\n"
    "while totals()[3] != ['SUCCEEDED'] * 2 and time.monotonic() < deadline:\n"
    "    time.sleep(0.2)\n"
    "totals()")
SUMMARY = re.compile(r"Spark: (\d+) jobs?, (\d+) tasks?, [\d.]+ (s|min \d+ s)")


def test_the_summary_counts_the_jobs_and_tasks_spark_ran(kernel):
    """The summary's counts are Spark's: the number of jobs the cell ran and every task
    they completed, as their partitions make them and as the status tracker tells. A
    display that stopped following a job once seen would keep the count it had then."""
    kernel.ok("spark_k8s.progress = True; spark.version")
    cell = kernel.ok(KNOWN_JOBS)
    assert cell.result == "(8, 3)", cell
    jobs, done, total, states = kernel.value(TRACKER_TOTALS)
    assert states == ["SUCCEEDED", "SUCCEEDED"], states
    assert (jobs, done) == (jobs, total) == KNOWN_TOTALS, (jobs, done, total)
    msgs = progress_messages(cell)
    assert msgs, f"no progress display: {cell.displays}"
    m = SUMMARY.fullmatch(msgs[-1][2])
    assert m, msgs[-1][2]
    assert (int(m.group(1)), int(m.group(2))) == KNOWN_TOTALS, msgs[-1][2]


def test_a_cell_without_spark_jobs_sends_no_progress(kernel):
    kernel.ok("spark.version")
    cell = kernel.ok("sum(range(10))")
    assert progress_messages(cell) == [], cell.displays
    cell = kernel.ok("spark.conf.get('spark.app.name')")  # a JVM call, but no job
    assert progress_messages(cell) == [], cell.displays


def test_a_cancelled_job_is_shown_as_cancelled(kernel):
    import time
    kernel.ok("spark.version")
    started = []

    def running(cell):
        if progress_messages(cell) and not started:
            started.append(time.monotonic())
        return started and time.monotonic() - started[0] > 2

    cell = kernel.execute("spark.range(0, 10**13, numPartitions=2).selectExpr('max(id)').collect()",
                          interrupt_when=running)
    assert cell.reply["ename"] == "KeyboardInterrupt", cell
    last = progress_messages(cell)[-1][2]
    assert "cancelled by the interrupt" in last, last


def test_progress_can_be_turned_off_in_the_notebook(kernel):
    kernel.ok("spark.version")
    kernel.ok("spark_k8s.progress = False")
    assert progress_messages(kernel.ok(MULTI_STAGE)) == []
    out = kernel.ok("%spark_progress on").out
    assert "progress every" in out, out
    assert progress_messages(kernel.ok(MULTI_STAGE)), "back on, but nothing shown"
    kernel.ok("%spark_progress off")
    assert progress_messages(kernel.ok(MULTI_STAGE)) == []
    kernel.ok("%spark_progress on")


def test_the_console_bar_is_off_while_ours_is_on(kernel):
    conf = dict(kernel.value("sorted(sc.getConf().getAll())"))
    assert conf["spark.ui.showConsoleProgress"] == "false"
    assert conf["spark.k8s.notebook.progress"] == "true"


def test_a_kernelspec_without_progress(prefix, home, line):
    install_kernelspec(prefix, home, "--spark", line, "--name", "quiet", "--no-progress")
    k = Kernel("quiet", home.kernels, home)
    try:
        cell = k.ok(MULTI_STAGE)
        assert progress_messages(cell) == [], cell.displays
        conf = dict(k.value("sorted(sc.getConf().getAll())"))
        assert conf["spark.k8s.notebook.progress"] == "false"
        # Spark's own bar is back (PySpark turns it on for its shell)
        assert conf.get("spark.ui.showConsoleProgress", "true") == "true"
    finally:
        procs = k.processes()
        k.close()
    assert wait_gone(procs) == []


@pytest.mark.parametrize("value,says", [("50", "expected at least 100"),
                                        ("soon", "a whole number")])
def test_bad_progress_intervals_are_refused(prefix, home, value, says):
    proc = install_kernelspec(prefix, home, "--spark", sorted(LINES)[-1], "--name", "fast",
                                "--progress-interval-ms", value, check=False)
    assert proc.returncode == 2, proc
    assert "progress.interval_ms" in proc.stderr and says in proc.stderr, proc.stderr
