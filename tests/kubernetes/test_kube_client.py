"""test_kube_client.py — launcher/kube/kube_config.c + kube_client.c + kube_objects.c
against the fake API server (fakekube fixture), through the test driver
build/tests/kube-cli: kubeconfig (token, client certificate files and data) and
in-cluster configuration, TLS verification, create/get/list/delete, Status
errors surfaced verbatim (401/403/409/422/500, quota), watches that resume after
a drop and re-list after 410 Gone, and the kernel's objects as the runtime
creates them: valid, owned by the Pod and gone with it."""
import json
import os
import subprocess

import pytest

from fakekube.schema import validate
from support.factories import closed_at_the_end
from support.paths import KUBE_CLI

NS = "default"
CM = "/api/v1/namespaces/default/configmaps"


def cli_env(fakekube=None, kubeconfig=None, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KUBERNETES_") and k not in ("KUBECONFIG", "SPARK_K8S_SA_DIR")}
    if kubeconfig or fakekube:
        env["KUBECONFIG"] = kubeconfig or fakekube.kubeconfig
    env.update(extra)
    return env


def cli(env, *args, ok=True):
    proc = subprocess.run([str(KUBE_CLI), *args], capture_output=True, text=True, env=env,
                          timeout=60)
    if ok:
        assert proc.returncode == 0, proc.stderr
        return proc.stdout
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    return proc.stderr.strip()


def parse_error(line):
    """'code=C reason=R message=M' -> (C, R, M)."""
    code, rest = line.split(" reason=", 1)
    reason, message = rest.split(" message=", 1)
    return int(code[len("code="):]), reason, message


def configmap(name, **labels):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}


def write_json(tmp_path, name, obj):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return str(path)


def test_create_get_list_delete(fakekube, tmp_path):
    env = cli_env(fakekube)
    body = write_json(tmp_path, "cm.json", configmap("one", team="a"))
    created = json.loads(cli(env, "create", CM, body))
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    got = json.loads(cli(env, "get", CM + "/one"))
    assert got["data"] == {"k": "v"}
    cli(env, "create", CM, write_json(tmp_path, "two.json", configmap("two", team="b")))
    listed = json.loads(cli(env, "list", CM, "team=a"))
    assert [i["metadata"]["name"] for i in listed["items"]] == ["one"]
    assert cli(env, "delete", CM + "/one").strip() == "deleted"
    assert cli(env, "delete", CM + "/one").strip() == "gone"
    cli(env, "delete", CM + "/two")
    delete = [r for r in fakekube.requests if r.method == "DELETE"][0]
    assert delete.body["propagationPolicy"] == "Background"
    assert fakekube.leftovers() == []


@pytest.mark.parametrize("auth,ca_data", [("token", True), ("cert", False), ("cert", True)])
def test_kubeconfig_variants(fakekube, tmp_path, auth, ca_data):
    path = fakekube.write_kubeconfig(str(tmp_path / "config"), auth=auth, ca_data=ca_data)
    out = json.loads(cli(cli_env(kubeconfig=path), "list", CM))
    assert out["kind"] == "ConfigMapList"


def test_in_cluster_configuration(fakekube):
    env = cli_env(KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT=str(fakekube.port),
                  SPARK_K8S_SA_DIR=fakekube.sa_dir)
    out = json.loads(cli(env, "list", CM))
    assert out["kind"] == "ConfigMapList"


def test_tls_is_verified(fakekube, tmp_path):
    # Same server, no CA given: the system trust store does not know the fake's CA.
    path = tmp_path / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters:\n- name: s\n  cluster:\n    server: %s\n"
        "users:\n- name: u\n  user:\n    token: %s\n"
        "contexts:\n- name: c\n  context: {cluster: s, user: u}\n" % (fakekube.url, fakekube.token))
    code, reason, message = parse_error(cli(cli_env(kubeconfig=str(path)), "list", CM, ok=False))
    assert code == 0 and reason == ""
    assert "certificate" in message.lower() and fakekube.url in message
    assert not [r for r in fakekube.requests if r.path.startswith("/api/v1/namespaces")]


def test_wrong_token_is_401(fakekube, tmp_path):
    path = fakekube.write_kubeconfig(str(tmp_path / "config"), token="not-the-token")
    code, reason, message = parse_error(cli(cli_env(kubeconfig=path), "list", CM, ok=False))
    assert (code, reason) == (401, "Unauthorized")
    assert message == "Unauthorized"


def test_exec_plugin_refused(fakekube, tmp_path):
    path = tmp_path / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters:\n- name: s\n  cluster: {server: '%s'}\n"
        "users:\n- name: eks-user\n  user:\n    exec: {command: aws, apiVersion: "
        "client.authentication.k8s.io/v1beta1}\n"
        "contexts:\n- name: c\n  context: {cluster: s, user: eks-user}\n" % fakekube.url)
    proc = subprocess.run([str(KUBE_CLI), "list", CM], capture_output=True, text=True,
                          env=cli_env(kubeconfig=str(path)))
    assert proc.returncode == 2
    assert "unsupported auth method 'exec' in kubeconfig %s user eks-user" % path in proc.stderr


def test_status_errors_verbatim(fakekube, tmp_path):
    env = cli_env(fakekube)
    body = write_json(tmp_path, "cm.json", configmap("x"))

    fakekube.faults.forbidden(verb="create", resource="configmaps", count=1)
    code, reason, message = parse_error(cli(env, "create", CM, body, ok=False))
    assert (code, reason) == (403, "Forbidden")
    assert message == ('configmaps is forbidden: User "%s" cannot create resource "configmaps" '
                       'in API group "" in the namespace "default"' % fakekube.user)

    fakekube.faults.quota_exceeded(resource="configmaps", count=1)
    code, reason, message = parse_error(cli(env, "create", CM, body, ok=False))
    assert code == 403
    assert "exceeded quota: compute-resources, requested: limits.memory=4Gi" in message

    fakekube.faults.internal_error(verb="create", resource="configmaps", message="etcd is down")
    code, reason, message = parse_error(cli(env, "create", CM, body, ok=False))
    assert (code, reason) == (500, "InternalError")
    assert message == "Internal error occurred: etcd is down"  # the fake's Status.message

    cli(env, "create", CM, body)
    code, reason, message = parse_error(cli(env, "create", CM, body, ok=False))
    assert (code, reason) == (409, "AlreadyExists")
    assert message == 'configmaps "x" already exists'

    bad = configmap("y")
    bad["spec"] = {"unknown": True}
    code, reason, message = parse_error(
        cli(env, "create", CM, write_json(tmp_path, "bad.json", bad), ok=False))
    assert (code, reason) == (422, "Invalid")
    assert message.startswith('ConfigMap "y" is invalid: ')

    code, reason, message = parse_error(cli(env, "get", CM + "/missing", ok=False))
    assert (code, reason, message) == (404, "NotFound", 'configmaps "missing" not found')
    cli(env, "delete", CM + "/x")


class Watcher:
    """kube-cli watch as a subprocess whose event lines the test reads one by one."""

    def __init__(self, env, path, count, field_selector=None):
        args = [str(KUBE_CLI), "watch", path, str(count)] + ([field_selector] if field_selector else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)

    def next(self):
        line = self.proc.stdout.readline()
        assert line, "watch ended: " + self.proc.stderr.read()
        return json.loads(line)

    def finish(self):
        counts = self.next()
        assert self.proc.wait(timeout=30) == 0
        return counts

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def watcher():
    yield from closed_at_the_end(Watcher)


def event(e):
    return e["type"], e["object"]["metadata"]["name"]


def test_watch_lists_then_streams(fakekube, watcher):
    env = cli_env(fakekube)
    client = fakekube.client()
    client.create("configmaps", NS, configmap("before"))
    w = watcher(env, CM, 4)
    events = [event(w.next()) for _ in range(2)]  # the namespace's kube-root-ca.crt too
    assert ("ADDED", "before") in events
    client.create("configmaps", NS, configmap("after"))
    assert event(w.next()) == ("ADDED", "after")
    client.delete("configmaps", NS, "after")
    assert event(w.next()) == ("DELETED", "after")
    assert w.finish() == {"resumes": 0, "relists": 0}
    client.delete("configmaps", NS, "before")


@pytest.mark.parametrize("abrupt", [False, True])
def test_watch_resumes_after_drop(fakekube, watcher, abrupt):
    env = cli_env(fakekube)
    client = fakekube.client()
    client.create("configmaps", NS, configmap("a"))
    fakekube.faults.drop_watch(after=1, resource="configmaps", count=1, abrupt=abrupt)
    w = watcher(env, CM, 4, "metadata.name!=kube-root-ca.crt")
    assert event(w.next()) == ("ADDED", "a")       # from the list
    client.create("configmaps", NS, configmap("b"))
    assert event(w.next()) == ("ADDED", "b")       # the stream's one event, then it drops
    client.create("configmaps", NS, configmap("c"))  # while it may be down
    assert event(w.next()) == ("ADDED", "c")       # delivered after the resume, once
    client.delete("configmaps", NS, "a")
    assert event(w.next()) == ("DELETED", "a")
    counts = w.finish()
    assert counts["resumes"] >= 1 and counts["relists"] == 0

    def watches():
        return [r for r in fakekube.requests if r.verb == "watch"]
    fakekube.wait_for(lambda: len(watches()) >= 2, timeout=10, what="two watch requests")
    first, second = watches()[:2]
    # the resumed watch continues from the version the dropped one had reached
    assert int(second.query["resourceVersion"]) > int(first.query["resourceVersion"])
    client.delete("configmaps", NS, "b")
    client.delete("configmaps", NS, "c")


def test_watch_relists_after_410(fakekube, watcher):
    env = cli_env(fakekube)
    client = fakekube.client()
    client.create("configmaps", NS, configmap("a"))
    fakekube.faults.watch_gone(resource="configmaps", count=1)
    w = watcher(env, CM, 3, "metadata.name!=kube-root-ca.crt")
    assert event(w.next()) == ("ADDED", "a")
    client.create("configmaps", NS, configmap("b"))
    assert event(w.next()) == ("ADDED", "b")       # exactly once, by re-list or stream
    client.delete("configmaps", NS, "a")
    assert event(w.next()) == ("DELETED", "a")
    counts = w.finish()
    assert counts["relists"] == 1
    lists = [r for r in fakekube.requests if r.verb == "list" and r.resource == "configmaps"]
    assert len(lists) == 2
    client.delete("configmaps", NS, "b")


def test_watch_fatal_403(fakekube, watcher):
    env = cli_env(fakekube)
    fakekube.faults.forbidden(verb="watch", resource="configmaps", count=1)
    w = watcher(env, CM, 1, "metadata.name!=kube-root-ca.crt")
    assert w.proc.wait(timeout=30) == 1
    code, reason, message = parse_error(w.proc.stderr.read().strip())
    assert (code, reason) == (403, "Forbidden")
    assert 'cannot watch resource "configmaps"' in message


KERNEL_INPUTS = {
    "kernel_id": "0b7f0d2c-9a55-4d8e-8f3a-1c2d3e4f5a6b",
    "user": "jane@example.com",
    "namespace": NS,
    "driver_image": "spark-k8s-jupyter:4.1-test-baseline",
    "cpu_request": "100m",
    "memory_request": "256Mi",
    "memory_limit": "1Gi",
    "spark_defaults": "spark.master k8s://https://kubernetes.default.svc\n",
    "hmac_key": "0123456789abcdef0123456789abcdef",
    "server_secret_key": "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6",
    "server_public_key": "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
    "client_public_key": "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
}


def test_kernel_objects_created_owned_and_collected(fakekube, tmp_path):
    env = cli_env(fakekube)
    sent = json.loads(cli(env, "apply-kernel", write_json(tmp_path, "in.json", KERNEL_INPUTS)))
    validate(sent)
    for body in fakekube.created_bodies():
        validate(body)
    assert fakekube.invalid_requests() == []
    kinds = [b["kind"] for b in fakekube.created_bodies()]
    assert kinds == ["Pod", "Secret", "Service", "ConfigMap"]
    name = "spark-k8s-" + KERNEL_INPUTS["kernel_id"]
    pod = fakekube.get("pods", name)
    for kind, obj_name in (("secrets", name + "-keys"), ("services", name),
                           ("configmaps", name + "-conf")):
        obj = fakekube.get(kind, obj_name)
        assert obj["metadata"]["ownerReferences"] == [{
            "apiVersion": "v1", "kind": "Pod", "name": name, "uid": pod["metadata"]["uid"]}]
    secret = fakekube.get("secrets", name + "-keys")
    assert set(secret["data"]) == {"hmac-key", "curve-server-secret", "curve-server-public",
                                   "curve-client-public"}
    assert cli(env, "delete", "/api/v1/namespaces/default/pods/" + name).strip() == "deleted"
    fakekube.wait_no_leftovers(timeout=30)
