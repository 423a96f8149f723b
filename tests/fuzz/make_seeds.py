#!/usr/bin/python3
"""make_seeds.py — the seed corpora of the fuzz targets (tests/fuzz/seeds/<target>/).

message:      each small jupyter_client signature vector as length-prefixed frames
connection:   connection files (tcp, ipc, IPv6, unsigned)
kernelspec:   kernel.json of every installed kernelspec shape, some after "FOLDER\\0"
config:       admin config files
kubeconfig:   kubeconfig files (token, token file, client certificate, several contexts)
kube_api:     byte 0 picks: 0 Status bodies, 1 watch streams, 2 lists, 3 Pod/Event objects
pod_template: admin pod templates (YAML and JSON), some with an executor template after NUL

Run from the repository root with /usr/bin/python3; the seeds are committed."""
import base64
import binascii
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")


def frames_input(frames):
    out = bytearray()
    for f in frames:
        if len(f) < 0xff:
            out.append(len(f))
        else:
            out += b"\xff" + len(f).to_bytes(2, "little")
        out += f
    return bytes(out)


def write(target, name, data):
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as out:
        out.write(data if isinstance(data, bytes) else data.encode("utf8"))


def message_seeds():
    with open(os.path.join(HERE, "..", "unit", "vectors", "signatures.json"), encoding="utf8") as f:
        vectors = json.load(f)["vectors"]
    n = 0
    for v in vectors:
        frames = [x["utf8"].encode("utf8") if "utf8" in x else binascii.unhexlify(x["hex"])
                  for x in v["frames"]]
        if sum(map(len, frames)) > 4096:
            continue
        write("message", "vector-%02d" % n, frames_input(frames))
        n += 1


def connection_seeds():
    ports = ('"shell_port": 5001, "iopub_port": 5002, "stdin_port": 5003, '
             '"control_port": 5004, "hb_port": 5005')
    files = [
        '{"transport": "tcp", "ip": "127.0.0.1", "key": "k", '
        '"signature_scheme": "hmac-sha256", "kernel_name": "spark-4.1-baseline", %s}' % ports,
        '{"transport": "ipc", "ip": "/tmp/kernel", "key": "", %s}' % ports,
        '{"ip": "::1", "key": "\\u043a", %s}' % ports,
        '{"transport": "tcp", "ip": "fe80::1%%lo", "key": "abc", "signature_scheme": "hmac-sha256", %s}'
        % ports,
    ]
    for i, text in enumerate(files):
        write("connection", "file-%02d" % i, text)


def kernelspec_seeds():
    base = {
        "argv": ["/usr/local/bin/spark-k8s", "kernel", "-f", "{connection_file}",
                 "--kernelspec", "{resource_dir}"],
        "display_name": "Spark 4.1 · GPU · Iceberg", "language": "python",
        "interrupt_mode": "message",
        "metadata": {"spark_k8s": {
            "spark_version": "4.1.1", "variant": "gpu-iceberg", "runtime": "local",
            "images": {"driver": "spark-k8s-jupyter:4.1-0.1.0-gpu-iceberg",
                       "executor": "spark-k8s-runtime:4.1-0.1.0-gpu-iceberg"},
            "resources": {"driver_cores": 1, "driver_memory": "2g", "executor_cores": 4,
                          "executor_memory": "8g", "executor_instances": 2, "executor_gpus": 1},
            "iceberg": {"name": "iceberg", "type": "hadoop", "warehouse": "iceberg-warehouse"},
            "spark_conf": {"spark.sql.shuffle.partitions": "200"},
            "runtime_command": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f",
                                "{connection_file}",
                                "--IPKernelApp.exec_files={resource_dir}/spark_session.py"]}}}
    write("kernelspec", "gpu-iceberg", json.dumps(base))
    kube = json.loads(json.dumps(base))
    meta = kube["metadata"]["spark_k8s"]
    meta.update({"runtime": "kubernetes", "variant": "baseline", "spark_version": "3.5.7",
                 "kubernetes": {"namespace": "analytics", "service_account": "spark"}})
    meta["iceberg"] = {"name": "lake", "type": "rest", "uri": "http://rest:8181",
                       "warehouse": "s3a://lake/wh"}
    write("kernelspec", "kubernetes", json.dumps(kube))
    write("kernelspec", "folder-with-newline",
          b"evil\nspark.driver.memory 99g\x00" + json.dumps(base).encode())
    write("kernelspec", "no-metadata", json.dumps({"argv": ["x"], "display_name": "d"}))


def config_seeds():
    write("config", "readme", json.dumps({
        "runtime": "kubernetes", "image_registry": "registry.example.com/spark",
        "kubernetes": {"namespace": "analytics", "service_account": "spark-kernels"},
        "resources": {"executor_memory": "16g", "executor_instances": 4},
        "iceberg": {"type": "rest", "uri": "http://iceberg-rest:8181", "warehouse": "s3a://lake/wh"},
        "spark_conf": {"spark.sql.shuffle.partitions": "200"}}))
    write("config", "local", json.dumps({"runtime": "local", "resources": {"driver_memory": "4g"}}))
    write("config", "bad-value", json.dumps({"spark_conf": {"spark.x": "a\nspark.y b"}}))


def kubeconfig_seeds():
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
    write("kubeconfig", "token", """apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: %s
contexts:
- name: dev
  context: {cluster: c, user: u, namespace: analytics}
users:
- name: u
  user:
    token: abc.def.ghi
""" % ca)
    write("kubeconfig", "client-cert", """apiVersion: v1
current-context: admin
clusters: [{name: c, cluster: {server: "https://k8s.example.com"}}]
contexts: [{name: admin, context: {cluster: c, user: a}}, {name: other, context: {cluster: c, user: b}}]
users:
- {name: a, user: {client-certificate-data: %s, client-key-data: %s}}
- {name: b, user: {tokenFile: /nonexistent/token}}
""" % (ca, ca))
    # found by the fuzzer: an inline token with a space (or CR/LF) went into the HTTP header
    write("kubeconfig", "regression-token-whitespace", """current-context: x
clusters: [{name: c, cluster: {server: "https://h"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: "abc\\r\\nX-Injected: 1"}}]
""")
    write("kubeconfig", "exec-refused", """current-context: x
clusters: [{name: c, cluster: {server: "https://h"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {exec: {command: aws}}}]
""")
    write("kubeconfig", "json", json.dumps({
        "current-context": "x", "clusters": [{"name": "c", "cluster": {"server": "https://h:1"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}]}))


def pod(phase, waiting=None, terminated=None, ip=None, deleting=False):
    status = {"phase": phase}
    if ip:
        status["podIP"] = ip
    state = {}
    if waiting:
        state["waiting"] = {"reason": waiting, "message": "back-off pulling image"}
    if terminated:
        state["terminated"] = {"reason": terminated, "exitCode": 137, "message": "killed"}
    if state:
        status["containerStatuses"] = [{"name": "kernel", "state": state}]
    meta = {"name": "spark-k8s-x", "namespace": "ns", "resourceVersion": "12", "uid": "u1"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "status": status}


def kube_api_seeds():
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
              "message": 'pods is forbidden: User "x" cannot create resource "pods"',
              "reason": "Forbidden", "code": 403}
    write("kube_api", "status-forbidden", b"\x00\x67\x00" + json.dumps(status).encode())
    write("kube_api", "status-text", b"\x00\xc8\x00upstream connect error\r\n")
    # found by the fuzzer: a text body that starts with a NUL byte left the message empty
    write("kube_api", "regression-status-nul-body", b"\x00\x03\x0c\x00{\"metadata\": 1}")
    # found by the fuzzer: a Status with an empty reason and no message left the message empty
    write("kube_api", "regression-status-empty-reason",
          b"\x00\x67\x00" + json.dumps({"kind": "Status", "reason": "", "code": 403}).encode())
    lines = [{"type": "ADDED", "object": pod("Pending")},
             {"type": "MODIFIED", "object": pod("Running", ip="10.1.2.3")},
             {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "99"}}},
             {"type": "ERROR", "object": {"kind": "Status", "code": 410}},
             {"type": "DELETED", "object": pod("Succeeded")}]
    stream = "".join(json.dumps(x) + "\n" for x in lines).encode()
    write("kube_api", "watch-stream", b"\x01\x20\x90" + stream)
    # found by the fuzzer: an event type the client does not know was passed on
    odd = json.dumps({"type": "DULETED", "object": pod("Succeeded")}) + "\n"
    write("kube_api", "regression-unknown-event-type", b"\x01\x00\x00" + odd.encode())
    lst = {"kind": "PodList", "metadata": {"resourceVersion": "15"},
           "items": [pod("Running"), dict(pod("Pending"), metadata={"name": "b", "resourceVersion": "3"})]}
    write("kube_api", "list", b"\x02\x00\x00" + json.dumps(lst).encode())
    for i, (kind, obj) in enumerate([
            (0, pod("Pending", waiting="ImagePullBackOff")),
            (1, pod("Failed", terminated="OOMKilled")),
            (1, pod("Running", deleting=True)),
            (2, pod("Succeeded", terminated="Completed")),
            (1 | 32, pod("Failed", terminated="Error")),
            (4, {"metadata": {"uid": "e1"}, "reason": "FailedScheduling", "count": 2,
                 "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
                 "type": "Warning"}),
            (4, {"metadata": {"uid": "e2"}, "reason": "Scheduled", "count": 1,
                 "message": "Successfully assigned ns/spark-k8s-x to node-1"}),
            (4 | 8, {"metadata": {"uid": "e3"}, "reason": "Pulling", "count": 1,
                     "message": "Pulling image \"spark-k8s-jupyter:4.1\""})]):
        write("kube_api", "object-%02d" % i, bytes([3, kind, 0]) + json.dumps(obj).encode())


def pod_template_seeds():
    write("pod_template", "yaml", """apiVersion: v1
kind: Pod
metadata:
  labels: {team: data, spark-k8s.io/kernel-id: forged}
  annotations: {cost-center: "42"}
spec:
  nodeSelector: {pool: kernels}
  tolerations:
  - {key: dedicated, operator: Equal, value: kernels, effect: NoSchedule}
  securityContext: {runAsNonRoot: true}
""")
    write("pod_template", "json-rename", json.dumps({
        "metadata": {"name": "other", "namespace": "kube-system"}, "kind": "Secret",
        "spec": {"containers": None}}))
    write("pod_template", "with-executor",
          b"spec: {priorityClassName: high}\n\x00spec:\n  nodeSelector: {pool: executors}\n")
    write("pod_template", "not-a-mapping", "- a\n- b\n")


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    message_seeds()
    connection_seeds()
    kernelspec_seeds()
    config_seeds()
    kubeconfig_seeds()
    kube_api_seeds()
    pod_template_seeds()


if __name__ == "__main__":
    main()
