"""test_protocol_startup_on_kubernetes.py — tests/protocol/test_protocol_startup.py on the
kubernetes runtime: requests held while the kernel pod starts, a kernel that cannot start,
bad connection files and kernelspecs.

The module's tests of bad inputs run here unchanged (kubeprotocol.reused).  Its two tests of a
starting runtime gate a local command with a file; a pod is held back by the cluster instead:
here the scheduler keeps it pending until the test lets it go, and a kernelspec whose kernel
module does not exist fails in the pod, whose words reach every request."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

import kubeprotocol as h  # noqa: E402
import test_protocol_startup as startup  # noqa: E402

REUSED = ["test_bad_connection_file", "test_missing_connection_file", "test_bad_kernelspec"]
for _name in REUSED:
    globals()[_name] = h.reused(getattr(startup, _name), __name__)
del _name


@pytest.fixture(scope="module")
def proto_setup():
    yield from h.module_setup()


@pytest.fixture
def direct(proto_setup):
    launchers = []

    def start(spec_dir, extra_args=()):
        d = h.DirectLauncher(proto_setup, spec_dir, extra_args)
        launchers.append(d)
        return d

    yield start
    for d in launchers:
        d.close()


def test_every_startup_test_runs_here_or_has_a_counterpart():
    names = {n for n in vars(startup) if n.startswith("test_")}
    counterparts = {"test_kernel_info_before_ready_and_held_requests": "test_requests_held_while_the_pod_is_pending",
                    "test_runtime_that_cannot_start": "test_kernel_that_cannot_start_in_the_pod",
                    "test_the_kernelspec_under_test": "test_the_kubernetes_kernelspec_under_test"}
    assert names == set(REUSED) | set(counterparts)
    assert all(n in globals() for n in counterparts.values())


def test_the_kubernetes_kernelspec_under_test(proto_setup):
    from jupyter_client.kernelspec import KernelSpecManager
    spec = KernelSpecManager().get_kernel_spec(h.KERNEL_NAME)
    assert spec.resource_dir == str(proto_setup.spec_dir)
    assert spec.argv[0] == proto_setup.launcher
    meta = spec.metadata["spark_k8s"]
    assert (meta["variant"], meta["runtime"]) == (h.VARIANT, "kubernetes")


def test_requests_held_while_the_pod_is_pending(proto_setup, direct):
    fake = proto_setup.fake
    fake.faults.unschedulable(message="0/3 nodes are available: 3 Insufficient memory.")
    try:
        d = direct(proto_setup.spec_dir)
        kc = d.client(ready=False)
        startup.welcomed(kc)
        first = kc.execute("held_value = 'held and run in order'")
        second = kc.execute("print(held_value)")
        info_id = kc.kernel_info()
        info = kc.get_shell_msg(timeout=h.REPLY_TIMEOUT_S)
        assert info["parent_header"]["msg_id"] == info_id
        assert info["content"]["implementation"] == "spark-k8s"
        # the requests are held by now (shell is handled in order): a FailedScheduling event
        # from now on is told to them
        pod = fake.wait_for(lambda: next((p["metadata"]["name"] for p in fake.objects("pods")), None), 60, "a pod")
        event = fake.wait_event(pod, "FailedScheduling")
        fake.wait_event(pod, "FailedScheduling", count=(event.get("series") or {}).get("count", 1) + 1)
    finally:
        fake.faults.clear_unschedulable()
    r1 = h.shell_reply(kc, first, timeout=120)
    r2 = h.shell_reply(kc, second, timeout=120)
    assert r1["content"]["status"] == r2["content"]["status"] == "ok"
    assert r2["content"]["execution_count"] == r1["content"]["execution_count"] + 1
    msgs = h.iopub_for(kc, first)
    assert "pod pending: 0/3 nodes are available: 3 Insufficient memory." in h.stream_text(msgs, "stderr")
    assert h.stream_text(h.iopub_for(kc, second)) == "held and run in order\n"
    info_id = kc.kernel_info()
    assert h.shell_reply(kc, info_id)["content"]["implementation"] == "ipython"


def test_kernel_that_cannot_start_in_the_pod(proto_setup, direct):
    spec = json.loads((proto_setup.spec_dir / "kernel.json").read_text())
    spec["metadata"]["spark_k8s"]["runtime_command"] = ["python3", "-m", "no_such_module_xyz", "-f",
                                                        "{connection_file}"]
    broken = proto_setup.base / "specs" / "broken"
    broken.mkdir(parents=True)
    (broken / "kernel.json").write_text(json.dumps(spec))
    d = direct(broken)
    kc = d.client(ready=False)
    startup.welcomed(kc)
    held = kc.execute("print('never runs')")
    try:
        reply = h.shell_reply(kc, held, timeout=120)
    except Exception:
        raise AssertionError("no reply; the launcher said: %s; pods: %s" % (
            d.stderr_text()[-3000:], [proto_setup.fake.describe_pod(n)[-2500:] for _, n in proto_setup.fake.pods]))
    assert reply["content"]["status"] == "error"
    assert "No module named no_such_module_xyz" in reply["content"]["evalue"]
    errors = h.of_type(h.iopub_for(kc, held), "error")
    assert len(errors) == 1 and "No module named no_such_module_xyz" in errors[0]["content"]["evalue"]
    later = kc.execute("print('never runs either')")
    reply = h.shell_reply(kc, later)
    assert reply["content"]["status"] == "error"
    assert "No module named no_such_module_xyz" in reply["content"]["evalue"]
    kc.shutdown()
    assert d.wait(h.EXIT_BOUND_S) == 0
    proto_setup.fake.wait_no_leftovers(timeout=60)
