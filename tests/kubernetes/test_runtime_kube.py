"""test_runtime_kube.py — the kubernetes runtime (launcher/runtime_kube.c) and the
shim (launcher/cmd_shim.c) end to end against the fake API server, with the real
jupyter_client: a kernel runs in a (fake) pod and answers; a shutdown leaves no
object; every fault of a starting pod reaches the notebook as the text a person
needs; an OOM kill ends the launcher with the reason; a SIGKILLed launcher's pod
is deleted by the shim's watchdog; the shim refuses clients without the CURVE key."""
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest
import zmq
from jupyter_client import KernelManager

from k8s_schema import SPARK_K8S, validate

KERNEL = "spark-4.1-baseline"


@pytest.fixture
def fake(fakekube_factory, monkeypatch):
    # The driver pod mounts an emptyDir on /tmp; the fake's state dir must not live
    # under /tmp, or that mount hides the fake's own volume sources (fake limitation).
    monkeypatch.setattr(tempfile, "tempdir", "/var/tmp")
    return fakekube_factory(check_leftovers=True,
                            path="%s:/usr/local/bin:/usr/bin:/bin" % SPARK_K8S.parent)


@pytest.fixture
def kernel_env(fake, tmp_path, monkeypatch):
    prefix = tmp_path / "prefix"
    subprocess.run([str(SPARK_K8S), "kernelspec", "install", "--prefix", str(prefix),
                    "--spark", "4.1", "--variant", "baseline", "--runtime", "kubernetes",
                    "--executable", str(SPARK_K8S), "--python", "/usr/bin/python3",
                    "--driver-memory", "512m"], check=True, capture_output=True)
    config = tmp_path / "admin.json"
    config.write_text("{}")
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    monkeypatch.setenv("SPARK_K8S_CONFIG", str(config))
    monkeypatch.setenv("KUBECONFIG", fake.kubeconfig)
    monkeypatch.setenv("USER", "jane")
    for name in ("KUBERNETES_SERVICE_HOST", "SPARK_K8S_SA_DIR", "SPARK_K8S_POD_TEMPLATE",
                 "SPARK_K8S_IMAGE_PULL_SECRETS", "JUPYTERHUB_USER"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


class Kernel:
    def __init__(self, tmp_path):
        self.log_path = tmp_path / "launcher.log"
        self.log = open(self.log_path, "w")
        self.km = KernelManager(kernel_name=KERNEL)
        self.km.start_kernel(stderr=self.log)
        self.kc = self.km.client()
        self.kc.start_channels()

    def execute(self, code, timeout=60):
        """(reply content, stream text, error contents) of one execute_request."""
        msg_id = self.kc.execute(code)
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        text, errors = "", []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                m = self.kc.get_iopub_msg(timeout=1)
            except Exception:
                if reply["content"]["status"] == "error":
                    break  # a failed start sends no idle status
                continue
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "stream":
                text += m["content"]["text"]
            elif m["msg_type"] == "error":
                errors.append(m["content"])
            elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
        return reply["content"], text, errors

    def wait_exit(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self.km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.km.is_alive()

    def launcher_log(self):
        self.log.flush()
        return self.log_path.read_text()

    def close(self):
        self.kc.stop_channels()
        if self.km.has_kernel:
            if self.km.is_alive():
                self.km.shutdown_kernel(now=False)
            self.km.cleanup_resources()
        self.log.close()


@pytest.fixture
def start_kernel(kernel_env, tmp_path):
    kernels = []

    def start():
        k = Kernel(tmp_path)
        kernels.append(k)
        return k

    yield start
    for k in kernels:
        k.close()


def kernel_pod(fake):
    pods = [p for p in fake.objects("pods") if p["metadata"]["name"].startswith("spark-k8s-")]
    assert len(pods) == 1, pods
    return pods[0]


def test_kernel_runs_in_the_pod_and_leaves_nothing(fake, start_kernel):
    fake.faults.slow_start(schedule=0.5)  # the first request waits for the whole start
    k = start_kernel()
    reply, text, errors = k.execute("import os; print(os.environ['SPARK_K8S_POD_IP'], os.getuid())")
    assert reply["status"] == "ok", errors
    pod = kernel_pod(fake)
    assert "\n%s 185\n" % pod["status"]["podIP"] in text
    # the start was narrated in the notebook of the waiting request
    assert "pod scheduled on fake-node" in text and "is running" in text
    for body in fake.created_bodies():
        validate(body)
    assert [b["kind"] for b in fake.created_bodies()] == ["Pod", "Secret", "Service", "ConfigMap"]
    reply, text, _ = k.execute("print(6 * 7)")
    assert text == "42\n"
    k.km.shutdown_kernel(now=False)
    assert k.wait_exit()
    fake.wait_no_leftovers(timeout=30)


def test_image_pull_failure_reaches_the_notebook(fake, start_kernel):
    fake.faults.slow_start(pull=2.0)  # the request below is waiting when the pull fails
    fake.faults.image_pull_failure(message="pull access denied for spark-k8s-jupyter")
    k = start_kernel()
    reply, text, errors = k.execute("1")
    assert reply["status"] == "error"
    assert 'Failed to pull image "spark-k8s-jupyter:4.1' in text
    shown = " ".join(e["evalue"] for e in errors)
    assert "ErrImagePull" in shown and "pull access denied for spark-k8s-jupyter" in shown
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


def test_watchdog_deletes_the_pod_of_a_killed_launcher(fake, start_kernel, kernel_env):
    kernel_env.setenv("SPARK_K8S_WATCHDOG", "2")
    k = start_kernel()
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    name = kernel_pod(fake)["metadata"]["name"]
    os.kill(k.km.provisioner.process.pid, signal.SIGKILL)
    assert k.wait_exit()
    fake.wait_gone("pods", name, timeout=30)
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


def test_launcher_in_a_pod_owns_the_kernel_pod(fake, start_kernel, kernel_env):
    client = fake.client()
    code, server = client.create("pods", "default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "jupyter-0"},
        "spec": {"containers": [{"name": "jupyter", "image": "jupyter",
                                 "command": ["sleep", "300"]}]}})
    assert code == 201, server
    kernel_env.delenv("KUBECONFIG")
    for name, value in fake.in_cluster_env().items():
        kernel_env.setenv(name, value)
    kernel_env.setenv("SPARK_K8S_SA_DIR", fake.sa_dir)
    kernel_env.setenv("POD_NAME", "jupyter-0")
    k = start_kernel()
    reply = k.execute("1")
    assert reply[0]["status"] == "ok", (reply, k.launcher_log())
    assert kernel_pod(fake)["metadata"]["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "Pod", "name": "jupyter-0",
        "uid": server["metadata"]["uid"]}]
    # deleting the Jupyter server's pod takes the kernel pod and its objects with it
    client.delete("pods", "default", "jupyter-0")
    assert k.wait_exit()
    assert k.km.provisioner.process.returncode == 1
    assert "was deleted" in k.launcher_log()
    fake.wait_no_leftovers(timeout=30)


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
