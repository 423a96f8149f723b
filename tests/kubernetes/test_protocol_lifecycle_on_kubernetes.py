"""test_protocol_lifecycle_on_kubernetes.py — tests/protocol/test_protocol_lifecycle.py on the
kubernetes runtime: interrupts, restart and every way a kernel can end, with the kernel in a pod.

The module's own test functions run here unchanged (kubeprotocol.reused: the same code with
kubeprotocol as their helpers, whose kernel processes are the launcher, its janitor and the
kernel pod's processes).  Two of them are about the local runtime alone and have kubernetes
counterparts here: the ipc sockets of test_shutdown_leaves_nothing (here: the pod and its
objects are deleted, nothing runs), and the runtime command with a grandchild of
test_sigkill_of_the_launcher_ends_the_runtimes_process_group (a pod's PID namespace ends with
its first process; here: the killed launcher's janitor deletes the pod)."""
import os
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

import kubeprotocol as h  # noqa: E402
import test_protocol_lifecycle as lifecycle  # noqa: E402

REUSED = ["test_interrupt_by_message", "test_interrupt_request_gets_a_reply",
          "test_sigint_to_the_launchers_process_group", "test_restart",
          "test_sigkill_of_the_launcher_ends_the_runtime", "test_sigkill_of_the_runtime_ends_the_launcher",
          "test_runtime_death_is_told_in_the_running_cell", "test_sigterm_stops_the_kernel"]
for _name in REUSED:
    globals()[_name] = h.reused(getattr(lifecycle, _name), __name__)
del _name


@pytest.fixture(scope="module")
def proto_setup():
    yield from h.module_setup()


@pytest.fixture(scope="module")
def kernel(proto_setup):
    km, kc = h.start_kernel(proto_setup)
    h.execute(kc, "pass")
    h.flush_iopub(kc)
    procs = h.KernelProcesses(h.launcher_pid(km))
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel()
    h.assert_all_gone(procs)


@pytest.fixture
def kc(kernel):
    _, client = kernel
    h.flush_iopub(client, quiet=0.05)
    return client


@pytest.fixture
def direct(proto_setup):
    """As test_protocol_lifecycle's: a launcher started with subprocess, a client on it."""
    launchers = []

    def start(spec_dir=None, extra_args=()):
        d = h.DirectLauncher(proto_setup, spec_dir or proto_setup.spec_dir, extra_args)
        launchers.append(d)
        kc = d.client()
        lifecycle.assert_still_works(kc)
        return d, kc

    yield start
    for d in launchers:
        d.close()


def test_every_lifecycle_test_runs_here_or_has_a_counterpart():
    names = {n for n in vars(lifecycle) if n.startswith("test_")}
    counterparts = {"test_shutdown_leaves_nothing": "test_shutdown_deletes_the_pod",
                    "test_sigkill_of_the_launcher_ends_the_runtimes_process_group":
                        "test_sigkill_of_the_launcher_deletes_the_pod_at_once"}
    assert names == set(REUSED) | set(counterparts)
    assert all(n in globals() for n in counterparts.values())


def test_shutdown_deletes_the_pod(proto_setup):
    km, kc = h.start_kernel(proto_setup)
    try:
        lifecycle.assert_still_works(kc)
        procs = h.KernelProcesses(h.launcher_pid(km))
        name = procs.worker.name
        launcher = km.provisioner.process
    finally:
        kc.stop_channels()
        km.shutdown_kernel()
    assert launcher.returncode == 0, "the launcher ended by itself after shutdown_request"
    h.assert_all_gone(procs)
    for kind in h.KERNEL_OBJECT_KINDS:
        proto_setup.fake.wait_for(lambda: proto_setup.fake.get(kind, name if kind != "secrets" else name + "-keys")
                                  is None, 30, "%s of %s gone" % (kind, name))


def test_sigkill_of_the_launcher_deletes_the_pod_at_once(proto_setup, direct):
    """No watchdog wait (an hour here): the janitor deletes the pod."""
    os.environ["SPARK_K8S_WATCHDOG"] = "3600"
    try:
        d, kc = direct()
    finally:
        del os.environ["SPARK_K8S_WATCHDOG"]
    procs = d.processes()
    assert procs.janitor
    os.kill(d.pid, signal.SIGKILL)
    assert d.wait() == -signal.SIGKILL
    h.assert_all_gone(procs)
