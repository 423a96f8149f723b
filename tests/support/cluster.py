"""support.cluster: a fake cluster (tests/fakekube) set up the way docs/kubernetes.md tells an admin to, for tests
that start kernels on the kubernetes runtime.

    cluster = Cluster(fake, tmp_dir)        # fake: a started FakeKube with fakeimages' images
    cluster.kubectl("get", "pods")          # the real kubectl, with the admin's kubeconfig
    cluster.install("4.1", "baseline", "--executor-instances", "2")   # a kernelspec
    env = cluster.launcher_env()            # what a launcher runs with (Jupyter's environment)
    lake_secret(cluster, "lake-keys")       # the admin's Secret with the object store's keys

At construction `spark-k8s rbac --namespace NS` is applied with `kubectl apply -f -` (the
ServiceAccount spark-k8s, its Role and RoleBinding, the NetworkPolicies), and the launcher gets
a kubeconfig whose token is the spark-k8s account's own: every call it makes, and every call
of the Spark driver in the kernel pod (the pod runs as that account), is authorized against
exactly that Role.  Kernelspecs are installed with `--runtime kubernetes --service-account
spark-k8s` and the matrix's images, which the fake runs (fakekube/images.py).
"""

import json
import os
import pathlib
import shutil
import subprocess

from fakekube import images as fakeimages
from support.paths import SPARK_K8S

SERVICE_ACCOUNT = "spark-k8s"


def fake_options(state_dir):
    """FakeKube keyword arguments for a cluster that runs the matrix's images."""
    return {"images": fakeimages.images(state_dir),
            "path": "%s:/usr/local/bin:/usr/bin:/bin" % SPARK_K8S.parent}


class Cluster:
    def __init__(self, fake, base, rbac_args=()):
        self.fake = fake
        self.base = pathlib.Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.namespace = fake.namespace
        self.rbac = json.loads(self.spark_k8s("rbac", "--namespace", self.namespace, *rbac_args).stdout)
        applied = self.kubectl("apply", "-f", "-", input=json.dumps(self.rbac))
        assert applied.returncode == 0, applied.stderr
        self.token = fake.token_for(SERVICE_ACCOUNT, self.namespace)
        self.kubeconfig = fake.write_kubeconfig(str(self.base / "launcher-kubeconfig"), token=self.token)
        self.user = "system:serviceaccount:%s:%s" % (self.namespace, SERVICE_ACCOUNT)
        self.prefix = self.base / "prefix"
        self.admin_config = self.base / "config.json"
        self.admin_config.write_text("{}\n")

    @staticmethod
    def spark_k8s(*args, check=True, env=None):
        return subprocess.run([str(SPARK_K8S), *args], capture_output=True, text=True, check=check,
                              env=env)

    def kubectl(self, *args, input=None, kubeconfig=None):
        """The real kubectl, as the admin (the fake's own kubeconfig) unless told otherwise."""
        assert shutil.which("kubectl"), "kubectl (1.32) is needed: the admin guide's commands are tested with it"
        return subprocess.run(["kubectl", "--kubeconfig", kubeconfig or self.fake.kubeconfig,
                               "--request-timeout", "60s", *args],
                              input=input, capture_output=True, text=True, timeout=120)

    def role_rules(self):
        """{(resource, verb)} the Role that `spark-k8s rbac` printed grants."""
        role = next(i for i in self.rbac["items"] if i["kind"] == "Role")
        return {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}

    def install(self, line, variant, *options, name=None):
        """`spark-k8s kernelspec install` of one kubernetes kernelspec; its name."""
        args = ["kernelspec", "install", "--prefix", str(self.prefix), "--spark", line,
                "--variant", variant, "--runtime", "kubernetes", "--executable", str(SPARK_K8S),
                "--service-account", SERVICE_ACCOUNT, "--replace", *options]
        if name:
            args += ["--name", name]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_K8S_")}
        env.update({k: os.environ[k] for k in ("SPARK_K8S_PREFIX", "SPARK_K8S_BUILD") if k in os.environ})
        self.spark_k8s(*args, env=env)
        return name or "spark-%s-%s" % (line, variant)

    def launcher_env(self):
        """The variables a launcher runs with here (on top of a clean environment)."""
        return {"JUPYTER_PATH": str(self.prefix / "share" / "jupyter"),
                "SPARK_K8S_CONFIG": str(self.admin_config),
                "KUBECONFIG": self.kubeconfig,
                "USER": "jane"}

    @staticmethod
    def foreign_settings():
        """Variables of the caller that would change a kernel under test."""
        keep = {"SPARK_K8S_PREFIX", "SPARK_K8S_BUILD"}
        return [k for k in os.environ if (k.startswith("SPARK_K8S_") and k not in keep)
                or k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAME",
                         "JUPYTERHUB_USER")]

    def requests_by(self, user=None):
        """The API requests made with USER's credentials (the spark-k8s account's)."""
        user = user or self.user
        with self.fake._req_lock:
            return [r for r in self.fake.requests if r.user == user]


def lake_secret(cluster, name):
    """The Secret with the S3 keys of the test object store (tests/lakehouse), as an admin makes
    it for --s3-credentials-secret NAME."""
    from lakehouse.objectstore import ACCESS_KEY_ID, SECRET_ACCESS_KEY
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque",
              "stringData": {"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY}}
    made = cluster.kubectl("apply", "-n", cluster.namespace, "-f", "-", input=json.dumps(secret))
    assert made.returncode == 0, made.stderr
