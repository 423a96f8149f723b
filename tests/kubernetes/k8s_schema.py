"""k8s_schema.py — validates rendered Kubernetes objects against the strict
v1.32 schemas in ../shared/k8s-schema (SPARK_K8S_SCHEMA_DIR overrides), and
finds the test driver build/tests/kube-cli and the spark-k8s binary. Shared by test_objects.py,
test_rbac.py and test_kube_client.py."""
import functools
import json
import os
import pathlib

import jsonschema

REPO = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_DIR = pathlib.Path(os.environ.get("SPARK_K8S_SCHEMA_DIR",
                                         REPO.parent / "shared" / "k8s-schema"))
BUILD = pathlib.Path(os.environ.get("SPARK_K8S_BUILD", REPO / "build"))
KUBE_CLI = BUILD / "tests" / "kube-cli"
_PREFIX = os.environ.get("SPARK_K8S_PREFIX")
SPARK_K8S = pathlib.Path(_PREFIX) / "bin" / "spark-k8s" if _PREFIX else BUILD / "spark-k8s"

SCHEMA_FILES = {
    ("v1", "Pod"): "pod-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("v1", "Secret"): "secret-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "ServiceAccount"): "serviceaccount-v1.json",
    ("rbac.authorization.k8s.io/v1", "Role"): "role-rbac-v1.json",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rolebinding-rbac-v1.json",
    ("networking.k8s.io/v1", "NetworkPolicy"): "networkpolicy-networking-v1.json",
}


@functools.lru_cache(maxsize=None)
def schema(api_version, kind):
    name = SCHEMA_FILES.get((api_version, kind))
    assert name, f"no schema for {api_version} {kind}"
    path = SCHEMA_DIR / name
    assert path.is_file(), f"missing schema {path}"
    return json.loads(path.read_text())


def validate(obj):
    """Validate one object, or every item of a v1 List, strictly."""
    if obj.get("kind") == "List":
        assert obj.get("apiVersion") == "v1"
        assert isinstance(obj.get("items"), list) and obj["items"]
        for item in obj["items"]:
            validate(item)
        return
    # The files say "$schema": "http://json-schema.org/schema#"; they are draft 7.
    jsonschema.Draft7Validator(schema(obj["apiVersion"], obj["kind"])).validate(obj)
