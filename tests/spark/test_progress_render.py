"""test_progress_render.py — what the progress display says, from given job states
(kernelspecs/spark_k8s_session/progress.py, no Spark needed): counts over stages, stages of a
finished job that never ran counted as skipped, the summary's wording, and names
from user code escaped in HTML."""
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
