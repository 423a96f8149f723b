"""support.notebooks — what the tests that run real Spark kernels on the fake cluster share: a
notebook (a kernel started through jupyter_client, as Jupyter Server starts it) and its cells,
the launcher's environment for a cluster, the pods Spark made, one kernel run start to end
with what it showed (run_kernel -> Kernel), and the end of a scenario (the kernel shut down,
then the fake with its checks for leftovers)."""

import os
import pathlib
import re
import time

from jupyter_client import KernelManager

from fakekube.teardown import Started, teardown

QUERY_S = 600


class Notebook:
    """A kernel started through jupyter_client (as Jupyter Server starts it) and its cells."""

    def __init__(self, name, log_path):
        self.log = open(log_path, "w")
        self.log_path = pathlib.Path(log_path)
        self.km = KernelManager(kernel_name=name)
        self.km.start_kernel(stderr=self.log)
        self.kc = self.km.client()
        self.kc.start_channels()

    def send(self, code):
        return self.kc.execute(code)

    def iopub(self, msg_id, timeout):
        """The iopub messages of request MSG_ID as they come, until TIMEOUT passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                m = self.kc.get_iopub_msg(timeout=1)
            except Exception:
                continue
            if m["parent_header"].get("msg_id") == msg_id:
                yield m

    def collect(self, msg_id, timeout):
        """(stream text, error texts) of the request MSG_ID, which must end in TIMEOUT.
        Displays count with their text; the updates of the progress display (by
        display_id) with the last one each, at the end."""
        text, errors, status, updates = "", [], None, {}
        for m in self.iopub(msg_id, timeout):
            if m["msg_type"] == "stream":
                text += m["content"]["text"]
            elif m["msg_type"] == "display_data":  # the session's start, progress
                text += m["content"]["data"].get("text/plain", "") + "\n"
            elif m["msg_type"] == "update_display_data":
                did = m["content"].get("transient", {}).get("display_id", "")
                updates[did] = m["content"]["data"].get("text/plain", "")
            elif m["msg_type"] == "error":
                errors.append("%s: %s" % (m["content"]["ename"], m["content"]["evalue"]))
            elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                status = "idle"
                break
        assert status == "idle", "cell did not finish in %d s; output so far: %r %s" % (timeout, text[-3000:],
                                                                                       errors)
        return text + "".join(u + "\n" for u in updates.values()), errors

    def run(self, code, timeout=QUERY_S):
        return self.collect(self.send(code), timeout)

    def shutdown(self):
        self.kc.stop_channels()
        if self.km.has_kernel:
            if self.km.is_alive():
                self.km.shutdown_kernel(now=False)
            self.km.cleanup_resources()
        self.log.close()

    def launcher_log(self):
        self.log.flush()
        return self.log_path.read_text()


def printed(text):
    """The lines a cell printed (Spark's console progress bar redraws itself with \\r)."""
    return [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]


def is_executor(pod):
    return (pod["metadata"].get("labels") or {}).get("spark-role") == "executor"


def finish(cluster, state_dir, notebook, failed):
    """Shut the kernel down, then the fake (with the fixture's checks)."""
    problems = []
    try:
        if notebook:
            notebook.shutdown()
    finally:
        if failed:
            for (ns, name) in sorted(cluster.fake.pods):
                print("fakekube:", cluster.fake.describe_pod(name, ns)[:3000])
            if notebook:
                print("launcher:", notebook.launcher_log()[-3000:])
        try:
            teardown(Started(cluster.fake, state_dir))
        except AssertionError as e:
            problems.append(str(e))
    return problems


class Env:
    """os.environ as a launcher here needs it, restored afterwards."""

    def __init__(self, cluster):
        self.set = cluster.launcher_env()
        self.drop = cluster.foreign_settings()
        self.saved = {k: os.environ.get(k) for k in [*self.set, *self.drop]}

    def __enter__(self):
        for k in self.drop:
            os.environ.pop(k, None)
        os.environ.update(self.set)

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Kernel:
    """What one kernel showed: its cells' output and errors, the executor pods Spark made and
    their logs, the launcher's log."""

    def __init__(self, name):
        self.name = name
        self.out, self.errors = {}, {}
        self.executors, self.logs = [], {}
        self.launcher_log = ""


def run_kernel(cluster, tmp, name, steps, start_s, cell_s):
    """Start kernelspec NAME, run STEPS ([(key, code)]) in it (the first cell may take START_S
    more than CELL_S: it starts the pods), record what the executors were, shut it down and
    wait until nothing of it is left; a Kernel."""
    k = Kernel(name)
    with Env(cluster):
        notebook = Notebook(name, pathlib.Path(tmp) / ("%s.log" % name))
        try:
            for i, (key, code) in enumerate(steps):
                k.out[key], k.errors[key] = notebook.run(code, timeout=(start_s if i == 0 else 0) + cell_s)
            for pod in cluster.fake.objects("pods"):
                if is_executor(pod):
                    k.executors.append(pod)
                    k.logs[pod["metadata"]["name"]] = cluster.fake.pod_log(pod["metadata"]["name"])
            k.launcher_log = notebook.launcher_log()
        except BaseException:
            for (ns, pod) in sorted(cluster.fake.pods):
                print("fakekube:", cluster.fake.describe_pod(pod, ns)[:3000])
            print("launcher:", notebook.launcher_log()[-3000:])
            raise
        finally:
            notebook.shutdown()
    cluster.fake.wait_for(lambda: not [p for p in cluster.fake.objects("pods") if is_executor(p)
                                       or p["metadata"]["name"].startswith("spark-k8s-")],
                          timeout=180, what="the kernel's pods to go")
    return k
