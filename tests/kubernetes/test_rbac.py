"""test_rbac.py — `spark-k8s rbac`: one v1 List of ServiceAccount, Role,
RoleBinding and NetworkPolicy, valid against the strict schemas, whose Role
covers exactly the launcher's and the Spark driver's calls, and whose
NetworkPolicy opens the shim port to Jupyter pods only."""
import json
import subprocess

import pytest

from k8s_schema import SPARK_K8S, validate

# What launcher/kube_client.c is asked to do by the kubernetes runtime and the shim.
LAUNCHER_CALLS = {
    ("pods", "create"), ("pods", "get"), ("pods", "list"), ("pods", "watch"), ("pods", "delete"),
    ("services", "create"), ("services", "delete"),
    ("secrets", "create"), ("secrets", "delete"),
    ("configmaps", "create"), ("configmaps", "delete"),
    ("events", "list"), ("events", "watch"),
}
# What Spark's driver does in client mode on Kubernetes (executor pods and their
# ConfigMap, services, on-demand PVCs).
SPARK_DRIVER_CALLS = {
    ("pods", v) for v in ("create", "get", "list", "watch", "delete", "deletecollection", "patch")
} | {
    ("configmaps", v) for v in ("create", "get", "list", "delete", "deletecollection")
} | {
    ("services", v) for v in ("create", "get", "list", "delete", "deletecollection")
} | {
    ("persistentvolumeclaims", v)
    for v in ("create", "get", "list", "watch", "delete", "deletecollection", "patch", "update")
}


def rbac(*args, ok=True):
    proc = subprocess.run([str(SPARK_K8S), "rbac", *args], capture_output=True, text=True)
    if not ok:
        assert proc.returncode == 2, proc
        assert proc.stdout == ""
        return proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def kinds(listing):
    return {item["kind"]: item for item in listing["items"]}


def test_output_is_one_valid_list():
    listing = rbac("--namespace", "notebooks")
    validate(listing)
    assert [i["kind"] for i in listing["items"]] == [
        "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy"]
    for item in listing["items"]:
        assert item["metadata"]["namespace"] == "notebooks"


def test_role_covers_exactly_the_calls():
    role = kinds(rbac("--namespace", "notebooks"))["Role"]
    granted = set()
    for rule in role["rules"]:
        assert rule["apiGroups"] == [""]
        assert "*" not in rule["verbs"] and "*" not in rule["resources"]
        for resource in rule["resources"]:
            for verb in rule["verbs"]:
                granted.add((resource, verb))
    assert granted == LAUNCHER_CALLS | SPARK_DRIVER_CALLS
    assert ("secrets", "get") not in granted and ("secrets", "list") not in granted


def test_binding_names_the_service_account():
    objs = kinds(rbac("--namespace", "ds", "--service-account", "kernels"))
    assert objs["ServiceAccount"]["metadata"]["name"] == "kernels"
    binding = objs["RoleBinding"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kernels",
                                    "namespace": "ds"}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": objs["Role"]["metadata"]["name"]}


def test_network_policy_opens_shim_to_jupyter_only():
    listing = rbac("--namespace", "ds", "--jupyter-selector",
                   "app.kubernetes.io/name=jupyterhub,component=singleuser-server")
    validate(listing)
    policy = kinds(listing)["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "spark-k8s", "app.kubernetes.io/component": "kernel"}
    assert policy["policyTypes"] == ["Ingress"]
    by_port = {}
    for rule in policy["ingress"]:
        for port in rule["ports"]:
            assert port["protocol"] == "TCP"
            for number in range(port["port"], port.get("endPort", port["port"]) + 1):
                by_port[number] = [peer["podSelector"]["matchLabels"] for peer in rule["from"]]
    for shim_port in range(7070, 7075):  # the shim's five channels
        assert by_port[shim_port] == [{"app.kubernetes.io/name": "jupyterhub",
                                       "component": "singleuser-server"}]
    assert by_port[7078] == by_port[7079] == [{"app.kubernetes.io/name": "spark-k8s",
                                               "spark-role": "executor"}]
    assert set(by_port) == {7070, 7071, 7072, 7073, 7074, 7078, 7079}


@pytest.mark.parametrize("args,message", [
    ([], "--namespace is required"),
    (["--namespace", "Bad_NS"], "--namespace 'Bad_NS' is not a DNS-1123 label"),
    (["--namespace", "ok", "--service-account", "a b"], "--service-account 'a b'"),
    (["--namespace", "ok", "--jupyter-selector", "novalue"], "'novalue' is not KEY=VALUE"),
    (["--namespace", "ok", "--jupyter-selector", "k=v\n- evil"], "is not a valid label"),
    (["--namespace", "ok", "extra"], "unexpected argument 'extra'"),
])
def test_bad_arguments(args, message):
    assert message in rbac(*args, ok=False)


def test_help():
    proc = subprocess.run([str(SPARK_K8S), "rbac", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "kubectl apply -f -" in proc.stdout
