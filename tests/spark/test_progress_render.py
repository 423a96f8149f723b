"""test_progress_render.py — what the progress display says, from given job states
(kernelspecs/spark_k8s_session/progress.py, no Spark needed): counts over stages, stages of a
finished job that never ran counted as skipped, the summary's wording, names
from user code escaped in HTML, lost executors explained (an OOM kill with the setting
to raise); and, against a fake status tracker, a job followed to
its end and the final poll repeated until the tracker shows the jobs' end."""
from spark_k8s_session import progress as sp


def job(job_id, status, stages):
    j = sp.Job(job_id)
    j.status = status
    j.stages = stages
    return j


def test_counts_and_skipped_stages():
    running = job(1, "RUNNING", {1: ("map", 8, 2, 3, 1), 2: ("reduce", 4, 0, 0, 0)})
    assert running.counts() == (3, 12, 2, 1)  # nothing is known to be skipped yet
    done = job(1, "SUCCEEDED", {1: ("map", 8, 0, 0, 0), 2: ("reduce", 4, 0, 4, 0)})
    assert done.counts() == (4, 4, 0, 0)  # stage 1's output was reused: skipped
    text = sp.render_live([done], 0, 2)["text/plain"]
    assert "stage 1 skipped" in text and "job 1 done" in text and "4/4 tasks" in text


def test_summary_wording():
    a = job(3, "SUCCEEDED", {5: ("x", 10, 0, 10, 0)})
    b = job(4, "FAILED", {6: ("y", 3, 0, 1, 2)})
    assert sp.summary([a], 0, 18.24)["text/plain"] == "Spark: 1 job, 10 tasks, 18.2 s"
    assert sp.summary([a, b], 0, 75)["text/plain"] == \
        "Spark: 2 jobs, 11 tasks, 1 min 15 s \u2014 job 4 failed"
    assert sp.summary([a, b], 0, 2, cancelled=True)["text/plain"].endswith(
        "cancelled by the interrupt (job 4)")


def test_names_from_user_code_are_escaped():
    j = job(7, "RUNNING", {9: ("<img src=x onerror=alert(1)> at cell", 2, 1, 0, 0)})
    bundle = sp.render_live([j], 0, 1)
    assert "<img" not in bundle["text/html"] and "&lt;img" in bundle["text/html"]
    assert "<img" in bundle["text/plain"]  # plain text shows it as it is


def test_lost_executors_are_explained():
    oom = ("The executor with id 3 exited with exit code 137(SIGKILL, possible container OOM).\n\n"
           "The API gave the following container statuses:\n\n container name: spark-kubernetes-"
           "executor\n exit code: 137\n termination reason: OOMKilled\n")
    assert sp.explain_loss("3", oom, "4g", None) == (
        "executor 3 lost: its container ran out of memory (OOMKilled, exit code 137); "
        "spark.executor.memory is 4g: raise it or spark.executor.memoryOverhead "
        "(%%spark_conf --restart)")
    assert "spark.executor.memory is 4g, spark.executor.memoryOverhead 1g:" in \
        sp.explain_loss("3", oom, "4g", "1g")
    assert sp.explain_loss("5", "Unable to create executor due to node lost\nmore", None, None) == \
        "executor 5 lost: Unable to create executor due to node lost"
    assert sp.explain_loss("6", "", None, None) == "executor 6 lost: no reason given"
    live = sp.render_live([job(1, "RUNNING", {1: ("map", 8, 2, 3, 1)})], 0.0, 1.0,
                          ["executor 3 lost: <oom>"])
    assert live["text/plain"].splitlines()[-1] == "executor 3 lost: <oom>"
    assert "executor 3 lost: &lt;oom&gt;" in live["text/html"]
    end = sp.summary([job(1, "SUCCEEDED", {1: ("map", 8, 0, 8, 1)})], 0.0, 2.0,
                     losses=["executor 3 lost: x"])
    assert end["text/plain"] == "Spark: 1 job, 8 tasks, 2.0 s\nexecutor 3 lost: x"


class FakeTracker:
    """The driver's status tracker as CellProgress reads it, one snapshot a poll: each
    snapshot {job id: (status, {stage id: (name, tasks, active, completed, failed)})};
    the last one stays."""

    def __init__(self, snapshots):
        self.snapshots, self.polls = snapshots, 0
        self.now = snapshots[0]

    # sc._jsc.sc().statusTracker(), the JVM's (progress_of sets _jsc)
    def sc(self):
        return self

    def getJobIdsForTag(self, tag):
        self.now = self.snapshots[min(self.polls, len(self.snapshots) - 1)]
        self.polls += 1
        return list(self.now)

    # sc.statusTracker(), PySpark's
    def statusTracker(self):
        return self

    def getJobInfo(self, job_id):
        status, stages = self.now[job_id]
        return type("JobInfo", (), {"status": status, "stageIds": list(stages)})

    def getStageInfo(self, sid):
        for _, stages in self.now.values():
            if sid in stages:
                name, tasks, active, completed, failed = stages[sid]
                return type("StageInfo", (), {
                    "name": name, "numTasks": tasks, "numActiveTasks": active,
                    "numCompletedTasks": completed, "numFailedTasks": failed})
        return None


def progress_of(snapshots):
    tracker = FakeTracker(snapshots)
    tracker._jsc = tracker  # sc._jsc.sc() is the tracker's own object
    sent = []
    p = sp.CellProgress(tracker, "spark-k8s-cell-1", 3600, lambda kind, c: sent.append((kind, c)))
    return p, tracker, sent


def test_a_job_is_followed_to_its_end():
    """A job seen running is polled again until it ends: the summary has every task it
    completed, not the count it had when first seen."""
    p, _, sent = progress_of([
        {1: ("RUNNING", {1: ("map", 4, 2, 0, 0), 2: ("reduce", 3, 0, 0, 0)})},
        {1: ("RUNNING", {1: ("map", 4, 0, 4, 0), 2: ("reduce", 3, 1, 2, 0)})},
        {1: ("SUCCEEDED", {1: ("map", 4, 0, 4, 0), 2: ("reduce", 3, 0, 3, 0)})}])
    p.poll()  # the live display's poll: job 1 is running, nothing done yet
    p.finish(settle=5)
    assert sent[-1][1]["data"]["text/plain"].startswith("Spark: 1 job, 7 tasks, "), sent


def test_the_summary_waits_for_the_tracker_to_take_in_the_end():
    """The action has returned, the status tracker still shows the job running (its
    listener takes in the last tasks on its own time): the final poll is repeated until
    it shows the end."""
    p, tracker, sent = progress_of([
        {4: ("RUNNING", {7: ("count", 5, 1, 4, 0)})},
        {4: ("RUNNING", {7: ("count", 5, 1, 4, 0)})},
        {4: ("SUCCEEDED", {7: ("count", 5, 0, 5, 0)})}])
    p.finish(settle=5)
    assert tracker.polls >= 3
    assert sent[-1][1]["data"]["text/plain"].startswith("Spark: 1 job, 5 tasks, "), sent


def test_a_job_left_running_is_summed_as_it_is():
    """A job the cell left running (in a thread of its own) does not hold the cell's end
    past the settling time: it is summed as it is then."""
    p, _, sent = progress_of([{2: ("RUNNING", {3: ("slow", 8, 2, 1, 0)})}])
    p.finish(settle=0.2)
    assert sent[-1][1]["data"]["text/plain"].startswith("Spark: 1 job, 1 task, "), sent
