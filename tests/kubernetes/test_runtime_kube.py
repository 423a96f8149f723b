"""test_runtime_kube.py — the kubernetes runtime (launcher/runtime/runtime_kube.c) and the
shim (launcher/cmd/cmd_shim.c) end to end against the fake API server, with the real
jupyter_client: a kernel runs in a (fake) pod and answers; a shutdown leaves no
object; every fault of a starting pod reaches the notebook as the text a person
needs; an OOM kill ends the launcher with the reason; a SIGKILLed launcher's pod
is deleted by the shim's watchdog; the shim refuses clients without the CURVE key."""
import json
import os
import signal
import subprocess
import time

import pytest
import zmq

from fakekube.schema import validate
from support import cluster as kubecluster
from support.factories import closed_at_the_end
from support.notebooks import Notebook
from support.paths import SPARK_K8S

KERNEL = "spark-4.1-baseline"


@pytest.fixture
def fake(fakekube_factory, tmp_path):
    """A fake cluster that runs the matrix's images (fakekube/images.py)."""
    return fakekube_factory(check_leftovers=True, **kubecluster.fake_options(str(tmp_path)))


@pytest.fixture
def cluster(fake, tmp_path):
    """RBAC applied with kubectl as the admin guide says; the launcher runs as spark-k8s."""
    return kubecluster.Cluster(fake, tmp_path / "cluster")


@pytest.fixture
def kernel_env(cluster, monkeypatch):
    cluster.install("4.1", "baseline", "--driver-memory", "512m")
    for name in cluster.foreign_settings():
        monkeypatch.delenv(name, raising=False)
    for name, value in cluster.launcher_env().items():
        monkeypatch.setenv(name, value)
    return monkeypatch


class Kernel(Notebook):
    """A kernel of the cluster started through jupyter_client, its launcher's stderr in
    TMP_PATH."""

    def __init__(self, tmp_path, name=KERNEL):
        super().__init__(name, tmp_path / ("launcher-%s.log" % name))

    def execute(self, code, timeout=60):
        """(reply content, stream text, error contents) of one execute_request."""
        return self.collect(self.kc.execute(code), timeout=timeout)

    def stream_until(self, msg_id, words, timeout=60):
        """The stream text sent for request MSG_ID up to the first message holding WORDS:
        proof that the request is waiting and that iopub hears it."""
        text = ""
        for m in self.iopub(msg_id, timeout):
            if m["msg_type"] == "stream":
                text += m["content"]["text"]
                if words in text:
                    return text
        raise AssertionError((words, text, self.launcher_log()))

    def collect(self, msg_id, text="", timeout=60):
        """execute()'s answer to the request MSG_ID sent already; TEXT: its stream so far."""
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        errors = []
        for m in self.iopub(msg_id, timeout):
            if m["msg_type"] == "stream":
                text += m["content"]["text"]
            elif m["msg_type"] == "error":
                errors.append(m["content"])
                if reply["content"]["status"] == "error" and reply["content"].get("ename") == "KernelStartError":
                    break  # a failed start sends no idle status; its lines came before this
            elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
        return reply["content"], text, errors

    def wait_exit(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self.km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.km.is_alive()

    close = Notebook.shutdown


@pytest.fixture
def start_kernel(kernel_env, tmp_path):
    yield from closed_at_the_end(lambda name=KERNEL: Kernel(tmp_path, name))


def kernel_pod(fake):
    pods = [p for p in fake.objects("pods") if p["metadata"]["name"].startswith("spark-k8s-")]
    assert len(pods) == 1, pods
    return pods[0]


def test_kernel_runs_in_the_pod_and_leaves_nothing(fake, start_kernel):
    pulls = fake.faults.hold("pull")  # the first request waits for the whole start
    k = start_kernel()
    msg_id = k.kc.execute("import os; print(os.environ['SPARK_K8S_POD_IP'], os.getuid())")
    text = k.stream_until(msg_id, "pod scheduled on fake-node")
    pulls.set()
    reply, text, errors = k.collect(msg_id, text)
    assert reply["status"] == "ok", errors
    pod = kernel_pod(fake)
    assert "\n%s 185\n" % pod["status"]["podIP"] in text
    # the start was narrated in the notebook of the waiting request
    assert "pod scheduled on fake-node" in text and "is running" in text
    made = [b for b in fake.created_bodies() if b["metadata"]["name"].startswith("spark-k8s-")
            and b["kind"] not in ("NetworkPolicy",)]
    for body in made:
        validate(body)
    assert [b["kind"] for b in made] == ["Pod", "Secret", "Service", "ConfigMap"]
    # defect 1: the image's own Python, under the image's tini (defect 7)
    (container,) = made[0]["spec"]["containers"]
    assert container["command"][:5] == ["/usr/bin/tini", "-s", "-g", "--", "/usr/local/bin/spark-k8s"]
    assert container["args"][container["args"].index("--") + 1] == "/usr/local/lib/spark-k8s/envs/spark-4.1/bin/python"
    assert made[0]["spec"]["serviceAccountName"] == "spark-k8s"
    reply, text, _ = k.execute("print(6 * 7)")
    assert text == "42\n"
    k.km.shutdown_kernel(now=False)
    assert k.wait_exit()
    fake.wait_no_leftovers(timeout=30)


def test_image_pull_failure_reaches_the_notebook(fake, start_kernel):
    pulls = fake.faults.hold("pull")  # the request below is waiting when the pull fails
    fake.faults.image_pull_failure(message="pull access denied for spark-k8s-jupyter")
    k = start_kernel()
    msg_id = k.kc.execute("1")
    text = k.stream_until(msg_id, "pod scheduled on fake-node")
    pulls.set()
    reply, text, errors = k.collect(msg_id, text)
    assert reply["status"] == "error"
    assert 'Pulling image "spark-k8s-jupyter:4.1' in text  # the start's story, told as it went
    shown = " ".join(e["evalue"] for e in errors)
    # the error itself names the reason, the kubelet's message and the image: the pod's
    # status says it all. (The kubelet's "Failed to pull image" event comes on another
    # watch, which the pod's status that ends the start may overtake, in a cluster too.)
    assert "ErrImagePull" in shown and "pull access denied for spark-k8s-jupyter" in shown
    assert "(image spark-k8s-jupyter:4.1-" in shown
    # The pod is gone at once; the launcher stays to tell later requests why.
    fake.wait_no_leftovers(timeout=30)
    reply, _, errors = k.execute("2")
    assert reply["status"] == "error" and "ErrImagePull" in reply["evalue"]
    k.km.shutdown_kernel(now=False)
    assert k.wait_exit()


@pytest.mark.parametrize("fault,expected", [
    (lambda f: f.faults.forbidden(verb="create", resource="pods"),
     ["cannot create the kernel pod: forbidden:", 'cannot create resource "pods"']),
    (lambda f: f.faults.forbidden(verb="create", resource="secrets"),
     ["cannot create the kernel's secrets: forbidden:", 'cannot create resource "secrets"']),
    (lambda f: f.faults.quota_exceeded(resource="pods"),
     ["cannot create the kernel pod: quota exceeded:", "exceeded quota: compute-resources"]),
    (lambda f: f.faults.invalid(resource="pods", message='Pod "x" is invalid: spec: bad'),
     ["cannot create the kernel pod: the object is invalid:", 'Pod "x" is invalid: spec: bad']),
])
def test_api_failures_end_the_launch_with_the_message(fake, start_kernel, fault, expected):
    fault(fake)
    k = start_kernel()
    log_has_it = lambda: all(words in k.launcher_log() for words in expected)
    deadline = time.monotonic() + 30
    while not log_has_it() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log_has_it(), k.launcher_log()
    # The launch ended before any request waited: the next request is told why, in
    # the notebook, and the launcher does not exit into Jupyter's restart loop.
    reply, _, errors = k.execute("1")
    assert reply["status"] == "error"
    shown = reply["evalue"] + " ".join(e["evalue"] for e in errors)
    for words in expected:
        assert words in shown, shown
    fake.wait_no_leftovers(timeout=30)
    k.km.shutdown_kernel(now=False)
    assert k.wait_exit()


def test_unschedulable_reports_then_times_out(fake, start_kernel, kernel_env):
    kernel_env.setenv("SPARK_K8S_LAUNCH_TIMEOUT", "3")
    fake.faults.unschedulable(message="0/5 nodes are available: 5 Insufficient nvidia.com/gpu.")
    k = start_kernel()
    reply, text, errors = k.execute("1")
    assert reply["status"] == "error"
    shown = " ".join(e.get("evalue", "") for e in errors)
    assert "still waiting after 1 s: pod pending: 0/5 nodes are available: 5 Insufficient " \
        "nvidia.com/gpu." in text
    assert "did not start within 3 s" in shown and "0/5 nodes are available" in shown
    fake.wait_no_leftovers(timeout=30)
    k.km.shutdown_kernel(now=False)
    assert k.wait_exit()


@pytest.mark.parametrize("fault,words", [
    (lambda f, name: f.faults.oom_kill(name), "was OOM-killed"),
    (lambda f, name: f.faults.evict(name, message="The node was low on resource: memory."),
     "was evicted: The node was low on resource: memory."),
    (lambda f, name: f.client().delete("pods", "default", name), "was deleted"),
])
def test_pod_lost_while_running_ends_the_launcher_with_the_reason(fake, start_kernel, fault,
                                                                   words):
    k = start_kernel()
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    fault(fake, kernel_pod(fake)["metadata"]["name"])
    assert k.wait_exit()
    assert k.km.provisioner.process.returncode == 1
    assert words in k.launcher_log()
    fake.wait_no_leftovers(timeout=30)


def test_sigterm_deletes_the_pod(fake, start_kernel):
    k = start_kernel()
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    os.kill(k.km.provisioner.process.pid, signal.SIGTERM)
    assert k.wait_exit()
    fake.wait_no_leftovers(timeout=30)


def janitor_of(launcher_pid):
    """The launcher's janitor: its child in a session of its own."""
    import psutil
    kids = [c for c in psutil.Process(launcher_pid).children() if os.getsid(c.pid) == c.pid]
    assert len(kids) == 1, kids
    return kids[0].pid


def test_janitor_deletes_the_pod_of_a_killed_launcher_at_once(fake, start_kernel, kernel_env):
    """Defect 10: SIGKILL leaves no time to clean up, but the janitor deletes this very pod
    (by uid) at once: not after the shim's watchdog (an hour here)."""
    kernel_env.setenv("SPARK_K8S_WATCHDOG", "3600")
    k = start_kernel()
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    pod = kernel_pod(fake)
    os.kill(k.km.provisioner.process.pid, signal.SIGKILL)
    assert k.wait_exit()
    fake.wait_gone("pods", pod["metadata"]["name"], timeout=60)
    deletes = [r for r in fake.requests if r.method == "DELETE" and r.name == pod["metadata"]["name"]]
    assert deletes and all(r.body["preconditions"] == {"uid": pod["metadata"]["uid"]} for r in deletes)
    fake.wait_no_leftovers(timeout=30)


def test_watchdog_deletes_the_pod_of_a_killed_launcher(fake, start_kernel, kernel_env):
    """Launcher and janitor both gone (a lost node): the shim's watchdog deletes its pod."""
    kernel_env.setenv("SPARK_K8S_WATCHDOG", "2")
    k = start_kernel()
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    name = kernel_pod(fake)["metadata"]["name"]
    os.kill(janitor_of(k.km.provisioner.process.pid), signal.SIGKILL)
    os.kill(k.km.provisioner.process.pid, signal.SIGKILL)
    assert k.wait_exit()
    fake.wait_gone("pods", name, timeout=30)
    assert "no word from the launcher" in fake.pod_log(name)
    fake.wait_no_leftovers(timeout=30)


def test_shim_refuses_clients_without_the_curve_key(fake, start_kernel):
    k = start_kernel()
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    ip = kernel_pod(fake)["status"]["podIP"]
    ctx = zmq.Context()
    try:
        plain = ctx.socket(zmq.DEALER)
        stranger = ctx.socket(zmq.DEALER)
        public, secret = zmq.curve_keypair()
        stranger.curve_serverkey = public  # not the shim's key either
        stranger.curve_publickey, stranger.curve_secretkey = zmq.curve_keypair()
        for s in (plain, stranger):
            s.linger = 0
            s.connect("tcp://%s:7070" % ip)
            s.send_multipart([b"<IDS|MSG>", b"", b"{}", b"{}", b"{}", b"{}"])
        poller = zmq.Poller()
        poller.register(plain, zmq.POLLIN)
        poller.register(stranger, zmq.POLLIN)
        assert poller.poll(1500) == []
    finally:
        ctx.destroy(linger=0)
    # the real client is still served
    assert k.execute("print('still here')")[1] == "still here\n"


def jupyter_pod(fake, cluster, kernel_env, tmp_path):
    """A Jupyter server pod running as spark-k8s, and the launcher in it (in-cluster
    configuration: that account's token, its pod name from the downward API)."""
    client = fake.client()
    code, server = client.create("pods", "default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "jupyter-0"},
        "spec": {"serviceAccountName": "spark-k8s",
                 "containers": [{"name": "jupyter", "image": "jupyter", "command": ["sleep", "300"]}]}})
    assert code == 201, server
    kernel_env.delenv("KUBECONFIG")
    for name, value in fake.in_cluster_env().items():
        kernel_env.setenv(name, value)
    sa_dir = fake.write_service_account_dir(str(tmp_path / "sa"), token=cluster.token)
    kernel_env.setenv("SPARK_K8S_SA_DIR", sa_dir)
    kernel_env.setenv("POD_NAME", "jupyter-0")
    return server


def test_launcher_in_a_pod_owns_the_kernel_pod(fake, cluster, start_kernel, kernel_env, tmp_path):
    server = jupyter_pod(fake, cluster, kernel_env, tmp_path)
    k = start_kernel()
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    assert kernel_pod(fake)["metadata"]["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "Pod", "name": "jupyter-0",
        "uid": server["metadata"]["uid"]}]
    # deleting the Jupyter server's pod takes the kernel pod and its objects with it
    fake.client().delete("pods", "default", "jupyter-0")
    assert k.wait_exit()
    assert k.km.provisioner.process.returncode == 1
    assert "was deleted" in k.launcher_log()
    fake.wait_no_leftovers(timeout=30)


def test_no_service_account_takes_the_launchers_own(fake, cluster, start_kernel, kernel_env,
                                                    tmp_path):
    """Defect 6: without kubernetes.service_account the kernel pod runs as the launcher's own
    account (which holds the Role), not as the namespace's default one (which holds none)."""
    cluster.install("4.1", "baseline", "--driver-memory", "512m", name="no-sa")
    spec = tmp_path / "cluster" / "prefix" / "share" / "jupyter" / "kernels" / "no-sa" / "kernel.json"
    meta = json.loads(spec.read_text())
    meta["metadata"]["spark_k8s"]["kubernetes"].pop("service_account")
    spec.write_text(json.dumps(meta))
    jupyter_pod(fake, cluster, kernel_env, tmp_path)
    k = start_kernel("no-sa")
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    assert kernel_pod(fake)["spec"]["serviceAccountName"] == "spark-k8s"
    k.km.shutdown_kernel(now=False)
    assert k.wait_exit()
    fake.client().delete("pods", "default", "jupyter-0", gracePeriodSeconds=0)
    fake.wait_no_leftovers(timeout=30)


def test_no_service_account_outside_a_cluster_is_refused(fake, cluster, start_kernel, tmp_path):
    """Defect 6: a launcher with a kubeconfig has no account of its own to lend: the start is
    refused with the setting to set and the command that creates an account."""
    cluster.install("4.1", "baseline", name="no-sa")
    spec = tmp_path / "cluster" / "prefix" / "share" / "jupyter" / "kernels" / "no-sa" / "kernel.json"
    meta = json.loads(spec.read_text())
    meta["metadata"]["spark_k8s"]["kubernetes"].pop("service_account")
    spec.write_text(json.dumps(meta))
    k = start_kernel("no-sa")
    reply, _, errors = k.execute("1")
    assert reply["status"] == "error"
    shown = reply["evalue"]
    assert "kubernetes.service_account" in shown and "--service-account" in shown
    assert "spark-k8s rbac --namespace default | kubectl apply -f -" in shown
    assert not [p for p in fake.objects("pods") if p["metadata"]["name"].startswith("spark-k8s-")]
    k.km.shutdown_kernel(now=False)
    assert k.wait_exit()


def test_interrupt_reaches_the_kernel_in_the_pod(fake, start_kernel):
    k = start_kernel()
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    msg_id = k.kc.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(60)")
    while True:  # the cell runs
        m = k.kc.get_iopub_msg(timeout=30)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream":
            break
    k.km.interrupt_kernel()  # interrupt_mode message: an interrupt_request on control
    reply = k.kc.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = k.kc.get_shell_msg(timeout=30)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    # ipykernel aborts what reaches it just after an error reply: wait until requests run
    for _ in range(20):
        after = k.execute("print('after')")
        if after[0]["status"] != "aborted":
            break
    assert after[1] == "after\n", after


def test_shim_refuses_missing_or_malformed_keys(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    conf = tmp_path / "spark-defaults.conf"
    conf.write_text("spark.master k8s://https://kubernetes.default.svc\n")

    def shim():
        return subprocess.run([str(SPARK_K8S), "shim", "--keys", str(keys), "--conf", str(conf)],
                              capture_output=True, text=True, timeout=30)

    proc = shim()
    assert proc.returncode == 2
    assert "%s/curve-server-secret: No such file or directory" % keys in proc.stderr
    for name in ("curve-server-secret", "curve-server-public", "curve-client-public"):
        (keys / name).write_text("short\n")
    proc = shim()
    assert proc.returncode == 2
    assert "%s/curve-server-secret: a CURVE key is 40 Z85 characters, not 5" % keys in proc.stderr
    proc = subprocess.run([str(SPARK_K8S), "shim", "--keys", str(keys)], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 2 and "usage: spark-k8s shim" in proc.stderr


def test_the_admin_guides_kubectl_commands(fake, cluster, start_kernel):
    """kubectl (the real one) against the fake, as docs/kubernetes.md has admins use it:
    apply the RBAC (done by the cluster fixture), then get, describe, logs of a kernel pod,
    the events, and delete, which ends the kernel with the reason."""
    k = start_kernel()
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    name = kernel_pod(fake)["metadata"]["name"]
    got = cluster.kubectl("get", "pods", "-o", "wide")
    assert got.returncode == 0, got.stderr
    row = next(line.split() for line in got.stdout.splitlines() if line.startswith(name))
    assert row[1:3] == ["1/1", "Running"], got.stdout
    described = cluster.kubectl("describe", "pod", name)
    assert described.returncode == 0, described.stderr
    for words in ("Service Account:  spark-k8s", "/usr/bin/tini", "Started container kernel",
                  "Successfully assigned default/" + name):
        assert words in described.stdout, (words, described.stdout)
    logs = cluster.kubectl("logs", name)
    assert logs.returncode == 0 and "spark-k8s shim: serving" in logs.stdout, logs
    events = cluster.kubectl("get", "events")
    assert events.returncode == 0 and "pod/" + name in events.stdout and "Scheduled" in events.stdout
    roles = cluster.kubectl("get", "role,rolebinding,networkpolicy")
    assert roles.returncode == 0 and "role.rbac.authorization.k8s.io/spark-k8s" in roles.stdout
    deleted = cluster.kubectl("delete", "pod", name, "--wait=true")
    assert deleted.returncode == 0 and 'pod "%s" deleted' % name in deleted.stdout, deleted
    assert k.wait_exit()
    assert "was deleted" in k.launcher_log()
    fake.wait_no_leftovers(timeout=30)
