"""test_objects.py — the objects of one kernel (launcher/kube/kube_objects.c), rendered
through the test driver build/tests/kube-cli: valid against the strict v1.32
schemas, names and labels DNS/label safe, pod security, secrets only as files,
admin pod templates merged (RFC 7386), GPU placement on executors, and no input
string able to change the structure of what is produced."""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from fakekube.schema import validate
from support.paths import KUBE_CLI, SPARK_K8S

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

BASE = {
    "kernel_id": "3f1c2b9e-6a7d-4e21-9c55-0d8f2a1b7c44",
    "user": "jane",
    "namespace": "notebooks",
    "driver_image": "registry.example/spark-k8s-jupyter:4.1-1-baseline",
    "cpu_request": "1",
    "cpu_limit": "2",
    "memory_request": "4Gi",
    "memory_limit": "4Gi",
    "spark_defaults": "spark.master k8s://https://kubernetes.default.svc\n",
    "redact": True,
}


@pytest.fixture(scope="module")
def kube_cli():
    assert KUBE_CLI.exists(), f"build {KUBE_CLI} first (make build/tests/kube-cli)"
    return str(KUBE_CLI)


def render(kube_cli, tmp_path, inputs, expect_ok=True):
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps(inputs))
    proc = subprocess.run([kube_cli, "render", str(path)], capture_output=True, text=True)
    if not expect_ok:
        assert proc.returncode == 2, proc
        assert proc.stdout == ""
        return proc.stderr
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def by_kind(rendered):
    return {item["kind"]: item for item in rendered["items"]}


def test_render_is_valid_list_in_creation_order(kube_cli, tmp_path):
    rendered = render(kube_cli, tmp_path, BASE)
    validate(rendered)
    assert [i["kind"] for i in rendered["items"]] == ["Pod", "Secret", "Service", "ConfigMap"]
    for item in rendered["items"]:
        meta = item["metadata"]
        assert meta["namespace"] == "notebooks"
        assert len(meta["name"]) <= 63 and DNS_LABEL.match(meta["name"]), meta["name"]
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == "spark-k8s"
        assert labels["app.kubernetes.io/component"] == "kernel"
        assert labels["app.kubernetes.io/managed-by"] == "spark-k8s"
        assert labels["app.kubernetes.io/instance"] == "spark-k8s-" + BASE["kernel_id"]
        assert labels["spark-k8s.io/kernel-id"] == BASE["kernel_id"]
        assert labels["spark-k8s.io/user"] == "jane"
        for value in labels.values():
            assert LABEL_VALUE.match(value) and len(value) <= 63


def test_pod_security_and_resources(kube_cli, tmp_path):
    pod = by_kind(render(kube_cli, tmp_path, BASE))["Pod"]
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    psc = spec["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 185
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "/tmp" in mounts and not mounts["/tmp"].get("readOnly")
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}}
    assert volumes["keys"]["secret"]["defaultMode"] == 0o400
    assert container["resources"] == {
        "requests": {"cpu": "1", "memory": "4Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }
    env = {e["name"]: e for e in container["env"]}
    assert env["SPARK_K8S_POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["SPARK_K8S_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["SPARK_K8S_POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.namespace"
    assert container["command"] == ["spark-k8s", "shim"]


def test_secret_values_are_files_never_argv_or_env(kube_cli, tmp_path):
    keys = {
        "hmac_key": "c0ffee-hmac-key-0123456789abcdef",
        "server_secret_key": "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs",
        "server_public_key": "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
        "client_public_key": "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
    }
    inputs = dict(BASE, redact=False, **keys)
    rendered = render(kube_cli, tmp_path, inputs)
    validate(rendered)
    objs = by_kind(rendered)
    data = objs["Secret"]["data"]
    assert base64.b64decode(data["hmac-key"]).decode() == keys["hmac_key"]
    assert base64.b64decode(data["curve-server-secret"]).decode() == keys["server_secret_key"]
    assert base64.b64decode(data["curve-client-public"]).decode() == keys["client_public_key"]
    pod_text = json.dumps(objs["Pod"])
    for value in keys.values():
        assert value not in pod_text and json.dumps(value)[1:-1] not in pod_text
    args = objs["Pod"]["spec"]["containers"][0]["args"]
    assert all(a.startswith("--") or a.startswith("/") or a.isdigit() for a in args), args


def test_render_redacts_secrets(kube_cli, tmp_path):
    secret = by_kind(render(kube_cli, tmp_path, BASE))["Secret"]
    assert "data" not in secret
    assert set(secret["stringData"].values()) == {"<redacted>"}
    assert set(secret["stringData"]) == {"hmac-key", "curve-server-secret",
                                         "curve-server-public", "curve-client-public"}


def test_headless_service_ports(kube_cli, tmp_path):
    svc = by_kind(render(kube_cli, tmp_path, BASE))["Service"]
    assert svc["spec"]["clusterIP"] == "None"
    ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
    assert ports == {"driver-rpc": 7078, "blockmanager": 7079, "shim-shell": 7070,
                     "shim-iopub": 7071, "shim-stdin": 7072, "shim-control": 7073, "shim-hb": 7074}
    pod = by_kind(render(kube_cli, tmp_path, BASE))["Pod"]
    for key, value in svc["spec"]["selector"].items():
        assert pod["metadata"]["labels"][key] == value


def test_configmap_carries_defaults_and_executor_template(kube_cli, tmp_path):
    inputs = dict(BASE, executor_gpus=1,
                  executor_tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists",
                                         "effect": "NoSchedule"}],
                  executor_node_selector={"nvidia.com/gpu.present": "true"},
                  image_pull_secrets=["regcred"])
    objs = by_kind(render(kube_cli, tmp_path, inputs))
    cm = objs["ConfigMap"]
    conf = cm["data"]["spark-defaults.conf"]
    assert conf.startswith(BASE["spark_defaults"])
    assert conf.endswith("spark.kubernetes.executor.podTemplateFile "
                         "/etc/spark-k8s/conf/executor-pod-template.json\n")
    template = json.loads(cm["data"]["executor-pod-template.json"])
    validate(template)
    spec = template["spec"]
    assert spec["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    assert spec["securityContext"]["runAsNonRoot"] is True
    # GPUs go to executors; the driver asks for none unless configured.
    driver = objs["Pod"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in json.dumps(driver["resources"])
    assert objs["Pod"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    objs = by_kind(render(kube_cli, tmp_path, dict(inputs, driver_gpus=1)))
    assert objs["Pod"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_configmap_carries_the_kernelspecs_logging_configuration(kube_cli, tmp_path):
    """The kernelspec's log4j2.properties, when the launcher read one, rides in the ConfigMap
    beside spark-defaults.conf (the shim puts it in the kernel's SPARK_CONF_DIR); none, no key."""
    text = "rootLogger.level = warn\nlogger.x.name = org.apache.spark\n"
    cm = by_kind(render(kube_cli, tmp_path, dict(BASE, log4j2=text)))["ConfigMap"]
    validate(cm)
    assert cm["data"]["log4j2.properties"] == text
    cm = by_kind(render(kube_cli, tmp_path, BASE))["ConfigMap"]
    assert "log4j2.properties" not in cm["data"]


def test_pod_template_yaml_is_merged(kube_cli, tmp_path):
    template = tmp_path / "template.yaml"
    template.write_text(
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata:\n"
        "  name: attacker-chosen\n"
        "  labels: {team: data, app.kubernetes.io/name: other}\n"
        "  annotations: {cost-center: '42'}\n"
        "spec:\n"
        "  priorityClassName: notebooks\n"
        "  nodeSelector: {pool: spark}\n"
        "  tolerations:\n"
        "  - {key: dedicated, operator: Equal, value: spark, effect: NoSchedule}\n"
        "  enableServiceLinks: null\n")
    objs = by_kind(render(kube_cli, tmp_path, dict(BASE, pod_template_file=str(template))))
    validate({"apiVersion": "v1", "kind": "List", "items": list(objs.values())})
    pod = objs["Pod"]
    assert pod["metadata"]["name"] == "spark-k8s-" + BASE["kernel_id"]
    assert pod["metadata"]["labels"]["team"] == "data"
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "spark-k8s"
    assert pod["metadata"]["annotations"]["cost-center"] == "42"
    assert pod["spec"]["priorityClassName"] == "notebooks"
    assert pod["spec"]["nodeSelector"] == {"pool": "spark"}
    assert pod["spec"]["tolerations"][0]["key"] == "dedicated"
    assert "enableServiceLinks" not in pod["spec"]  # null removes (RFC 7386)
    assert pod["spec"]["containers"][0]["command"] == ["spark-k8s", "shim"]
    # The same template shapes the executors.
    executor = json.loads(objs["ConfigMap"]["data"]["executor-pod-template.json"])
    assert executor["spec"]["nodeSelector"] == {"pool": "spark"}
    assert executor["spec"]["priorityClassName"] == "notebooks"


def test_hostile_strings_stay_values(kube_cli, tmp_path):
    user = 'eve"}, {"name": "X", "value": "$(rm -rf /)\n--- \nkind: Secret'
    rendered = render(kube_cli, tmp_path, dict(BASE, user=user))
    validate(rendered)
    for item in rendered["items"]:
        assert item["metadata"]["annotations"]["spark-k8s.io/user"] == user
        label = item["metadata"]["labels"]["spark-k8s.io/user"]
        assert LABEL_VALUE.match(label) and len(label) <= 63
    pod = by_kind(rendered)["Pod"]
    assert [e["name"] for e in pod["spec"]["containers"][0]["env"]].count("X") == 0


def test_kernel_ids_become_distinct_safe_names(kube_cli, tmp_path):
    names = set()
    for kernel_id in ["ABC", "abc", "a" * 200, "a" * 199 + "b", "--x__y..", "Ünïcode kernel"]:
        objs = by_kind(render(kube_cli, tmp_path, dict(BASE, kernel_id=kernel_id)))
        for item in objs.values():
            name = item["metadata"]["name"]
            assert len(name) <= 63 and DNS_LABEL.match(name), name
            label = item["metadata"]["labels"]["spark-k8s.io/kernel-id"]
            assert LABEL_VALUE.match(label) and len(label) <= 63, label
        names.add(objs["Pod"]["metadata"]["name"])
        assert objs["Service"]["metadata"]["name"][0].isalpha()  # DNS-1035 for services
    assert len(names) == 6


def test_owner_pod_in_cluster(kube_cli, tmp_path):
    inputs = dict(BASE, owner_pod_name="jupyter-0",
                  owner_pod_uid="0f5e7b7e-1111-2222-3333-444455556666")
    objs = by_kind(render(kube_cli, tmp_path, inputs))
    validate({"apiVersion": "v1", "kind": "List", "items": list(objs.values())})
    assert objs["Pod"]["metadata"]["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "Pod", "name": "jupyter-0",
        "uid": "0f5e7b7e-1111-2222-3333-444455556666"}]


@pytest.mark.parametrize("field,value,message", [
    ("namespace", "Not_A_Namespace", "namespace: 'Not_A_Namespace' is not a DNS-1123 label"),
    ("memory_limit", "4 GB", "memory limit: '4 GB' is not a Kubernetes quantity"),
    ("driver_image", "", "driver image: required"),
    ("image_pull_policy", "Sometimes", "image pull policy: 'Sometimes'"),
    ("kernel_id", "", "kernel id: empty"),
])
def test_bad_inputs_are_refused_with_the_field(kube_cli, tmp_path, field, value, message):
    stderr = render(kube_cli, tmp_path, dict(BASE, **{field: value}), expect_ok=False)
    assert message in stderr


# ---- `spark-k8s render NAME --runtime kubernetes` --------------------------------------

KERNELS = ["spark-3.5-baseline", "spark-3.5-gpu", "spark-3.5-iceberg", "spark-3.5-gpu-iceberg",
           "spark-4.1-baseline", "spark-4.1-gpu", "spark-4.1-iceberg", "spark-4.1-gpu-iceberg"]


@pytest.fixture(scope="module")
def kernelspecs():
    """The kernelspecs installed into a private prefix; yields the env to find them."""
    with tempfile.TemporaryDirectory(prefix="spark-k8s-render-") as prefix:
        subprocess.run([str(SPARK_K8S), "kernelspec", "install", "--prefix", prefix, "--all"],
                       check=True, capture_output=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SPARK_K8S_") or k in ("SPARK_K8S_BUILD", "SPARK_K8S_PREFIX")}
        env["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")
        env["SPARK_K8S_CONFIG"] = os.path.join(prefix, "admin-config.json")
        with open(env["SPARK_K8S_CONFIG"], "w") as f:
            f.write("{}")  # no admin settings: the kernelspecs alone
        env["USER"] = "jane"
        env.pop("JUPYTERHUB_USER", None)
        yield env


def render_kernel(env, name, ok=True, **extra):
    proc = subprocess.run([str(SPARK_K8S), "render", name, "--runtime", "kubernetes"],
                          capture_output=True, text=True, env=dict(env, **extra))
    if not ok:
        assert proc.returncode == 2 and proc.stdout == "", proc
        return proc.stderr
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # stdout holds the List and nothing else


def test_a_logging_configuration_that_is_not_text_is_refused_naming_the_file(kernelspecs, tmp_path):
    """A kernelspec's log4j2.properties must be what a ConfigMap holds (UTF-8 text): refused
    at the start, naming the file; a kernelspec without one renders without the key."""
    spec = tmp_path / "kernels" / "odd-logging"
    shutil.copytree(os.path.join(kernelspecs["JUPYTER_PATH"], "kernels", "spark-4.1-baseline"), spec)
    (spec / "log4j2.properties").write_bytes(b"rootLogger.level = warn\n\xff\xfe\n")
    env = dict(kernelspecs, JUPYTER_PATH="%s:%s" % (tmp_path, kernelspecs["JUPYTER_PATH"]))
    err = render_kernel(env, "odd-logging", ok=False)
    assert str(spec / "log4j2.properties") in err and "not UTF-8 text" in err, err
    (spec / "log4j2.properties").unlink()
    objs = by_kind(render_kernel(env, "odd-logging"))
    assert "log4j2.properties" not in objs["ConfigMap"]["data"]


@pytest.mark.parametrize("name", KERNELS)
def test_render_every_kernelspec_for_kubernetes(kernelspecs, name):
    rendered = render_kernel(kernelspecs, name)
    validate(rendered)
    objs = by_kind(rendered)
    assert set(objs) == {"Pod", "Secret", "Service", "ConfigMap"}
    assert set(objs["Secret"]["stringData"].values()) == {"<redacted>"}
    pod = objs["Pod"]
    assert pod["metadata"]["labels"]["spark-k8s.io/user"] == "jane"
    container = pod["spec"]["containers"][0]
    assert "spark-k8s-jupyter" in container["image"]
    resources = container["resources"]
    assert resources["requests"] == resources["limits"]  # Guaranteed QoS
    assert "nvidia.com/gpu" not in resources["limits"]
    conf = objs["ConfigMap"]["data"]["spark-defaults.conf"]
    spec_dir = os.path.join(kernelspecs["JUPYTER_PATH"], "kernels", name)
    with open(os.path.join(spec_dir, "log4j2.properties"), encoding="utf-8") as f:
        assert objs["ConfigMap"]["data"]["log4j2.properties"] == f.read()  # the kernelspec's
    assert "spark.submit.deployMode client" in conf
    assert "spark.kubernetes.driver.pod.name " + pod["metadata"]["name"] in conf
    assert "spark.driver.host %s.%s.svc" % (objs["Service"]["metadata"]["name"],
                                           pod["metadata"]["namespace"]) in conf
    template = json.loads(objs["ConfigMap"]["data"]["executor-pod-template.json"])
    validate(template)
    tolerations = template["spec"].get("tolerations", [])
    if "gpu" in name:
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in tolerations
        assert "spark.executor.resource.gpu.vendor nvidia.com" in conf
    else:
        assert tolerations == []


def test_render_applies_admin_template_and_pull_secrets(kernelspecs, tmp_path):
    template = tmp_path / "pod.yaml"
    template.write_text("spec:\n  nodeSelector: {pool: notebooks}\n  priorityClassName: high\n")
    rendered = render_kernel(kernelspecs, "spark-4.1-baseline",
                             SPARK_K8S_POD_TEMPLATE=str(template),
                             SPARK_K8S_IMAGE_PULL_SECRETS="regcred,mirror")
    validate(rendered)
    pod = by_kind(rendered)["Pod"]
    assert pod["spec"]["nodeSelector"] == {"pool": "notebooks"}
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}, {"name": "mirror"}]


def test_render_refuses_bad_admin_settings(kernelspecs, tmp_path):
    err = render_kernel(kernelspecs, "spark-4.1-baseline", ok=False,
                        SPARK_K8S_IMAGE_PULL_SECRETS="ok,Not Valid")
    assert "env SPARK_K8S_IMAGE_PULL_SECRETS: kubernetes.image_pull_secrets has value " \
        "'ok,Not Valid'; expected Secret names" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: [unclosed\n")
    err = render_kernel(kernelspecs, "spark-4.1-baseline", ok=False,
                        SPARK_K8S_POD_TEMPLATE=str(bad))
    assert "env SPARK_K8S_POD_TEMPLATE: kubernetes.pod_template: %s: line" % bad in err


def test_admin_template_and_pull_secrets_from_the_config_file(kernelspecs, tmp_path):
    """Defect 13: the config file carries the pod template and the image pull secrets too;
    the environment still wins."""
    template = tmp_path / "pod.yaml"
    template.write_text("spec:\n  nodeSelector: {pool: gpu}\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"kubernetes": {"pod_template": str(template),
                                                 "image_pull_secrets": "regcred,mirror"}}))
    objs = by_kind(render_kernel(kernelspecs, "spark-4.1-baseline", SPARK_K8S_CONFIG=str(config)))
    assert objs["Pod"]["spec"]["nodeSelector"] == {"pool": "gpu"}
    assert objs["Pod"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}, {"name": "mirror"}]
    executor = json.loads(objs["ConfigMap"]["data"]["executor-pod-template.json"])
    assert executor["spec"]["nodeSelector"] == {"pool": "gpu"}
    assert executor["spec"]["imagePullSecrets"] == [{"name": "regcred"}, {"name": "mirror"}]
    objs = by_kind(render_kernel(kernelspecs, "spark-4.1-baseline", SPARK_K8S_CONFIG=str(config),
                                 SPARK_K8S_IMAGE_PULL_SECRETS="other"))
    assert objs["Pod"]["spec"]["imagePullSecrets"] == [{"name": "other"}]
    config.write_text(json.dumps({"kubernetes": {"pod_template": "relative.yaml"}}))
    err = render_kernel(kernelspecs, "spark-4.1-baseline", ok=False, SPARK_K8S_CONFIG=str(config))
    assert "kubernetes.pod_template has value 'relative.yaml'" in err and str(config) in err


def matrix_layout():
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "images", "matrix.json")) as f:
        return json.load(f)["images"]["layout"]


@pytest.mark.parametrize("name", ["spark-3.5-baseline", "spark-4.1-gpu-iceberg"])
def test_the_pod_runs_the_images_python_under_tini(kernelspecs, name):
    """Defect 1: the kernel runs the image's environment (the matrix's images.layout.python),
    not the launcher host's interpreter; defect 7: the shim runs under the image's tini."""
    layout = matrix_layout()
    (container,) = by_kind(render_kernel(kernelspecs, name))["Pod"]["spec"]["containers"]
    assert container["command"] == [layout["tini"], "-s", "-g", "--", layout["spark_k8s"], "shim"]
    kernel = container["args"][container["args"].index("--") + 1:]
    assert kernel[0] == layout["python"].replace("{line}", name.split("-")[1])
    assert kernel[1:3] == ["-m", "ipykernel_launcher"]
    with open(os.path.join(kernelspecs["JUPYTER_PATH"], "kernels", name, "kernel.json")) as f:
        local = json.load(f)["metadata"]["spark_k8s"]["runtime_command"]
    assert local[0] != kernel[0] and kernel[1:] == local[1:]  # the host's Python stays local
    assert container["workingDir"] == "/tmp"  # writable: the root is read-only


def test_executors_get_no_token_and_gpus_get_the_driver(kernelspecs):
    """Defects 9 and 4: the executor template mounts no service-account token; GPU pods ask
    the NVIDIA container toolkit for the driver library and NVML; the cap and RAPIDS' pinned
    memory are in Spark's properties."""
    objs = by_kind(render_kernel(kernelspecs, "spark-4.1-gpu"))
    executor = json.loads(objs["ConfigMap"]["data"]["executor-pod-template.json"])
    assert executor["spec"]["automountServiceAccountToken"] is False
    (c,) = executor["spec"]["containers"]
    assert {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility"} in c["env"]
    conf = objs["ConfigMap"]["data"]["spark-defaults.conf"]
    assert "\nspark.dynamicAllocation.maxExecutors 4\n" in conf
    assert "\nspark.rapids.memory.pinnedPool.size 1024m\n" in conf
    assert "\nspark.executor.memoryOverhead 1843m\n" in conf
    pod_env = objs["Pod"]["spec"]["containers"][0]["env"]
    assert "NVIDIA_DRIVER_CAPABILITIES" not in [e["name"] for e in pod_env]  # no driver GPU
    objs = by_kind(render_kernel(kernelspecs, "spark-4.1-gpu", SPARK_K8S_DRIVER_GPUS="1"))
    (c,) = objs["Pod"]["spec"]["containers"]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility"} in c["env"]


def test_spark_connect_port_on_pod_and_service(kernelspecs):
    """Defect 11: with Spark Connect on, its port is on the kernel pod and its Service."""
    objs = by_kind(render_kernel(kernelspecs, "spark-4.1-baseline", SPARK_K8S_SPARK_CONNECT="true",
                                 SPARK_K8S_SPARK_CONNECT_PORT="15010"))
    validate({"apiVersion": "v1", "kind": "List", "items": list(objs.values())})
    ports = {p["name"]: p["port"] for p in objs["Service"]["spec"]["ports"]}
    assert ports["spark-connect"] == 15010
    (c,) = objs["Pod"]["spec"]["containers"]
    assert {"name": "spark-connect", "containerPort": 15010, "protocol": "TCP"} in c["ports"]
    conf = objs["ConfigMap"]["data"]["spark-defaults.conf"]
    assert "spark.connect.grpc.binding.port 15010" in conf
    assert "spark.connect.authenticate.token" not in conf  # made in the pod, never in a ConfigMap
    objs = by_kind(render_kernel(kernelspecs, "spark-4.1-baseline"))
    assert "spark-connect" not in [p["name"] for p in objs["Service"]["spec"]["ports"]]


def test_kubernetes_iceberg_install_needs_shared_storage(tmp_path):
    """Defect 3: executors are pods, so a kubernetes iceberg kernelspec whose warehouse is a
    local path is refused at install, naming the option; shared storage or a REST catalog
    is accepted, and with --all the Iceberg options go to the iceberg variants only."""
    def install(*args):
        return subprocess.run([str(SPARK_K8S), "kernelspec", "install", "--prefix", str(tmp_path / "p"),
                               "--runtime", "kubernetes", "--replace", *args], capture_output=True, text=True)
    refused = install("--spark", "4.1", "--variant", "iceberg")
    assert refused.returncode == 2 and "--iceberg-warehouse" in refused.stderr
    assert "iceberg.warehouse has value 'iceberg-warehouse'" in refused.stderr
    assert not (tmp_path / "p").exists() or not list((tmp_path / "p").rglob("kernel.json"))
    refused = install("--spark", "3.5", "--variant", "gpu-iceberg", "--iceberg-warehouse", "/data/warehouse")
    assert refused.returncode == 2 and "'/data/warehouse'" in refused.stderr
    assert install("--spark", "4.1", "--variant", "iceberg", "--iceberg-type", "rest",
                   "--iceberg-uri", "http://catalog:8181").returncode == 0
    done = install("--all", "--iceberg-type", "rest", "--iceberg-uri", "http://catalog:8181",
                   "--iceberg-warehouse", "s3://lake/wh", "--s3-endpoint", "http://minio:9000",
                   "--rapids-mode", "explainOnly")
    assert done.returncode == 0, done.stderr
    specs = {p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "p").rglob("kernel.json")}
    assert len(specs) == 8
    for name, spec in specs.items():
        meta = spec["metadata"]["spark_k8s"]
        assert ("iceberg" in meta) == ("iceberg" in name)
        assert ("s3" in meta) == ("iceberg" in name)  # Iceberg's S3FileIO reads them
        assert ("rapids" in meta) == ("gpu" in name)
        if "iceberg" in name:
            assert meta["iceberg"]["warehouse"] == "s3://lake/wh"


def test_hadoop_catalog_where_the_kernels_have_no_file_system_is_refused(tmp_path):
    """Defect 6: a hadoop catalog keeps its tables through Hadoop's file systems, and the
    kernels and images carry HDFS's client only: s3a://, gs://, abfs:// are refused at
    install on either runtime, naming the connector and the REST catalog instead."""
    for runtime in ("local", "kubernetes"):
        for location, connector in (("s3a://lake/wh", "hadoop-aws"), ("gs://lake/wh", "GCS"),
                                    ("abfs://c@a.dfs.core.windows.net/wh", "hadoop-azure")):
            proc = subprocess.run([str(SPARK_K8S), "kernelspec", "install", "--prefix", str(tmp_path / "p"),
                                   "--runtime", runtime, "--spark", "4.1", "--variant", "iceberg",
                                   "--iceberg-warehouse", location], capture_output=True, text=True)
            assert proc.returncode == 2, proc
            assert "'%s'" % location in proc.stderr and connector in proc.stderr
            assert "--iceberg-type rest" in proc.stderr
    assert not list(tmp_path.rglob("kernel.json"))


def test_executors_run_as_the_kernels_account_with_the_credentials_secret(kube_cli, tmp_path):
    """Defect 4: executors run as the kernel pod's service account (what IRSA, EKS Pod
    Identity and GKE Workload Identity key on; still no API token in them), and the
    admin's S3 credentials Secret reaches driver and executors as environment, by name
    only: no key in any object."""
    objs = by_kind(render(kube_cli, tmp_path, dict(BASE, service_account="spark-k8s",
                                                    s3_credentials_secret="lake-keys")))
    validate({"apiVersion": "v1", "kind": "List", "items": list(objs.values())})
    executor = json.loads(objs["ConfigMap"]["data"]["executor-pod-template.json"])
    validate(executor)
    assert executor["spec"]["serviceAccountName"] == "spark-k8s"
    assert executor["spec"]["automountServiceAccountToken"] is False
    want = [{"name": k, "valueFrom": {"secretKeyRef": {"name": "lake-keys", "key": k}}}
            for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")]
    (c,) = executor["spec"]["containers"]
    assert c["env"] == want
    driver_env = objs["Pod"]["spec"]["containers"][0]["env"]
    assert all(e in driver_env for e in want)
    # without them: the namespace's default account is not named, and no credentials
    objs = by_kind(render(kube_cli, tmp_path, BASE))
    executor = json.loads(objs["ConfigMap"]["data"]["executor-pod-template.json"])
    assert "serviceAccountName" not in executor["spec"]
    assert "env" not in executor["spec"]["containers"][0]
    assert render(kube_cli, tmp_path, dict(BASE, s3_credentials_secret="Lake_Keys"),
                  expect_ok=False).count("'Lake_Keys'") == 1


def test_warehouse_claim_is_mounted_in_the_driver_pod(kube_cli, tmp_path):
    """Defect 2: Spark's warehouse on a ReadWriteMany claim is mounted in the kernel pod at
    the warehouse's path (Spark mounts it in the executors from its properties)."""
    objs = by_kind(render(kube_cli, tmp_path, dict(BASE, warehouse_claim="lake",
                                                    warehouse_path="/mnt/warehouse")))
    validate({"apiVersion": "v1", "kind": "List", "items": list(objs.values())})
    spec = objs["Pod"]["spec"]
    assert {"name": "spark-warehouse", "persistentVolumeClaim": {"claimName": "lake"}} in spec["volumes"]
    mounts = spec["containers"][0]["volumeMounts"]
    assert {"name": "spark-warehouse", "mountPath": "/mnt/warehouse"} in mounts
    assert "no absolute path" in render(kube_cli, tmp_path, dict(BASE, warehouse_claim="lake"),
                                        expect_ok=False)


def test_render_kubernetes_shows_where_managed_tables_go(kernelspecs, tmp_path):
    """Defects 1 and 2 in what `render` shows: the driver's class path is the image's jars
    folder (never spark.jars); without a shared warehouse the session is told to refuse
    managed tables; with one, the executors mount its claim."""
    objs = by_kind(render_kernel(kernelspecs, "spark-4.1-gpu-iceberg", SPARK_K8S_ICEBERG_TYPE="rest",
                                 SPARK_K8S_ICEBERG_URI="http://catalog:8181"))
    conf = objs["ConfigMap"]["data"]["spark-defaults.conf"]
    assert "\nspark.driver.extraClassPath /usr/local/lib/spark-k8s/envs/spark-4.1/share/spark-k8s/jars/*\n" in conf
    assert "spark.jars " not in conf
    assert "\nspark.k8s.notebook.sharedWarehouse false\n" in conf
    assert "spark.sql.catalog.iceberg.warehouse" not in conf  # defect 3: the REST catalog's own
    objs = by_kind(render_kernel(kernelspecs, "spark-3.5-baseline", SPARK_K8S_SPARK_WAREHOUSE="/mnt/wh",
                                 SPARK_K8S_SPARK_WAREHOUSE_CLAIM="lake"))
    conf = objs["ConfigMap"]["data"]["spark-defaults.conf"]
    assert "\nspark.sql.warehouse.dir /mnt/wh\n" in conf and "sharedWarehouse" not in conf
    assert "persistentVolumeClaim.spark-warehouse.options.claimName lake\n" in conf
    assert "spark.driver.extraClassPath" not in conf  # baseline: no jars
    assert {"name": "spark-warehouse", "persistentVolumeClaim": {"claimName": "lake"}} in \
        objs["Pod"]["spec"]["volumes"]
