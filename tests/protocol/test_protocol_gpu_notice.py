"""test_protocol_gpu_notice.py — a GPU kernel where no GPU is visible says so in the notebook.

The launcher probes the CUDA runtime (dlopen) when a gpu variant starts on the local
runtime; the test points it at the fake CUDA runtime built for the unit tests
(build/tests/libcudart-fake.so) through SPARK_K8S_CUDART, so both the "no device" case
and the "GPU present" case go through the real probe.
"""
import json

import pytest

from support import protocol as h
from support.paths import BUILD

# The local runtime only: the probe of the CUDA runtime is the local runtime's (in a pod
# the GPU is the node's, scheduled by Kubernetes).
pytestmark = pytest.mark.runtimes("local")

FAKE_CUDART = BUILD / "tests" / "libcudart-fake.so"


def gpu_kernelspec(setup, name):
    spec_dir = h.make_kernelspec(setup.base / "specs", name, setup.launcher)
    spec = json.loads((spec_dir / "kernel.json").read_text())
    spec["metadata"]["spark_k8s"]["variant"] = "gpu"
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return spec_dir


def first_cell_stderr(setup, spec_dir, env):
    d = h.DirectLauncher(setup, spec_dir, extra_env=env)
    try:
        kc = d.client()
        msg_id = kc.execute("print('first cell')")
        assert h.shell_reply(kc, msg_id)["content"]["status"] == "ok"
        msgs = h.iopub_for(kc, msg_id)
        stderr = "".join(m["content"]["text"] for m in msgs
                         if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
        stdout = h.stream_text(msgs)
        # The second cell gets no second note.
        second = kc.execute("print('second cell')")
        h.shell_reply(kc, second)
        again = "".join(m["content"]["text"] for m in h.iopub_for(kc, second)
                        if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
        return stderr, stdout, again
    finally:
        d.close()


@pytest.fixture
def fake_cudart():
    if not FAKE_CUDART.exists():
        pytest.fail(f"{FAKE_CUDART} is missing: run `make {FAKE_CUDART}`")
    return str(FAKE_CUDART)


def test_gpu_kernel_without_a_gpu_says_so_in_the_first_cell(proto_setup, fake_cudart):
    spec = gpu_kernelspec(proto_setup, "gpu-none")
    stderr, stdout, again = first_cell_stderr(
        proto_setup, spec, {"SPARK_K8S_CUDART": fake_cudart, "FAKE_CUDART_DEVICES": "0"})
    assert "is a GPU kernel, but no GPU is visible here" in stderr, stderr
    assert "no cuda device is visible" in stderr.lower(), stderr
    assert "first cell" in stdout
    assert "GPU" not in again


def test_gpu_kernel_with_a_gpu_says_nothing(proto_setup, fake_cudart):
    spec = gpu_kernelspec(proto_setup, "gpu-one")
    stderr, stdout, _ = first_cell_stderr(
        proto_setup, spec, {"SPARK_K8S_CUDART": fake_cudart, "FAKE_CUDART_DEVICES": "1"})
    assert "GPU" not in stderr, stderr
    assert "first cell" in stdout
