"""The strict Kubernetes v1.32 schemas the fake checks created objects against
(api.Validator), and validate(obj) for tests that check the objects spark-k8s renders
(test_objects.py, test_rbac.py, test_kube_client.py ...).

The schemas live beside the repository, in ../shared/k8s-schema (FAKEKUBE_SCHEMA_DIR
overrides)."""
import functools
import json
import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_DIR = pathlib.Path(os.environ.get("FAKEKUBE_SCHEMA_DIR",
                                         REPO.parent / "shared" / "k8s-schema"))
if not SCHEMA_DIR.is_dir():
    SCHEMA_DIR = pathlib.Path("/work/shared/k8s-schema")

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
    import jsonschema

    # The files say "$schema": "http://json-schema.org/schema#"; they are draft 7.
    jsonschema.Draft7Validator(schema(obj["apiVersion"], obj["kind"])).validate(obj)
