"""Tests of the fake Kubernetes API server itself (tests/fakekube), through HTTPS with http.client
and the curl CLI, never through the product."""

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile

import pytest
import yaml

from fakekube.client import KubeClient
from support.paths import ROOT

NS = "default"


def pod(name, command, **spec):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "t"}},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "main", "image": "busybox:1.36", "command": command}]}}
    ctr = body["spec"]["containers"][0]
    for k in ("env", "envFrom", "volumeMounts", "readinessProbe", "ports", "workingDir"):
        if k in spec:
            ctr[k] = spec.pop(k)
    if "securityContext_container" in spec:
        ctr["securityContext"] = spec.pop("securityContext_container")
    body["spec"].update(spec)
    return body


def secret(name, data, **meta):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": dict(name=name, **meta),
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def configmap(name, data=None, **meta):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": dict(name=name, **meta), "data": data or {"k": "v"}}


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_log(fk, name, text, ns=NS, timeout=60):
    return fk.wait_pod_log(name, text, ns, timeout)


def wait_event(fk, name, reason, count=1, timeout=60):
    return fk.wait_event(name, reason, count=count, timeout=timeout)


def raw_get(fk, path):
    """GET over a raw TLS socket with Connection: close; the bytes up to EOF, chunk framing kept."""
    import ssl
    ctx = ssl.create_default_context(cafile=fk.ca)
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", fk.port), timeout=20),
                         server_hostname="127.0.0.1") as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                   "Connection: close\r\n\r\n" % (path, fk.token)).encode())
        data = b""
        while True:
            try:
                more = s.recv(65536)
            except (ssl.SSLEOFError, ConnectionResetError):
                break
            if not more:
                break
            data += more
    return data


# --- transport and authentication ------------------------------------------------------------

def test_unauthenticated_and_wrong_token_get_401_status(fakekube):
    for token in ("", "not-the-token"):
        code, body = fakekube.client(token=token).list("pods", NS)
        assert code == 401
        assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    code, body = fakekube.client().list("pods", NS)
    assert code == 200 and body["kind"] == "PodList"


def test_tls_is_verified_against_the_per_run_ca(fakekube):
    import ssl
    import http.client
    # the certificate is valid for localhost and 127.0.0.1 with the fake's CA ...
    for host in ("localhost", "127.0.0.1"):
        ctx = ssl.create_default_context(cafile=fakekube.ca)
        conn = http.client.HTTPSConnection(host, fakekube.port, context=ctx, timeout=10)
        conn.request("GET", "/version")
        assert conn.getresponse().status == 200
        conn.close()
    # ... and not trusted by the system store
    conn = http.client.HTTPSConnection("127.0.0.1", fakekube.port, context=ssl.create_default_context(), timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/version")
    conn.close()


def test_kubeconfig_and_service_account_dir(fakekube):
    with open(fakekube.kubeconfig) as f:
        cfg = yaml.safe_load(f)
    ctx = next(c for c in cfg["contexts"] if c["name"] == cfg["current-context"])["context"]
    cluster = next(c for c in cfg["clusters"] if c["name"] == ctx["cluster"])["cluster"]
    user = next(u for u in cfg["users"] if u["name"] == ctx["user"])["user"]
    assert cluster["server"] == fakekube.url and cluster["certificate-authority"] == fakekube.ca
    assert user["token"] == fakekube.token and ctx["namespace"] == "default"
    inline = fakekube.write_kubeconfig(os.path.join(fakekube.state_dir, "inline"), ca_data=True)
    with open(inline) as f:
        cluster2 = yaml.safe_load(f)["clusters"][0]["cluster"]
    with open(fakekube.ca, "rb") as f:
        assert base64.b64decode(cluster2["certificate-authority-data"]) == f.read()
    for name, want in (("token", fakekube.token), ("namespace", "default")):
        with open(os.path.join(fakekube.sa_dir, name)) as f:
            assert f.read() == want
    assert os.path.exists(os.path.join(fakekube.sa_dir, "ca.crt"))
    env = fakekube.in_cluster_env()
    assert (env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]) == ("127.0.0.1", str(fakekube.port))


def test_client_certificate_from_kubeconfig_authenticates(fakekube):
    path = fakekube.write_kubeconfig(os.path.join(fakekube.state_dir, "cert-kubeconfig"), auth="cert")
    with open(path) as f:
        user = yaml.safe_load(f)["users"][0]["user"]
    assert "token" not in user
    client = KubeClient(fakekube.url, None, fakekube.ca, user["client-certificate"],
                        user["client-key"])
    assert client.list("secrets", NS)[0] == 200


def test_curl_cli_speaks_to_it(fakekube):
    """The real curl (libcurl, like the product) with --cacert and a bearer token."""
    base = ["curl", "-sS", "--cacert", fakekube.ca, "-H", "Authorization: Bearer " + fakekube.token]
    out = subprocess.run(base + ["-X", "POST", "-H", "Content-Type: application/json", "--data",
                                 json.dumps(configmap("from-curl")), "-w", "\n%{http_code}",
                                 fakekube.url + "/api/v1/namespaces/default/configmaps"],
                         capture_output=True, text=True, check=True).stdout
    body, code = out.rsplit("\n", 1)
    assert code == "201" and json.loads(body)["metadata"]["name"] == "from-curl"
    rv = json.loads(body)["metadata"]["resourceVersion"]
    fakekube.client().delete("configmaps", NS, "from-curl")
    out = subprocess.run(base + ["-N", fakekube.url + "/api/v1/namespaces/default/configmaps?watch=1"
                                 "&timeoutSeconds=1&resourceVersion=" + rv],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("DELETED", "from-curl")]


# --- objects ---------------------------------------------------------------------------------

def test_create_get_list_delete(fakekube):
    c = fakekube.client()
    code, created = c.create("secrets", NS, secret("s1", {"key": "v"}, labels={"tier": "a"}))
    assert code == 201
    md = created["metadata"]
    assert md["uid"] and md["resourceVersion"].isdigit() and md["creationTimestamp"].endswith("Z")
    assert created["type"] == "Opaque" and md["namespace"] == NS
    code, gen = c.create("secrets", NS, {"metadata": {"generateName": "kernel-"}, "stringData": {"a": "b"}})
    assert code == 201 and gen["metadata"]["name"].startswith("kernel-") and len(gen["metadata"]["name"]) == 12
    assert gen["data"] == {"a": base64.b64encode(b"b").decode()} and "stringData" not in gen
    code, got = c.get("secrets", NS, "s1")
    assert code == 200 and got == created
    code, lst = c.list("secrets", NS)
    assert lst["kind"] == "SecretList" and lst["apiVersion"] == "v1"
    assert int(lst["metadata"]["resourceVersion"]) >= int(gen["metadata"]["resourceVersion"])
    assert sorted(i["metadata"]["name"] for i in lst["items"]) == sorted(["s1", gen["metadata"]["name"]])
    assert "kind" not in lst["items"][0]  # as the real server sends list items
    code, sel = c.list("secrets", NS, labelSelector="tier in (a,b)")
    assert [i["metadata"]["name"] for i in sel["items"]] == ["s1"]
    code, sel = c.list("secrets", NS, labelSelector="tier!=a")
    assert [i["metadata"]["name"] for i in sel["items"]] == [gen["metadata"]["name"]]
    code, page = c.list("secrets", NS, limit="1")
    assert len(page["items"]) == 1 and page["metadata"]["continue"]
    code, page2 = c.list("secrets", NS, limit="1", **{"continue": page["metadata"]["continue"]})
    assert len(page2["items"]) == 1 and "continue" not in page2["metadata"]
    code, st = c.delete("secrets", NS, "s1", {"kind": "DeleteOptions", "apiVersion": "v1",
                                               "propagationPolicy": "Background"})
    assert code == 200 and st["kind"] == "Status" and st["status"] == "Success"
    assert st["details"] == {"name": "s1", "kind": "secrets", "uid": md["uid"]}
    code, st = c.get("secrets", NS, "s1")
    assert code == 404
    assert st == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": 'secrets "s1" not found', "reason": "NotFound",
                  "details": {"name": "s1", "kind": "secrets"}, "code": 404}
    assert c.delete("secrets", NS, gen["metadata"]["name"])[0] == 200
    assert fakekube.leftovers() == []


def test_service_and_configmap_defaults(fakekube):
    c = fakekube.client()
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "driver-svc"},
           "spec": {"clusterIP": "None", "selector": {"app": "t"},
                    "ports": [{"name": "shim", "port": 7077}, {"name": "blocks", "port": 7078}]}}
    code, out = c.create("services", NS, svc)
    assert code == 201 and out["spec"]["clusterIP"] == "None"
    assert out["spec"]["ports"][0] == {"name": "shim", "port": 7077, "protocol": "TCP", "targetPort": 7077}
    code, out = c.create("configmaps", NS, configmap("conf", {"spark-defaults.conf": "a b\n"}))
    assert code == 201 and out["data"] == {"spark-defaults.conf": "a b\n"}
    names = [o["metadata"]["name"] for o in fakekube.objects("ConfigMap", NS)]
    assert names == ["conf", "kube-root-ca.crt"]


def test_already_exists_409(fakekube):
    c = fakekube.client()
    assert c.create("configmaps", NS, configmap("dup"))[0] == 201
    code, st = c.create("configmaps", NS, configmap("dup"))
    assert code == 409 and st["reason"] == "AlreadyExists"
    assert st["message"] == 'configmaps "dup" already exists'
    assert st["details"] == {"name": "dup", "kind": "configmaps"}


def test_schema_invalid_pod_is_422_with_the_field(fakekube):
    c = fakekube.client()
    bad = pod("bad", ["true"])
    bad["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    code, st = c.create("pods", NS, bad)
    assert code == 422 and st["reason"] == "Invalid" and st["status"] == "Failure"
    assert st["message"].startswith('Pod "bad" is invalid: spec.containers[0].imagePullPolicyy: ')
    assert st["details"]["kind"] == "Pod" and st["details"]["name"] == "bad"
    assert st["details"]["causes"][0]["field"] == "spec.containers[0].imagePullPolicyy"
    noimage = pod("noimage", ["true"])
    del noimage["spec"]["containers"][0]["image"]
    code, st = c.create("pods", NS, noimage)
    assert code == 422 and st["message"] == 'Pod "noimage" is invalid: spec.containers[0].image: Required value'
    wrongtype = pod("wrongtype", ["true"])
    wrongtype["spec"]["containers"][0]["ports"] = [{"containerPort": "http"}]
    code, st = c.create("pods", NS, wrongtype)
    assert code == 422 and "spec.containers[0].ports[0].containerPort" in st["message"]
    code, st = c.create("pods", NS, pod("Bad_Name", ["true"]))
    assert code == 422 and 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain' in st["message"]
    code, st = c.create("services", NS, {"metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80}]}})
    assert code == 422 and "DNS-1035 label" in st["message"]
    # the downward API takes the pod IP in env only, as the API server enforces
    badref = pod("badref", ["true"], volumes=[{"name": "d", "downwardAPI": {"items": [
        {"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}}]}}])
    code, st = c.create("pods", NS, badref)
    assert code == 422
    assert st["message"].startswith('Pod "badref" is invalid: spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: '
                                    'Unsupported value: "status.podIP": supported values: "metadata.annotations"')
    code, st = c.create("pods", NS, pod("badenv", ["true"], env=[
        {"name": "L", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels"}}}]))
    assert code == 422 and "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath" in st["message"]
    code, _ = c.create("pods", NS, pod("goodenv", ["/bin/sh", "-c", "exit 0"], env=[
        {"name": "L", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "M", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}}]))
    assert code == 201
    c.delete("pods", NS, "goodenv", {"gracePeriodSeconds": 0})
    code, st = c.create("pods", NS, pod("longport", ["true"], ports=[{"name": "spark-driver-port", "containerPort": 7077}]))
    assert code == 422 and st["message"] == ('Pod "longport" is invalid: spec.containers[0].ports[0].name: '
                                             'Invalid value: "spark-driver-port": must be no more than 15 characters')
    res = pod("res", ["true"])
    res["spec"]["containers"][0]["resources"] = {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}
    code, st = c.create("pods", NS, res)
    assert code == 422 and 'spec.containers[0].resources.requests: Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi' in st["message"]
    res["spec"]["containers"][0]["resources"] = {"limits": {"memory": "4g"}}
    code, st = c.create("pods", NS, res)
    assert code == 400 and "quantities must match the regular expression" in st["message"]
    assert fakekube.objects("pods") == []
    assert [r.code for r in fakekube.invalid_requests()] == [422] * 9 + [400]


def test_create_in_missing_namespace_is_404(fakekube):
    code, st = fakekube.client().create("configmaps", "nope", configmap("x"))
    assert code == 404 and st["message"] == 'namespaces "nope" not found'
    fakekube.add_namespace("nope")
    assert fakekube.client().create("configmaps", "nope", configmap("x"))[0] == 201


def test_every_request_is_recorded(fakekube):
    c = fakekube.client()
    c.create("configmaps", NS, configmap("rec"))
    c.get("configmaps", NS, "rec")
    c.delete("configmaps", NS, "rec", {"propagationPolicy": "Foreground"})
    got = [(r.method, r.verb, r.resource, r.name, r.code) for r in fakekube.requests]
    assert got == [("POST", "create", "configmaps", "rec", 201), ("GET", "get", "configmaps", "rec", 200),
                   ("DELETE", "delete", "configmaps", "rec", 200)]
    assert fakekube.requests[0].body == configmap("rec")
    assert fakekube.requests[2].body == {"propagationPolicy": "Foreground"}
    assert fakekube.created_bodies("ConfigMap") == [configmap("rec")]
    fakekube.wait_gone("configmaps", "rec")


# --- watch -----------------------------------------------------------------------------------

def test_watch_from_a_resource_version(fakekube):
    c = fakekube.client()
    _, first = c.create("configmaps", NS, configmap("w1"))
    rv = first["metadata"]["resourceVersion"]
    c.create("configmaps", NS, configmap("w2", labels={"k": "v"}))
    c.delete("configmaps", NS, "w1")
    with c.watch("configmaps", NS, resourceVersion=rv, timeoutSeconds="1") as w:
        assert w.status == 200 and w.headers.get("Transfer-Encoding") == "chunked"
        events = list(w)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w2"), ("DELETED", "w1")]
    assert events[0]["object"]["kind"] == "ConfigMap" and events[0]["object"]["apiVersion"] == "v1"
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) > int(events[0]["object"]["metadata"]["resourceVersion"])
    # a selector filters, and without a resourceVersion the current state comes first as ADDED
    with c.watch("configmaps", NS, labelSelector="k=v", timeoutSeconds="1") as w:
        events = list(w)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w2")]
    c.delete("configmaps", NS, "w2")


def test_watch_streams_live_events_one_per_chunk(fakekube):
    """Raw HTTP/1.1 over TLS: each chunk is exactly one JSON event followed by a newline."""
    import ssl
    c = fakekube.client()
    _, lst = c.list("secrets", NS)
    ctx = ssl.create_default_context(cafile=fakekube.ca)
    raw = ctx.wrap_socket(socket.create_connection(("127.0.0.1", fakekube.port), timeout=20),
                          server_hostname="127.0.0.1")
    raw.sendall(("GET /api/v1/namespaces/default/secrets?watch=true&resourceVersion=%s HTTP/1.1\r\n"
                 "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n"
                 % (lst["metadata"]["resourceVersion"], fakekube.token)).encode())
    f = raw.makefile("rb")
    status = f.readline()
    assert status.startswith(b"HTTP/1.1 200")
    headers = {}
    while True:
        line = f.readline().strip()
        if not line:
            break
        k, v = line.decode().split(":", 1)
        headers[k.lower()] = v.strip()
    assert headers["transfer-encoding"] == "chunked" and headers["content-type"] == "application/json"
    c.create("secrets", NS, secret("live", {"a": "b"}))
    size = int(f.readline().strip(), 16)
    chunk = f.read(size)
    assert chunk.endswith(b"\n") and chunk.count(b"\n") == 1
    ev = json.loads(chunk)
    assert ev["type"] == "ADDED" and ev["object"]["metadata"]["name"] == "live"
    raw.close()
    c.delete("secrets", NS, "live")


def test_watch_from_a_compacted_resource_version_is_410_gone(fakekube):
    c = fakekube.client()
    _, first = c.create("configmaps", NS, configmap("old"))
    old_rv = first["metadata"]["resourceVersion"]
    c.create("configmaps", NS, configmap("new"))
    fakekube.faults.compact()  # forget every change up to now, as an etcd compaction does
    with c.watch("configmaps", NS, resourceVersion=old_rv) as w:
        assert w.status == 200
        events = list(w)
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    st = events[0]["object"]
    assert (st["kind"], st["status"], st["code"], st["reason"]) == ("Status", "Failure", 410, "Expired")
    assert st["message"].startswith("too old resource version: %s (" % old_rv)
    # re-listing gives a fresh resourceVersion that watches fine
    _, lst = c.list("configmaps", NS)
    with c.watch("configmaps", NS, resourceVersion=lst["metadata"]["resourceVersion"], timeoutSeconds="1") as w:
        assert list(w) == []


def test_faults_gone_on_resume_and_dropped_watch(fakekube):
    c = fakekube.client()
    _, lst = c.list("configmaps", NS)
    rv = lst["metadata"]["resourceVersion"]
    fakekube.faults.watch_gone("configmaps")
    with c.watch("configmaps", NS, resourceVersion=rv) as w:
        assert [e["object"]["code"] for e in w] == [410]
    with c.watch("configmaps", NS, resourceVersion=rv, timeoutSeconds="1") as w:
        assert list(w) == []  # the fault was for one watch only
    for i in range(3):
        c.create("configmaps", NS, configmap("d%d" % i))
    fakekube.faults.drop_watch(after=1, resource="configmaps")
    with c.watch("configmaps", NS, resourceVersion=rv) as w:
        assert [e["object"]["metadata"]["name"] for e in w] == ["d0"]
    # clean end: the chunked stream's last chunk; abrupt: the connection closes without it
    path = "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=" + rv
    fakekube.faults.drop_watch(after=2)
    clean = raw_get(fakekube, path)
    assert clean.count(b'"type":"ADDED"') == 2 and clean.endswith(b"\r\n0\r\n\r\n")
    fakekube.faults.drop_watch(after=2, abrupt=True)
    cut = raw_get(fakekube, path)
    assert cut.count(b'"type":"ADDED"') == 2 and not cut.endswith(b"0\r\n\r\n")


def test_pod_watch_by_name_and_events_by_field_selector(fakekube):
    c = fakekube.client()
    _, lst = c.list("pods", NS)
    c.create("pods", NS, pod("wp", ["/bin/sh", "-c", "exit 0"]))
    with c.watch("pods", NS, resourceVersion=lst["metadata"]["resourceVersion"],
                 fieldSelector="metadata.name=wp") as w:
        ev, seen = w.until(lambda e: e["object"]["status"].get("phase") == "Succeeded")
    phases = [e["object"]["status"].get("phase") for e in seen]
    assert seen[0]["type"] == "ADDED" and phases[0] == "Pending" and "Running" in phases
    _, evs = c.list("events", NS, fieldSelector="involvedObject.name=wp,involvedObject.kind=Pod")
    assert [e["reason"] for e in evs["items"]][:2] == ["Scheduled", "Pulling"]
    code, st = c.list("events", NS, fieldSelector="spec.foo=bar")
    assert code == 400 and st["reason"] == "BadRequest" and st["message"] == "field label not supported: spec.foo"
    c.delete("pods", NS, "wp")
    fakekube.wait_gone("pods", "wp")


# --- garbage collection ----------------------------------------------------------------------

def test_garbage_collection_of_owned_objects(fakekube):
    c = fakekube.client()
    _, owner = c.create("configmaps", NS, configmap("owner"))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"],
           "controller": True, "blockOwnerDeletion": True}
    c.create("secrets", NS, secret("owned", {"a": "b"}, ownerReferences=[ref]))
    c.create("services", NS, {"metadata": {"name": "owned-svc", "ownerReferences": [ref]},
                              "spec": {"clusterIP": "None", "ports": [{"port": 1}]}})
    c.create("secrets", NS, secret("unowned", {"a": "b"}))
    assert c.delete("configmaps", NS, "owner", {"propagationPolicy": "Background"})[0] == 200
    fakekube.wait_gone("secrets", "owned")
    fakekube.wait_gone("services", "owned-svc")
    assert fakekube.get("secrets", "unowned") is not None
    # an object whose owner does not exist (by uid) is collected as well
    dangling = dict(ref, name="ghost", uid="00000000-0000-0000-0000-000000000000")
    c.create("configmaps", NS, configmap("orphan", ownerReferences=[dangling]))
    fakekube.wait_gone("configmaps", "orphan")
    c.delete("secrets", NS, "unowned")
    assert fakekube.leftovers() == []


def test_foreground_deletion_waits_for_dependents(fakekube):
    c = fakekube.client()
    _, owner = c.create("configmaps", NS, configmap("fg-owner"))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "fg-owner", "uid": owner["metadata"]["uid"],
           "blockOwnerDeletion": True}
    c.create("secrets", NS, secret("fg-dep", {"a": "b"}, ownerReferences=[ref]))
    code, body = c.delete("configmaps", NS, "fg-owner", {"propagationPolicy": "Foreground"})
    assert code == 200 and body["metadata"]["deletionTimestamp"]
    assert "foregroundDeletion" in body["metadata"]["finalizers"]
    fakekube.wait_gone("configmaps", "fg-owner")
    assert fakekube.get("secrets", "fg-dep") is None


def test_foreground_deletion_of_a_running_pod(fakekube):
    c = fakekube.client()
    _, p = c.create("pods", NS, pod("fg-pod", ["/bin/sh", "-c", "sleep 30"]))
    ref = {"apiVersion": "v1", "kind": "Pod", "name": "fg-pod", "uid": p["metadata"]["uid"],
           "blockOwnerDeletion": True}
    c.create("configmaps", NS, configmap("fg-conf", ownerReferences=[ref]))
    fakekube.wait_pod_phase("fg-pod", "Running")
    pids = fakekube.pods[(NS, "fg-pod")].live_pids()
    code, body = c.delete("pods", NS, "fg-pod", {"propagationPolicy": "Foreground"})
    assert code == 200 and "foregroundDeletion" in body["metadata"]["finalizers"]
    fakekube.wait_gone("pods", "fg-pod")
    assert fakekube.get("configmaps", "fg-conf") is None
    assert not any(pid_alive(x) for x in pids)


def test_pod_owned_secret_goes_with_the_pod(fakekube):
    c = fakekube.client()
    _, p = c.create("pods", NS, pod("owner-pod", ["/bin/sh", "-c", "sleep 30"]))
    ref = {"apiVersion": "v1", "kind": "Pod", "name": "owner-pod", "uid": p["metadata"]["uid"]}
    c.create("secrets", NS, secret("pod-keys", {"k": "v"}, ownerReferences=[ref]))
    fakekube.wait_pod_phase("owner-pod", "Running")
    c.delete("pods", NS, "owner-pod", {"propagationPolicy": "Background", "gracePeriodSeconds": 1})
    fakekube.wait_gone("pods", "owner-pod")
    fakekube.wait_gone("secrets", "pod-keys")
    assert fakekube.leftovers() == []


# --- pods as processes -----------------------------------------------------------------------

def test_pod_runs_with_mounted_files_and_env(fakekube):
    c = fakekube.client()
    c.create("secrets", NS, secret("keys", {"hmac": "s3cret", "curve": "pub"}))
    script = ("cat /etc/podinfo/name; echo; stat -L -c 'mode=%a' /etc/keys/hmac; cat /etc/keys/hmac; echo; "
              "echo env=$POD_NAME,$POD_NS,$POD_IP,$NODE,$FROM_SECRET,$PLAIN,$EXPANDED; "
              "echo hostname=$(hostname); ls /etc/keys; touch /etc/keys/x 2>/dev/null || echo readonly; "
              "echo ready; sleep 30")
    body = pod("runner", ["/bin/sh", "-c", script],
               env=[{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "keys", "key": "curve"}}},
                    {"name": "PLAIN", "value": "p"},
                    {"name": "EXPANDED", "value": "$(PLAIN)-x"}],
               volumeMounts=[{"name": "podinfo", "mountPath": "/etc/podinfo"},
                             {"name": "keys", "mountPath": "/etc/keys", "readOnly": True}],
               volumes=[{"name": "podinfo", "downwardAPI": {"items": [
                            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
                        {"name": "keys", "secret": {"secretName": "keys", "defaultMode": 0o400,
                                                    "items": [{"key": "hmac", "path": "hmac"}]}}])
    code, created = c.create("pods", NS, body)
    assert code == 201
    running = fakekube.wait_pod_phase("runner", "Running")
    ip = running["status"]["podIP"]
    assert ip.startswith("127.") and ip.rsplit(".", 1)[1] == "2"  # the server's first pod address
    log = wait_log(fakekube, "runner", "ready")
    lines = log.splitlines()
    assert lines[0] == "runner"
    assert lines[1] == "mode=400" and lines[2] == "s3cret"
    assert lines[3] == "env=runner,default,%s,fake-node-1,pub,p,p-x" % ip
    assert lines[4] == "hostname=runner"
    assert lines[5] == "hmac" and lines[6] == "readonly"
    # the mounts exist only inside the pod's mount namespace
    assert not os.path.exists("/etc/podinfo") and not os.path.exists("/etc/keys")
    worker = fakekube.pods[(NS, "runner")]
    assert os.readlink("/proc/%d/ns/mnt" % worker.pid) != os.readlink("/proc/self/ns/mnt")
    # the service-account token is mounted like the admission plugin does
    sa = os.path.join(worker.dir, "volumes")
    assert any(n.startswith("kube-api-access-") for n in os.listdir(sa))
    pids = worker.live_pids()
    assert worker.pid in pids
    assert c.delete("pods", NS, "runner")[0] == 200
    fakekube.wait_gone("pods", "runner")
    assert not any(pid_alive(p) for p in pids)
    c.delete("secrets", NS, "keys")


def test_status_transitions_and_events(fakekube):
    c = fakekube.client()
    _, lst = c.list("pods", NS)
    fakekube.faults.slow_start(schedule=0.1, pull=0.2, create=0.1, start=0.1)
    c.create("pods", NS, pod("fails", ["/bin/sh", "-c", "echo bye; exit 3"]))
    with c.watch("pods", NS, resourceVersion=lst["metadata"]["resourceVersion"]) as w:
        _, seen = w.until(lambda e: e["object"]["status"].get("phase") == "Failed")
    states = []
    for e in seen:
        st = e["object"]["status"]
        cs = (st.get("containerStatuses") or [{}])[0].get("state", {})
        key = (st.get("phase"), next(iter(cs), None), (cs.get("waiting") or {}).get("reason"))
        if not states or states[-1] != key:
            states.append(key)
    assert states == [("Pending", None, None), ("Pending", "waiting", "ContainerCreating"),
                      ("Running", "running", None), ("Running", "terminated", None), ("Failed", "terminated", None)]
    final = seen[-1]["object"]
    term = final["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (3, "Error")
    conds = {c_["type"]: c_ for c_ in final["status"]["conditions"]}
    assert conds["PodScheduled"]["status"] == "True" and conds["Ready"]["reason"] == "PodCompleted"
    evs = fakekube.events("fails")
    assert [e["reason"] for e in evs] == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    assert evs[0]["message"] == "Successfully assigned default/fails to fake-node-1"
    # the scheduler writes events.k8s.io events (no source, no count), the kubelet core/v1 ones
    assert evs[0]["source"] == {} and evs[0]["reportingComponent"] == "default-scheduler"
    assert evs[0]["eventTime"] and evs[0]["firstTimestamp"] is None and "count" not in evs[0]
    assert evs[1]["source"] == {"component": "kubelet", "host": "fake-node-1"} and evs[1]["count"] == 1
    assert evs[1]["message"] == 'Pulling image "busybox:1.36"'
    assert evs[2]["message"].startswith('Successfully pulled image "busybox:1.36" in ')
    assert evs[3]["message"] == "Created container: main" and evs[4]["message"] == "Started container main"
    assert evs[4]["involvedObject"]["fieldPath"] == "spec.containers{main}"
    assert all(e["type"] == "Normal" for e in evs)
    c.create("pods", NS, pod("succeeds", ["/bin/sh", "-c", "exit 0"]))
    done = fakekube.wait_pod_phase("succeeds", ("Succeeded", "Failed"))
    assert done["status"]["phase"] == "Succeeded"
    assert done["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    for n in ("fails", "succeeds"):  # terminal pods are removed at once
        assert c.delete("pods", NS, n)[0] == 200
        assert fakekube.get("pods", n) is None


def test_readiness_follows_a_tcp_probe_on_the_pod_ip(fakekube):
    c = fakekube.client()
    server = ("import os, socket, time; time.sleep(0.3); s = socket.socket(); "
              "s.bind((os.environ['POD_IP'], 7077)); s.listen(); print('listening', flush=True); time.sleep(30)")
    c.create("pods", NS, pod("ready", ["python3", "-c", server],
                             env=[{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                             ports=[{"name": "shim", "containerPort": 7077}],
                             readinessProbe={"tcpSocket": {"port": "shim"}, "periodSeconds": 1}))
    p = fakekube.wait_pod_ready("ready")
    assert p["status"]["containerStatuses"][0]["ready"] is True
    wait_log(fakekube, "ready", "listening")  # ready only once the port listened
    with socket.create_connection((p["status"]["podIP"], 7077), timeout=5):
        pass
    c.delete("pods", NS, "ready", {"gracePeriodSeconds": 0})
    assert fakekube.get("pods", "ready") is None  # force delete removes it at once


def test_delete_sigterm_then_sigkill_the_process_group(fakekube):
    c = fakekube.client()
    # the shell ignores SIGTERM and has a child: both must die, the child by group kill
    c.create("pods", NS, pod("stubborn", ["/bin/sh", "-c", "trap '' TERM; sleep 60 & echo started; wait; sleep 60"],
                             terminationGracePeriodSeconds=1))
    wait_log(fakekube, "stubborn", "started")
    worker = fakekube.pods[(NS, "stubborn")]
    pids = worker.live_pids()
    assert len(pids) >= 2
    code, body = c.delete("pods", NS, "stubborn")
    assert code == 200 and body["kind"] == "Pod" and body["metadata"]["deletionTimestamp"]
    assert body["metadata"]["deletionGracePeriodSeconds"] == 1
    fakekube.wait_gone("pods", "stubborn")
    assert not any(pid_alive(p) for p in pids)
    assert [e["reason"] for e in fakekube.events("stubborn")][-1] == "Killing"


def test_image_pull_failure_fault(fakekube):
    fakekube.faults.image_pull_failure("registry.example/missing:*")
    c = fakekube.client()
    body = pod("nopull", ["/bin/sh", "-c", "sleep 30"])
    body["spec"]["containers"][0]["image"] = "registry.example/missing:1"
    c.create("pods", NS, body)
    wait_event(fakekube, "nopull", "BackOff")

    def waiting_reason():
        p = fakekube.get("pods", "nopull")
        return ((p["status"].get("containerStatuses") or [{}])[0].get("state", {}).get("waiting") or {}).get("reason")
    fakekube.wait_for(lambda: waiting_reason() == "ImagePullBackOff", 60, "ImagePullBackOff")
    msgs = [(e["reason"], e["message"]) for e in fakekube.events("nopull")]
    assert ("Failed", "Error: ErrImagePull") in msgs and ("Failed", "Error: ImagePullBackOff") in msgs
    assert any(r == "Failed" and m.startswith('Failed to pull image "registry.example/missing:1": ') for r, m in msgs)
    assert ("BackOff", 'Back-off pulling image "registry.example/missing:1"') in msgs
    assert fakekube.get("pods", "nopull")["status"]["phase"] == "Pending"
    assert fakekube.pods[(NS, "nopull")].live_pids() == []
    c.delete("pods", NS, "nopull")
    fakekube.wait_gone("pods", "nopull")


def test_unschedulable_fault_repeats_then_schedules(fakekube):
    fakekube.faults.unschedulable()
    c = fakekube.client()
    c.create("pods", NS, pod("gpu", ["/bin/sh", "-c", "sleep 30"]))
    ev = wait_event(fakekube, "gpu", "FailedScheduling", count=2)
    assert ev["message"] == "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    assert ev["series"]["count"] >= 2 and ev["action"] == "Scheduling"
    assert ev["type"] == "Warning" and "fieldPath" not in ev["involvedObject"]
    p = fakekube.get("pods", "gpu")
    cond = p["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("PodScheduled", "False", "Unschedulable")
    assert p["status"]["phase"] == "Pending" and "nodeName" not in p["spec"]
    fakekube.faults.clear_unschedulable()
    fakekube.wait_pod_phase("gpu", "Running")
    # a pod that was never scheduled is removed at once on delete
    fakekube.faults.unschedulable(pod="never")
    c.create("pods", NS, pod("never", ["/bin/sh", "-c", "sleep 30"]))
    wait_event(fakekube, "never", "FailedScheduling")
    c.delete("pods", NS, "never")
    assert fakekube.get("pods", "never") is None
    c.delete("pods", NS, "gpu", {"gracePeriodSeconds": 0})
    fakekube.wait_gone("pods", "gpu")


def test_http_faults(fakekube):
    c = fakekube.client()
    fakekube.faults.forbidden("create", "pods")
    code, st = c.create("pods", NS, pod("p", ["true"]))
    assert code == 403 and st["reason"] == "Forbidden"
    assert st["message"] == ('pods is forbidden: User "system:serviceaccount:default:default" cannot create '
                             'resource "pods" in API group "" in the namespace "default"')
    code, st = c.get("pods", NS, "x")
    assert code == 404  # other verbs are allowed
    fakekube.faults.clear()
    fakekube.faults.quota_exceeded("pods")
    code, st = c.create("pods", NS, pod("q", ["true"]))
    assert code == 403 and st["reason"] == "Forbidden"
    assert st["message"].startswith('pods "q" is forbidden: exceeded quota: ')
    fakekube.faults.clear()
    fakekube.faults.internal_error("list", "secrets", count=2)
    assert [c.list("secrets", NS)[0] for _ in range(3)] == [500, 500, 200]
    fakekube.faults.conflict("create", "configmaps")
    code, st = c.create("configmaps", NS, configmap("c"))
    assert code == 409 and st["reason"] == "AlreadyExists"
    fakekube.faults.invalid("create", "services", message='Service "s" is invalid: spec.ports: Required value')
    code, st = c.create("services", NS, {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 1}]}})
    assert code == 422 and st["message"] == 'Service "s" is invalid: spec.ports: Required value'
    assert fakekube.objects("configmaps", NS)[0]["metadata"]["name"] == "kube-root-ca.crt"
    assert fakekube.leftovers() == []
    # the same through the HTTP fault endpoint, for servers in another process
    code, _ = c.request("POST", "/fake/faults", {"fault": "forbidden", "verb": "delete", "resource": "secrets"})
    assert code == 200
    code, st = c.delete("secrets", NS, "k")
    assert code == 403 and st["message"].startswith('secrets "k" is forbidden: User ')
    assert c.request("DELETE", "/fake/faults")[0] == 200
    assert c.delete("secrets", NS, "k")[0] == 404
    code, st = c.request("POST", "/fake/faults", {"fault": "nonsense"})
    assert code == 400 and "unknown fault" in st["message"]


def test_evict_and_oom_kill_a_running_pod(fakekube):
    c = fakekube.client()
    for n in ("ev", "oom"):
        c.create("pods", NS, pod(n, ["/bin/sh", "-c", "echo up; sleep 60"]))
        wait_log(fakekube, n, "up")
    pids = fakekube.pods[(NS, "ev")].live_pids()
    fakekube.faults.evict("ev")
    p = fakekube.wait_pod_phase("ev", "Failed")
    assert p["status"]["reason"] == "Evicted" and p["status"]["message"].startswith("The node was low on resource")
    assert "Evicted" in [e["reason"] for e in fakekube.events("ev")]
    assert not any(pid_alive(x) for x in pids)
    fakekube.faults.oom_kill("oom")
    p = fakekube.wait_pod_phase("oom", "Failed")
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["reason"], term["exitCode"]) == ("OOMKilled", 137)
    for n in ("ev", "oom"):
        c.delete("pods", NS, n)
    assert fakekube.leftovers() == []


def test_restart_policy_always_backs_off(fakekube):
    c = fakekube.client()
    c.create("pods", NS, pod("crash", ["/bin/sh", "-c", "exit 1"], restartPolicy="Always"))
    fakekube.wait_for(lambda: (fakekube.get("pods", "crash")["status"].get("containerStatuses") or [{}])[0]
                      .get("restartCount", 0) >= 1, 60, "a restart")
    p = fakekube.get("pods", "crash")
    assert p["status"]["phase"] == "Running"
    assert "BackOff" in [e["reason"] for e in fakekube.events("crash")]
    c.delete("pods", NS, "crash", {"gracePeriodSeconds": 0})


def test_missing_command_is_a_start_error(fakekube):
    c = fakekube.client()
    c.create("pods", NS, pod("nocmd", ["no-such-binary-xyz"]))
    p = fakekube.wait_pod_phase("nocmd", "Failed")
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == "StartError" and term["exitCode"] == 128
    assert 'exec: "no-such-binary-xyz": executable file not found in $PATH' in term["message"]
    c.delete("pods", NS, "nocmd")


def test_missing_secret_is_create_container_config_error(fakekube):
    c = fakekube.client()
    c.create("pods", NS, pod("cfg", ["/bin/sh", "-c", "echo $X; sleep 30"],
                             env=[{"name": "X", "valueFrom": {"secretKeyRef": {"name": "later", "key": "x"}}}]))
    fakekube.wait_for(lambda: any(e["message"] == 'Error: secret "later" not found' for e in fakekube.events("cfg")),
                      30, "config error event")
    st = fakekube.get("pods", "cfg")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert st == {"reason": "CreateContainerConfigError", "message": 'secret "later" not found'}
    c.create("secrets", NS, secret("later", {"x": "now-there"}))  # the kubelet retries
    wait_log(fakekube, "cfg", "now-there")
    c.delete("pods", NS, "cfg", {"gracePeriodSeconds": 0})
    c.delete("secrets", NS, "later")


def test_run_as_user_with_fs_group_reads_0400_secret(fakekube):
    c = fakekube.client()
    c.create("secrets", NS, secret("ukeys", {"k": "v"}))
    vol = [{"name": "k", "secret": {"secretName": "ukeys", "defaultMode": 0o400}}]
    mount = [{"name": "k", "mountPath": "/etc/ukeys"}]
    code, _ = c.create("pods", NS, pod("asuser", ["/bin/sh", "-c", "id -u; cat /etc/ukeys/k; echo; "
                                                  "grep NoNewPrivs /proc/self/status; echo done; sleep 30"],
                                       securityContext_container={"allowPrivilegeEscalation": False},
                                       volumes=vol, volumeMounts=mount,
                                       securityContext={"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 2000}))
    assert code == 201
    log = wait_log(fakekube, "asuser", "done")
    assert log.splitlines()[:3] == ["1000", "v", "NoNewPrivs:\t1"]
    # without fsGroup a 0400 root-owned file is unreadable for a non-root user, as on a real node
    code, _ = c.create("pods", NS, pod("nofsgroup", ["/bin/sh", "-c", "cat /etc/ukeys/k || echo denied; sleep 30"],
                                       volumes=vol, volumeMounts=mount, securityContext={"runAsUser": 1000}))
    assert code == 201
    assert "denied" in wait_log(fakekube, "nofsgroup", "denied")
    for n in ("asuser", "nofsgroup"):
        c.delete("pods", NS, n, {"gracePeriodSeconds": 0})
    c.delete("secrets", NS, "ukeys")


def test_pod_reaches_the_api_with_its_service_account(fakekube):
    """In-cluster configuration inside a pod: KUBERNETES_SERVICE_HOST/PORT and the mounted token."""
    script = r"""
import http.client, json, os, ssl
d = "/var/run/secrets/kubernetes.io/serviceaccount"
token = open(d + "/token").read(); ns = open(d + "/namespace").read()
ctx = ssl.create_default_context(cafile=d + "/ca.crt")
conn = http.client.HTTPSConnection(os.environ["KUBERNETES_SERVICE_HOST"], int(os.environ["KUBERNETES_SERVICE_PORT"]), context=ctx)
conn.request("DELETE", "/api/v1/namespaces/%s/pods/%s" % (ns, os.environ["HOSTNAME"]), headers={"Authorization": "Bearer " + token})
print("delete", conn.getresponse().status, flush=True)
import time; time.sleep(30)
"""
    c = fakekube.client()
    # RBAC: the default account may do nothing until a Role bound to it allows it
    c.create("pods", NS, pod("forbidden", ["python3", "-c", script]))
    fakekube.wait_pod_log("forbidden", "delete 403")
    assert c.delete("pods", NS, "forbidden", gracePeriodSeconds=0)[0] == 200
    grant(fakekube, "default", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}])
    c.create("pods", NS, pod("selfdelete", ["python3", "-c", script]))
    fakekube.wait_gone("pods", "selfdelete")
    assert fakekube.leftovers() == []


def grant(fakekube, service_account, rules, name="test-role"):
    """A Role with RULES bound to SERVICE_ACCOUNT in NS (as an admin would apply them)."""
    c = fakekube.client()
    assert c.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles" % NS, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name},
        "rules": rules})[0] == 201
    assert c.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings" % NS, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": NS}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}})[0] == 201


def test_command_line_server():
    state = tempfile.mkdtemp(prefix="fakekube-cli-")
    proc = subprocess.Popen([sys.executable, "-m", "fakekube", "--port", "0", "--state-dir", state],
                            cwd=ROOT / "tests", stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(proc.stdout.readline())
        assert ready["ready"] is True and ready["url"].startswith("https://127.0.0.1:")
        assert os.path.exists(ready["kubeconfig"]) and os.path.exists(ready["ca"])
        client = KubeClient(ready["url"], ready["token"], ready["ca"])
        assert client.list("pods", "default")[0] == 200
        assert client.request("POST", "/fake/faults", {"fault": "internal_error", "verb": "list"})[0] == 200
        assert client.list("pods", "default")[0] == 500
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        proc.stdout.close()
        import shutil
        shutil.rmtree(state)


def test_bookmarks_when_asked_for(fakekube):
    c = fakekube.client()
    _, lst = c.list("configmaps", NS)
    c.create("secrets", NS, secret("other", {"a": "b"}))  # moves the resourceVersion on
    with c.watch("configmaps", NS, resourceVersion=lst["metadata"]["resourceVersion"],
                 allowWatchBookmarks="true", timeoutSeconds="20") as w:
        ev = w.next()
    assert ev["type"] == "BOOKMARK" and ev["object"]["kind"] == "ConfigMap"
    assert int(ev["object"]["metadata"]["resourceVersion"]) > int(lst["metadata"]["resourceVersion"])
    with c.watch("configmaps", NS, resourceVersion=lst["metadata"]["resourceVersion"], timeoutSeconds="2") as w:
        assert list(w) == []  # none unless asked for
    c.delete("secrets", NS, "other")


def test_large_bodies_through_curl_expect_100_continue(fakekube):
    big = configmap("big", {"blob": "x" * 300000})
    out = subprocess.run(["curl", "-sS", "--cacert", fakekube.ca, "-H", "Authorization: Bearer " + fakekube.token,
                          "-H", "Content-Type: application/json", "-H", "Expect: 100-continue",
                          "--data-binary", "@-", "-o", "/dev/null", "-w", "%{http_code}",
                          fakekube.url + "/api/v1/namespaces/default/configmaps"],
                         input=json.dumps(big), capture_output=True, text=True, check=True).stdout
    assert out == "201"
    assert len(fakekube.get("configmaps", "big")["data"]["blob"]) == 300000
    fakekube.client().delete("configmaps", NS, "big")


def test_pod_log_and_follow(fakekube):
    c = fakekube.client()
    c.create("pods", NS, pod("talker", ["/bin/sh", "-c", "echo one; sleep 0.3; echo two; echo three"]))
    fakekube.wait_pod_log("talker", "one")
    code, text = c.request("GET", "/api/v1/namespaces/default/pods/talker/log", query={"follow": "true"})
    assert code == 200 and text == "one\ntwo\nthree\n"  # follow ends when the container does
    code, text = c.request("GET", "/api/v1/namespaces/default/pods/talker/log", query={"tailLines": "1"})
    assert code == 200 and text == "three\n"
    code, st = c.request("GET", "/api/v1/namespaces/default/pods/talker/log", query={"container": "nope"})
    assert code == 400 and st["reason"] == "BadRequest"
    c.delete("pods", NS, "talker")


def test_processes_that_leave_the_process_group_die_with_the_pod(fakekube):
    c = fakekube.client()
    c.create("pods", NS, pod("daemon", ["/bin/sh", "-c", "setsid sleep 60 & sleep 0.2; echo forked; sleep 60"]))
    fakekube.wait_pod_log("daemon", "forked")
    worker = fakekube.pods[(NS, "daemon")]
    pids = worker.live_pids()
    sessions = {os.getsid(p_) for p_ in pids}
    assert len(pids) >= 3 and len(sessions) >= 2  # sh + sleep in one session, setsid'd sleep in another
    c.delete("pods", NS, "daemon", {"gracePeriodSeconds": 1})
    fakekube.wait_gone("pods", "daemon")
    assert not any(pid_alive(x) for x in pids)


def test_a_watch_whose_client_left_ends(fakekube):
    import threading
    c = fakekube.client()
    before = threading.active_count()
    w = c.watch("configmaps", NS)
    assert w.status == 200
    w.close()
    fakekube.wait_for(lambda: threading.active_count() < before + 1, 10, "the watch thread to end")


# ---- podnet: who connects to whom, from one sample of the socket table ----

def test_podnet_leaves_a_one_shot_server_of_the_pod_inside_it():
    """PySpark's Python connects to a JVM server on 127.0.0.1 that accepted once and closed
    its listening socket: the other end is a socket of the same pod, so the connection is the
    pod's own (no policy applies), not egress; another pod's or an outside address is egress,
    and a loopback peer with no owner yet counts only when the next sample says so too."""
    from fakekube import podnet
    kernel, executor = ("pod", NS, "kernel"), ("pod", NS, "exec-1")
    est = podnet.ESTABLISHED
    api = ("127.0.0.1", 6443)
    sockets = {
        1: (("127.0.0.1", 50000), ("127.0.0.1", 46463), est),   # Python's end
        2: (("127.0.0.1", 46463), ("127.0.0.1", 50000), est),   # the JVM's accepted end
        3: (("127.0.0.1", 50001), api, est),                     # the kernel to the API server
        4: (("127.0.1.3", 50002), ("10.0.0.9", 5432), est),      # the executor to a database
    }
    owner = {1: kernel, 2: kernel, 3: kernel, 4: executor}
    found, undecided = podnet.classify(owner, sockets, {}, api, set())
    assert found == {(kernel, ("api",), 6443), (executor, ("ip", "10.0.0.9"), 5432)}
    assert undecided == set()

    # the JVM's end made after its descriptors were read: no owner in this sample
    del owner[2]
    found, undecided = podnet.classify(owner, sockets, {}, api, set())
    assert (kernel, ("ip", "127.0.0.1"), 46463) not in found
    found, _ = podnet.classify(owner, sockets, {}, api, undecided)
    assert (kernel, ("ip", "127.0.0.1"), 46463) in found  # two samples in a row: egress

    # the other end is another pod's: not the kernel's own
    owner[2] = executor
    found, _ = podnet.classify(owner, sockets, {}, api, set())
    assert (kernel, ("ip", "127.0.0.1"), 46463) in found
