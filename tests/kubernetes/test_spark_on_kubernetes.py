"""test_spark_on_kubernetes.py — real Spark on the fake cluster: a notebook on the kubernetes
runtime runs a query on executor pods that the Spark driver in the kernel pod asked for itself.

The whole chain is real but the cluster: the launcher (spark-k8s kernel) creates the kernel
pod with the spark-k8s account's token; the fake runs it from the Jupyter image of the matrix
(fakekube/images.py: the image's /opt/venv is the kernel environment of the Spark line); the shim
starts ipykernel with the image's Python; the notebook's first use of `spark` starts a real
client-mode Spark driver, whose own Kubernetes client (fabric8) reads the pod's
service-account token and CA, creates executor pods and a ConfigMap and watches them (over
WebSocket, authorized by RBAC); the fake runs each executor pod from the runtime image, whose
entrypoint starts Spark's KubernetesExecutorBackend with the environment Spark put on the pod;
executors find the driver by the headless Service's name (the pods' /etc/hosts).

One kernel per Spark line runs a scenario once (module fixtures); the tests assert what it
showed.  Spark 4.1: the sum on two executor pods; an executor pod OOM-killed in the middle of a
slow job is replaced and the job still answers; never more than the cap of 2 executors at once;
idle executors released by dynamic allocation; nothing left after the kernel's shutdown.  Spark
3.5: the sum and nothing left.  Deadlines are generous (JVMs on a shared 2-core machine); no
duration is asserted."""

import base64
import json
import os
import pathlib
import re
import shutil
import tempfile
import threading
import time

import pytest

import fakekube
from fakekube import netpol as fakekube_netpol
from fakekube import podnet
from fakekube.schema import validate
from support import cluster as kubecluster
from support.notebooks import Env, Notebook, finish, is_executor, printed
from support.serverext import FakeKernelManager

QUERY = 'print(spark.range(10**6, numPartitions=4).selectExpr("sum(id)").collect()[0][0])'
ANSWER = "499999500000"
# Eight one-second-and-more tasks in Python workers on the executors; each says when it runs.
# the notebook sizes its executors before the session starts (the kernelspec says 512m)
SESSION_SETTINGS = "%%spark_conf\nspark.executor.memory 640m\n"
FAILING_UDF = """
from pyspark.sql.functions import udf

@udf("int")
def one_over(x):
    return 1 // (x - 3)

spark.range(6, numPartitions=3).select(one_over("id")).collect()
"""
SLOW_JOB = """
import sys, time
def slow(x):
    print("slow task %d started" % x, file=sys.stderr, flush=True)
    time.sleep(4)
    return x
print(sc.parallelize(range(8), 8).map(slow).sum())
"""
EXECUTOR_OPTIONS = ("--executor-instances", "2", "--executor-max-instances", "2",
                    "--executor-cores", "1", "--executor-memory", "512m", "--driver-memory", "512m",
                    "--conf", "spark.dynamicAllocation.executorIdleTimeout=5s",
                    "--conf", "spark.dynamicAllocation.shuffleTracking.timeout=5s")
START_S = 600     # a kernel pod and a JVM on a busy machine
QUERY_S = 600


class ExecutorCount(threading.Thread):
    """The most executor pods alive at once (created, not ended or being deleted), sampled."""

    def __init__(self, fake):
        super().__init__(daemon=True)
        self.fake, self.most, self.stop = fake, 0, threading.Event()

    def run(self):
        while not self.stop.wait(0.1):
            alive = [p for p in self.fake.objects("pods") if is_executor(p)
                     and not p["metadata"].get("deletionTimestamp")
                     and p.get("status", {}).get("phase") in ("Pending", "Running")]
            self.most = max(self.most, len(alive))


class Run:
    """What one kernel's scenario showed, for the tests to assert on."""

    def __init__(self, cluster, line):
        self.cluster, self.fake, self.line = cluster, cluster.fake, line
        self.outputs = {}
        self.errors = {}


UI_PROXY = "/user/nb/spark-k8s/ui/"

ADMIN_EDIT = "# edited by the admin: spark-k8s test\nlogger.kubernetes.name = org.apache.spark.deploy.k8s\n" \
             "logger.kubernetes.level = error\n"

DENY_ALL = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}


def setup_cluster(tmp):
    """A namespace that denies all traffic by default, with what `spark-k8s rbac --egress`
    prints for it (the API server is the fake, at 127.0.0.1 and its port)."""
    state_dir = tempfile.mkdtemp(prefix="fakekube-", dir="/var/tmp")
    fake = fakekube.FakeKube(state_dir, **kubecluster.fake_options(state_dir))
    fake.start()
    cluster = kubecluster.Cluster(fake, tmp, rbac_args=("--egress", "--api-server-cidr", "127.0.0.1/32",
                                                        "--api-server-port", str(fake.port)))
    applied = cluster.kubectl("apply", "-n", fake.namespace, "-f", "-", input=json.dumps(DENY_ALL))
    assert applied.returncode == 0, applied.stderr
    return cluster, state_dir


def scenario(line, tmp_path_factory, extended, first=None, ui_route=False):
    tmp = tmp_path_factory.mktemp("spark-%s" % line)
    cluster, state_dir = setup_cluster(tmp)
    run = Run(cluster, line)
    name = cluster.install(line, "baseline", *EXECUTOR_OPTIONS)
    # an admin's edit of the kernelspec's logging configuration, which must reach the pods
    log4j2 = cluster.prefix / "share" / "jupyter" / "kernels" / name / "log4j2.properties"
    log4j2.write_text(log4j2.read_text() + ADMIN_EDIT)
    run.log4j2 = log4j2.read_text()
    notebook, failed = None, True
    counter = ExecutorCount(cluster.fake)
    counter.start()
    network = podnet.ConnectionLog(cluster.fake).start()
    try:
        with Env(cluster):
            if ui_route:  # as under a Jupyter server with the extension (serverext/)
                os.environ["SPARK_K8S_UI_PROXY"] = UI_PROXY
            try:
                notebook = Notebook(name, tmp / "launcher.log")
            finally:
                os.environ.pop("SPARK_K8S_UI_PROXY", None)
            run.hmac_key = notebook.km.session.key.decode()
            if first:  # a cell before the session starts
                run.outputs["first"], run.errors["first"] = notebook.run(first, timeout=QUERY_S)
            run.outputs["query"], run.errors["query"] = notebook.run(QUERY, timeout=START_S + QUERY_S)
            run.outputs["udf"], run.errors["udf"] = notebook.run(FAILING_UDF, timeout=QUERY_S)
            if ui_route:
                run.ui = through_the_route(notebook)
            run.driver_pod = next(p for p in cluster.fake.objects("pods")
                                  if p["metadata"]["name"].startswith("spark-k8s-"))
            run.executors_after_query = [p["metadata"]["name"] for p in cluster.fake.objects("pods")
                                         if is_executor(p)]
            if extended:
                slow_job(run, notebook)
                # idle now: dynamic allocation gives the executors back
                cluster.fake.wait_for(lambda: not [p for p in cluster.fake.objects("pods") if is_executor(p)],
                                      timeout=300, what="idle executor pods to be released")
                run.released = True
            run.spark_objects = [r.body for r in cluster.requests_by()
                                 if r.method == "POST" and isinstance(r.body, dict)]
        network.stop()
        run.connections, run.pods = network.connections, network.pods
        run.policies = cluster.fake.objects("networkpolicies")
        run.connection_dir = pathlib.Path(notebook.km.connection_file).parent
        notebook.shutdown()
        run.shutdown_ok = notebook.km.is_alive() is False
        notebook = None
        cluster.fake.wait_no_leftovers(timeout=120)
        run.leftovers = cluster.fake.leftovers()
        failed = False
    finally:
        network.stop()
        counter.stop.set()
        counter.join(5)
        run.most_executors = counter.most
        run.requests = cluster.requests_by()
        problems = finish(cluster, state_dir, notebook, failed)
        shutil.rmtree(state_dir, ignore_errors=True)
    assert problems == [], problems
    return run


def through_the_route(notebook):
    """What the server extension finds for the kernel (its registration beside Jupyter's
    connection file, checked against the server's kernels) and what the kernel pod's UI
    answers there as the extension asks (X-Forwarded-Context): {name: value}."""
    import urllib.request
    from spark_k8s_ui import registration

    conn = pathlib.Path(notebook.km.connection_file)
    files = sorted(conn.parent.glob("spark-k8s-ui-*.json"))
    got = {"files": [f.name for f in files]}
    if len(files) != 1:
        return got
    kid = files[0].name[len("spark-k8s-ui-"):-len(".json")]
    km = FakeKernelManager(conn.parent, [str(conn)])
    got["url"] = registration(km, kid)
    got["foreign"] = registration(FakeKernelManager(conn.parent, []), kid)
    base = UI_PROXY + kid
    got["base"] = base
    if got["url"]:
        for page in ("jobs/", "executors/", "api/v1/applications"):
            req = urllib.request.Request(got["url"] + "/" + page, headers={"X-Forwarded-Context": base})
            with urllib.request.urlopen(req, timeout=30) as resp:
                got[page] = resp.read().decode("utf-8", "replace")
    return got


def slow_job(run, notebook):
    """A job of eight slow tasks; one executor pod is OOM-killed while it runs one."""
    fake = run.fake
    msg = notebook.send(SLOW_JOB)
    victim = None
    deadline = time.monotonic() + QUERY_S
    while victim is None and time.monotonic() < deadline:
        for p in fake.objects("pods"):
            name = p["metadata"]["name"]
            if is_executor(p) and p.get("status", {}).get("phase") == "Running" and \
                    "slow task" in fake.pod_log(name):
                victim = name
                break
        time.sleep(0.2)
    assert victim, "no executor started a slow task"
    fake.faults.oom_kill(victim)
    run.victim = victim
    run.outputs["slow"], run.errors["slow"] = notebook.collect(msg, QUERY_S)


@pytest.fixture(scope="module")
def spark41(tmp_path_factory):
    return scenario("4.1", tmp_path_factory, extended=True)


@pytest.fixture(scope="module")
def spark35(tmp_path_factory):
    return scenario("3.5", tmp_path_factory, extended=False, first=SESSION_SETTINGS, ui_route=True)


def test_a_udf_failing_on_an_executor_pod_shows_its_traceback_not_the_tasks_reports(spark41, spark35):
    """The executors' failed tasks are reported to the driver as WARN lines with JVM stack
    traces, once per attempt: the cell shows the job's PythonException and names the
    driver's log, where those reports are."""
    for run in (spark41, spark35):
        out, errors = run.outputs["udf"], run.errors["udf"]
        assert len(errors) == 1 and errors[0].startswith("PythonException: "), errors
        assert "ZeroDivisionError" in errors[0] and "one_over" in errors[0], errors
        assert not re.search(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (INFO|WARN|ERROR) ", out, re.M), out
        assert "\tat org.apache.spark" not in out, out
        assert re.search(r"^spark-k8s: Spark's log of this failure, with its JVM stack traces: "
                         r"/\S+/spark\.log$", out, re.M), out


def test_the_notebooks_session_settings_size_the_executor_pods(spark35, spark41):
    """%%spark_conf before the first use of spark: the executor pods Spark creates have the
    notebook's memory (640m and Spark's minimum overhead of 384 MiB), not the kernelspec's."""
    assert spark35.errors["first"] == [], spark35.outputs["first"]
    assert "spark-k8s: the session will start with spark.executor.memory=640m" in spark35.outputs["first"]
    for run, want in ((spark35, "1024Mi"), (spark41, "896Mi")):
        bodies = executor_bodies(run)
        assert bodies
        for body in bodies:
            (container,) = body["spec"]["containers"]
            assert container["resources"]["requests"]["memory"] == want, (run.line, container["resources"])


def test_the_spark_ui_is_linked_through_the_jupyter_server(spark35):
    """Under a Jupyter server with the extension, the first cell links the UI's route (no
    port-forward), the launcher registers the kernel pod's UI (its IP, port 4040) beside the
    connection file for that server's kernels only, the UI answers there through the
    NetworkPolicies with every link below the route, and the registration is gone with
    the kernel."""
    ui = spark35.ui
    assert len(ui["files"]) == 1, ui["files"]
    assert re.search(r"Spark UI: %s/$" % re.escape(ui["base"]), spark35.outputs["query"], re.M), \
        spark35.outputs["query"]
    assert "kubectl port-forward" not in spark35.outputs["query"]
    ip = spark35.driver_pod["status"]["podIP"]
    assert ui["url"] == "http://%s:4040" % ip and ui["foreign"] is None, ui
    apps = json.loads(ui["api/v1/applications"])
    assert len(apps) == 1 and apps[0]["id"] in spark35.outputs["query"], apps
    for page in ("jobs/", "executors/"):
        links = re.findall(r'(?:href|src)="(/[^"]*)"', ui[page])
        assert links and all(x.startswith(ui["base"] + "/") for x in links), links
    assert "collect at" in ui["jobs/"]
    assert not list(spark35.connection_dir.glob("spark-k8s-ui-*.json"))


def executor_bodies(run):
    return [b for b in run.spark_objects if b.get("kind") == "Pod" and is_executor(b)]


# ---- Spark 4.1 -------------------------------------------------------------------------------


def test_query_on_two_executor_pods_4_1(spark41):
    assert spark41.errors["query"] == []
    assert ANSWER in printed(spark41.outputs["query"]), spark41.outputs["query"]
    assert len(spark41.executors_after_query) == 2, spark41.executors_after_query


def test_the_spark_ui_is_told_how_to_reach_not_linked(spark41):
    """In a pod the UI's address is the pod's: the start message says which pod and port and
    the kubectl port-forward that reaches it, instead of a link a browser cannot open."""
    driver = spark41.driver_pod["metadata"]
    # 4040 unless another Spark on this machine has it (the fake's pods share its network)
    forward = r"kubectl port-forward -n %s pod/%s (40[4-9]\d), then http://localhost:\1\b" % (
        re.escape(driver["namespace"]), re.escape(driver["name"]))
    assert re.search(forward, spark41.outputs["query"]), spark41.outputs["query"]
    assert "Spark UI: http" not in spark41.outputs["query"]


def test_executor_pods_are_sparks_own_and_owned_by_the_kernel_pod(spark41):
    """Created by the driver (the spark-k8s account), from the runtime image, owned by the
    kernel pod (so deleting it takes them), valid against the strict schema."""
    bodies = executor_bodies(spark41)
    assert len(bodies) >= 2
    driver = spark41.driver_pod["metadata"]
    for body in bodies:
        validate(dict(body, apiVersion="v1", kind="Pod"))
        refs = body["metadata"]["ownerReferences"]
        assert [(r["kind"], r["name"], r["uid"]) for r in refs] == [("Pod", driver["name"], driver["uid"])]
        (container,) = body["spec"]["containers"]
        assert "spark-k8s-runtime:4.1-" in container["image"]
        # the template's labels, which the NetworkPolicies select on
        assert body["metadata"]["labels"]["app.kubernetes.io/component"] == "executor"


def test_executor_pods_carry_no_service_account_token(spark41):
    """Defect 9: executors never call the API server, so their pods mount no token."""
    for body in executor_bodies(spark41):
        assert body["spec"].get("automountServiceAccountToken") is False
        mounts = [m["mountPath"] for c in body["spec"]["containers"] for m in c.get("volumeMounts", [])]
        assert "/var/run/secrets/kubernetes.io/serviceaccount" not in mounts


def test_no_object_spark_creates_holds_the_kernel_key(spark41):
    """Defect 2: Spark copies SPARK_CONF_DIR into a ConfigMap for the executors; nothing it
    creates may carry the connection's HMAC key (as text or base64)."""
    key = spark41.hmac_key
    assert key
    spark_made = [b for b in spark41.spark_objects if not b["metadata"].get("name", "").startswith("spark-k8s-")]
    assert any(b.get("kind") == "ConfigMap" for b in spark_made), "Spark made no executor ConfigMap"
    text = json.dumps(spark_made)
    assert key not in text and base64.b64encode(key.encode()).decode() not in text


def test_the_kernelspecs_logging_configuration_reaches_driver_and_executors(spark41, spark35):
    """The kernelspec's log4j2.properties, as the admin edited it, is the kernel pod's (the
    launcher's ConfigMap, put in SPARK_CONF_DIR by the shim) and the executors' (Spark's
    own ConfigMap of that folder): the first cell shows none of Spark's start-up notices."""
    for run in (spark41, spark35):
        assert ADMIN_EDIT in run.log4j2
        maps = [b for b in run.spark_objects if b.get("kind") == "ConfigMap"]
        ours = [b for b in maps if b["metadata"]["name"].startswith("spark-k8s-")]
        assert [b["data"].get("log4j2.properties") for b in ours] == [run.log4j2], run.line
        spark_made = [b for b in maps if b not in ours]
        assert spark_made and all(b["data"].get("log4j2.properties") == run.log4j2 for b in spark_made), \
            [sorted(b["data"]) for b in spark_made]
        assert "Using Spark's default log4j profile" not in run.outputs["query"], run.outputs["query"]
        assert not re.search(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (INFO|WARN) ", run.outputs["query"], re.M), \
            run.outputs["query"]


def test_killed_executor_is_replaced_and_the_job_answers(spark41):
    assert spark41.errors["slow"] == []
    assert "28" in printed(spark41.outputs["slow"]), spark41.outputs["slow"]
    # the cell names the executor the kubelet OOM-killed, and the setting to raise
    lost = re.findall(r"^executor (\S+) lost: (.*)$", spark41.outputs["slow"], re.M)
    assert lost and {why for _, why in lost} == {
        "its container ran out of memory (OOMKilled, exit code 137); spark.executor.memory is 512m: "
        "raise it or spark.executor.memoryOverhead (%%spark_conf --restart)"}, spark41.outputs["slow"]
    names = {b["metadata"]["name"] for b in executor_bodies(spark41)}
    assert spark41.victim in names and len(names) >= 3, names  # a replacement was asked for


def test_the_executor_cap_is_honoured(spark41):
    """Defect 5: eight pending tasks would take eight executors; the cap is 2."""
    assert 1 <= spark41.most_executors <= 2


def test_idle_executors_are_released(spark41):
    assert spark41.released
    deletes = [r for r in spark41.requests if r.method == "DELETE" and r.resource == "pods"
               and r.name and not r.name.startswith("spark-k8s-")]
    assert deletes, "Spark deleted no executor pod"


def test_nothing_is_left_after_shutdown_4_1(spark41):
    assert spark41.shutdown_ok
    assert spark41.leftovers == []


def test_the_role_is_exactly_what_launcher_and_driver_call(spark41, spark35):
    """The Role `spark-k8s rbac` prints grants exactly the (resource, verb) pairs the
    launcher, the shim and both Spark drivers were seen to use: nothing they call is
    refused, nothing is granted that no one calls."""
    used = {(r.resource + ("/" + r.subresource if r.subresource else ""), r.verb)
            for run in (spark41, spark35) for r in run.requests if r.verb not in ("discovery", None)}
    refused = [(r.method, r.path, r.code) for run in (spark41, spark35) for r in run.requests
               if r.code == 403]
    assert refused == []
    granted = spark41.cluster.role_rules()
    assert (sorted(used - granted), sorted(granted - used)) == ([], [])


def role_of(obj):
    return (obj.get("metadata") or {}).get("labels", {}).get("app.kubernetes.io/component") or \
        ("jupyter" if "ip" not in obj and obj["metadata"]["labels"].get("spark-k8s.io/jupyter") else
         obj.get("ip", "?"))


def endpoints(run, ns):
    """Pod objects (or addresses) for podnet's endpoints; the host's connections are the
    launcher's, which in a cluster runs in a Jupyter server pod."""
    jupyter = {"metadata": {"name": "jupyter-0", "namespace": ns, "labels": {"spark-k8s.io/jupyter": "true"}},
               "spec": {"containers": []}}

    def resolve(end):
        if end[0] == "host":
            return jupyter
        if end[0] == "api":
            return {"ip": "127.0.0.1"}
        if end[0] == "ip":
            return {"ip": end[1]}
        return run.pods[(end[1], end[2])]
    return resolve, jupyter


@pytest.mark.parametrize("line", ["4.1", "3.5"])
def test_network_policies_let_a_query_through_a_namespace_that_denies_all(line, spark41, spark35):
    """Defect 8: the namespace denies every connection by default; each connection the query
    made (launcher, kernel, executors, API server, seen from /proc) is one the policies of
    `spark-k8s rbac --egress` allow, and the ones a query cannot do without were seen."""
    run = spark41 if line == "4.1" else spark35
    ns = run.fake.namespace
    namespaces = {ns: {"kubernetes.io/metadata.name": ns}, "kube-system": {"kubernetes.io/metadata.name": "kube-system"}}
    resolve, jupyter = endpoints(run, ns)
    refused, seen = [], set()
    for src, dst, port in sorted(run.connections):
        a, b = resolve(src), resolve(dst)
        ok, why = fakekube_netpol.allowed(run.policies, namespaces, a, b, port)
        seen.add((role_of(a), role_of(b), port))
        if not ok:
            refused.append((src, dst, port, why))
    assert refused == []
    assert {("jupyter", "kernel", 7070), ("kernel", "127.0.0.1", run.fake.port),
            ("executor", "kernel", 7078)} <= seen, seen
    # the default deny is real: what no policy of spark-k8s's names stays refused
    kernel = run.driver_pod
    executor = next(p for p in run.pods.values() if is_executor(p))
    assert not fakekube_netpol.allowed(run.policies, namespaces, executor, kernel, 7070)[0]
    assert not fakekube_netpol.allowed(run.policies, namespaces, kernel, {"ip": "10.0.0.9"}, 5432)[0]
    assert not fakekube_netpol.allowed([p for p in run.policies if p["metadata"]["name"] == "default-deny"],
                                       namespaces, executor, kernel, 7078)[0]
    # defect 11: Spark Connect's port on kernel pods, from Jupyter pods only
    assert fakekube_netpol.allowed(run.policies, namespaces, jupyter, kernel, 15002)[0]
    assert not fakekube_netpol.allowed(run.policies, namespaces, executor, kernel, 15002)[0]


# ---- Spark 3.5 -------------------------------------------------------------------------------


def test_query_on_two_executor_pods_3_5(spark35):
    assert spark35.errors["query"] == []
    assert ANSWER in printed(spark35.outputs["query"]), spark35.outputs["query"]
    assert len(spark35.executors_after_query) == 2, spark35.executors_after_query
    for body in executor_bodies(spark35):
        assert "spark-k8s-runtime:3.5-" in body["spec"]["containers"][0]["image"]


def test_nothing_is_left_after_shutdown_3_5(spark35):
    assert spark35.shutdown_ok
    assert spark35.leftovers == []
