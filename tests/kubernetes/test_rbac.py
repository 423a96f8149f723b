"""test_rbac.py — `spark-k8s rbac`: one v1 List of ServiceAccount, Role, RoleBinding and
NetworkPolicies, valid against the strict schemas; a Role of exactly the expected rules (no
wildcard, secrets only created, no verb or resource more or less); policies that open the
shim's ports to Jupyter pods only, the driver's to executors, the block managers to kernels
and executors, and (--egress) what each needs out.  That the expected rules are exactly what
the launcher and the Spark drivers call, and that a query passes the policies in a namespace
that denies all, is shown with real Spark in test_spark_on_kubernetes.py."""
import json
import subprocess

import pytest

from fakekube.schema import validate
from support.paths import SPARK_K8S

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
    assert [(i["kind"], i["metadata"]["name"]) for i in listing["items"]] == [
        ("ServiceAccount", "spark-k8s"), ("Role", "spark-k8s"), ("RoleBinding", "spark-k8s"),
        ("NetworkPolicy", "spark-k8s-kernels"), ("NetworkPolicy", "spark-k8s-executors")]
    for item in listing["items"]:
        assert item["metadata"]["namespace"] == "notebooks"
    listing = rbac("--namespace", "notebooks", "--egress")
    validate(listing)
    assert [i["metadata"]["name"] for i in listing["items"]][-1] == "spark-k8s-jupyter"


# The Role's rules, exactly: the (resource, verb) pairs the launcher, the shim and both
# Spark drivers were seen to call in test_spark_on_kubernetes.py's
# test_the_role_is_exactly_what_launcher_and_driver_call, written out so that this fast
# test refuses an extra verb or resource (or a missing one) too.
ROLE_RULES = [
    # launcher: the kernel pod; driver: its own pod, executor pods; shim: its own pod
    ("pods", ["create", "get", "list", "watch", "delete", "deletecollection"]),
    # launcher: the headless service; driver: deletes its own when it stops
    ("services", ["create", "deletecollection"]),
    # launcher: spark-defaults and the executor template; driver: the executors' conf
    ("configmaps", ["create", "deletecollection"]),
    # launcher: the kernel's keys, never read back
    ("secrets", ["create"]),
    # driver: looks for reusable claims, deletes its own when it stops
    ("persistentvolumeclaims", ["list", "deletecollection"]),
    # launcher: the progress of a starting pod
    ("events", ["list", "watch"]),
]


def test_role_is_exactly_the_calls_made():
    role = kinds(rbac("--namespace", "notebooks"))["Role"]
    assert set(role) == {"apiVersion", "kind", "metadata", "rules"}, role
    assert role["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert role["rules"] == [{"apiGroups": [""], "resources": [resource], "verbs": verbs}
                             for resource, verbs in ROLE_RULES]


def test_role_has_no_wildcards_and_never_reads_secrets():
    role = kinds(rbac("--namespace", "notebooks"))["Role"]
    granted = set()
    for rule in role["rules"]:
        assert rule["apiGroups"] == [""]
        assert "*" not in rule["verbs"] and "*" not in rule["resources"]
        granted |= {(r, v) for r in rule["resources"] for v in rule["verbs"]}
    assert {v for r, v in granted if r == "secrets"} == {"create"}


def test_binding_names_the_service_account():
    objs = kinds(rbac("--namespace", "ds", "--service-account", "kernels"))
    assert objs["ServiceAccount"]["metadata"]["name"] == "kernels"
    binding = objs["RoleBinding"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kernels",
                                    "namespace": "ds"}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": objs["Role"]["metadata"]["name"]}


def policies(listing):
    return {i["metadata"]["name"]: i["spec"] for i in listing["items"] if i["kind"] == "NetworkPolicy"}


def by_port(rules, peers_key):
    """port -> [peer selectors] of a list of ingress or egress rules."""
    out = {}
    for rule in rules:
        for port in rule["ports"]:
            for number in range(port["port"], port.get("endPort", port["port"]) + 1):
                out.setdefault((port["protocol"], number), []).extend(
                    [peer["podSelector"]["matchLabels"] if set(peer) == {"podSelector"} else peer
                     for peer in rule.get(peers_key, [{}])])
    return out


KERNEL = {"app.kubernetes.io/name": "spark-k8s", "app.kubernetes.io/component": "kernel"}
EXECUTOR = {"app.kubernetes.io/name": "spark-k8s", "app.kubernetes.io/component": "executor"}


def test_network_policies_open_the_shim_to_jupyter_and_the_driver_to_executors():
    jupyter = {"app.kubernetes.io/name": "jupyterhub", "component": "singleuser-server"}
    listing = rbac("--namespace", "ds", "--jupyter-selector",
                   "app.kubernetes.io/name=jupyterhub,component=singleuser-server")
    validate(listing)
    kernels = policies(listing)["spark-k8s-kernels"]
    assert kernels["podSelector"]["matchLabels"] == KERNEL
    assert kernels["policyTypes"] == ["Ingress"] and "egress" not in kernels
    ports = by_port(kernels["ingress"], "from")
    for shim_port in range(7070, 7075):  # the shim's five channels
        assert ports[("TCP", shim_port)] == [jupyter]
    assert ports[("TCP", 15002)] == [jupyter]  # Spark Connect
    assert ports[("TCP", 4040)] == [jupyter]  # the Spark UI, which Jupyter serves (serverext/)
    assert ports[("TCP", 7078)] == ports[("TCP", 7079)] == [EXECUTOR]
    assert {p for _, p in ports} == {4040, 7070, 7071, 7072, 7073, 7074, 7078, 7079, 15002}
    executors = policies(listing)["spark-k8s-executors"]
    assert executors["podSelector"]["matchLabels"] == EXECUTOR
    assert by_port(executors["ingress"], "from") == {("TCP", 7079): [KERNEL, EXECUTOR]}
    assert "spark-k8s-jupyter" not in policies(listing)  # their egress is left alone


def test_egress_for_a_namespace_that_denies_it():
    listing = rbac("--namespace", "ds", "--egress", "--api-server-cidr", "10.0.0.1/32",
                   "--api-server-port", "6443", "--spark-connect-port", "15010")
    validate(listing)
    p = policies(listing)
    dns = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    api = {"ipBlock": {"cidr": "10.0.0.1/32"}}
    kernel_out = by_port(p["spark-k8s-kernels"]["egress"], "to")
    assert p["spark-k8s-kernels"]["policyTypes"] == ["Ingress", "Egress"]
    assert kernel_out[("UDP", 53)] == kernel_out[("TCP", 53)] == [dns]
    assert kernel_out[("TCP", 6443)] == [api] and ("TCP", 443) not in kernel_out
    assert kernel_out[("TCP", 7079)] == [EXECUTOR]
    executor_out = by_port(p["spark-k8s-executors"]["egress"], "to")
    assert executor_out[("TCP", 7078)] == [KERNEL] and executor_out[("TCP", 7079)] == [KERNEL, EXECUTOR]
    assert ("TCP", 6443) not in executor_out  # executors never call the API server
    jupyter = p["spark-k8s-jupyter"]
    assert jupyter["policyTypes"] == ["Egress"]
    jupyter_out = by_port(jupyter["egress"], "to")
    assert jupyter_out[("TCP", 7070)] == [KERNEL] and jupyter_out[("TCP", 15010)] == [KERNEL]
    assert jupyter_out[("TCP", 4040)] == [KERNEL]  # the Spark UI it serves
    assert jupyter_out[("TCP", 6443)] == [api]


@pytest.mark.parametrize("args,message", [
    ([], "--namespace is required"),
    (["--namespace", "Bad_NS"], "--namespace 'Bad_NS' is not a DNS-1123 label"),
    (["--namespace", "ok", "--service-account", "a b"], "--service-account 'a b'"),
    (["--namespace", "ok", "--jupyter-selector", "novalue"], "'novalue' is not KEY=VALUE"),
    (["--namespace", "ok", "--jupyter-selector", "k=v\n- evil"], "is not a valid label"),
    (["--namespace", "ok", "extra"], "unexpected argument 'extra'"),
    (["--namespace", "ok", "--api-server-port", "0"], "--api-server-port '0' is not a TCP port"),
    (["--namespace", "ok", "--api-server-cidr", "10.0.0.1"], "--api-server-cidr '10.0.0.1'"),
    (["--namespace", "ok", "--spark-connect-port", "70000"], "--spark-connect-port '70000'"),
    (["--namespace", "ok", "--dns-namespace", "Kube_System"], "--dns-namespace 'Kube_System'"),
])
def test_bad_arguments(args, message):
    assert message in rbac(*args, ok=False)


def test_help():
    proc = subprocess.run([str(SPARK_K8S), "rbac", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "kubectl apply -f -" in proc.stdout
