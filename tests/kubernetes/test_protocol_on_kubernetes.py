"""test_protocol_on_kubernetes.py — the protocol message tests and Debian's
jupyter_kernel_test suite of tests/protocol, unchanged, on the kubernetes runtime.

The test functions of tests/protocol/test_protocol_messages.py are copied into this
module (copies, so a mark added here never reaches the originals) and the
KernelTests subclass of tests/protocol/test_kernel_test_suite.py is subclassed; what
they assert is theirs. Only the fixtures differ: `proto_setup` (the name the suite's
class asks for) installs a `runtime: kubernetes` spark-4.1-baseline kernelspec and
points KUBECONFIG at one fake API server (fakekube.py) that serves the whole module,
and `kernel`/`kc` start the shared kernel there, so its driver runs in a (fake) pod
through the shim. A kernel's processes are the launcher and everything in its pod's
mount namespace (the fake's PodWorker.live_pids()), not a local runtime child.

At the end of the module no Pod, Secret, Service or ConfigMap may be left in the
fake, no process of a launcher or a pod may live, and the private directories
(connection files, the launchers' runtime dirs) must be empty. The interrupt of a
running cell in the pod is test_runtime_kube.py's test_interrupt_reaches_the_kernel_in_the_pod.

The cluster is set up as the admin guide says (kubecluster.py: `spark-k8s rbac` applied with
kubectl, the launcher with the spark-k8s account's token) and runs the matrix's images
(fakeimages.py): the kernel in the pod is the Jupyter image's Python, ipykernel and pyspark.

Environment: SPARK_K8S_PREFIX or SPARK_K8S_BUILD, as k8s_schema.SPARK_K8S.
"""
import sys
import types
from pathlib import Path

import pytest

PROTOCOL_DIR = Path(__file__).resolve().parents[1] / "protocol"
if str(PROTOCOL_DIR) not in sys.path:
    sys.path.insert(0, str(PROTOCOL_DIR))

import kubeprotocol  # noqa: E402
import protocol_helpers as h  # noqa: E402
import test_kernel_test_suite as suite  # noqa: E402
import test_protocol_messages as messages  # noqa: E402


# ---- the tests, reused ---------------------------------------------------------------------


def reused(func, *marks):
    """A copy of test function FUNC (same code, globals and marks) for this module,
    with MARKS added to the copy only."""
    copy = types.FunctionType(func.__code__, func.__globals__, func.__name__,
                              func.__defaults__, func.__closure__)
    copy.__dict__.update(func.__dict__)
    copy.__dict__["pytestmark"] = list(getattr(func, "pytestmark", []))
    copy.__kwdefaults__ = func.__kwdefaults__
    copy.__doc__ = func.__doc__
    copy.__module__ = __name__
    copy.__qualname__ = func.__qualname__
    for mark in marks:
        copy = mark(copy)
    return copy


# Tests that expose a bug of the kubernetes runtime: name -> xfail mark (none known).
KNOWN_BUGS = {}

# In their module's order, as they run on the local runtime.
MESSAGE_TESTS = [name for name, obj in vars(messages).items()
                 if name.startswith("test_") and isinstance(obj, types.FunctionType)]
for _name in MESSAGE_TESTS:
    globals()[_name] = reused(getattr(messages, _name), *KNOWN_BUGS.get(_name, ()))
del _name


class SparkK8sKernelTestsOnKubernetes(suite.SparkK8sKernelTests):
    """Debian's jupyter_kernel_test suite with tests/protocol's samples, on a kernel in a pod."""

    @classmethod
    def setUpClass(cls):
        fake = cls.fake
        before = {w.uid for w in fake.pod_workers()}
        super().setUpClass()  # ends with a cell, run by the kernel in the pod
        cls.procs = PodKernel(fake, h.launcher_pid(cls.km), before)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.procs.assert_all_gone()


def test_every_message_test_is_reused():
    """A test added to test_protocol_messages.py runs here too (and this list is not empty)."""
    here = {name for name, obj in globals().items()
            if name.startswith("test_") and isinstance(obj, types.FunctionType)}
    assert len(MESSAGE_TESTS) >= 15
    assert set(MESSAGE_TESTS) <= here
    for name in MESSAGE_TESTS:
        assert globals()[name] is not getattr(messages, name)
        assert globals()[name].__code__ is getattr(messages, name).__code__


# ---- processes of a kernel in a pod --------------------------------------------------------


class PodKernel:
    """The processes of one kernel on the kubernetes runtime: its launcher (and any
    child of it) and every process of the pod it started, seen while it runs."""

    def __init__(self, fake, launcher_pid, workers_before):
        self.fake = fake
        self.launcher = h.Proc(launcher_pid)
        self.local = [self.launcher, *(h.Proc(p) for p in h.descendants(launcher_pid)
                                       if h.proc_stat(p))]
        new = [w for w in fake.pod_workers() if w.uid not in workers_before]
        assert len(new) == 1, f"expected one new pod for launcher {launcher_pid}: {new}"
        self.worker = new[0]
        self.pod_name = self.worker.name
        self.in_pod = [h.Proc(p) for p in self.worker.live_pids() if h.proc_stat(p)]
        assert self.in_pod, f"pod {self.pod_name} of launcher {launcher_pid} runs no process"

    def living(self):
        return [p for p in self.local + self.in_pod if p.alive()] + \
            [f"pod {self.pod_name}: pid {p}" for p in self.worker.live_pids()]

    def assert_all_gone(self, timeout=30):
        """The launcher and the pod's processes end, and the Pod object is deleted
        (its Secret, Service and ConfigMap go by garbage collection: checked at the
        module's end)."""
        h.wait_until(lambda: not self.living(), h.EXIT_BOUND_S)
        assert self.living() == [], f"processes left behind: {self.living()}"
        self.fake.wait_gone("pods", self.pod_name, timeout=timeout)


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proto_setup():
    """The module's fake API server and kubernetes kernelspec; JUPYTER_PATH, KUBECONFIG
    and friends set for this module only. (Named as tests/protocol's fixture, which
    the reused KernelTests class asks for.)"""
    setup = kubeprotocol.module_setup()
    s = next(setup)
    SparkK8sKernelTestsOnKubernetes.fake = s.fake
    try:
        yield s
    finally:
        del SparkK8sKernelTestsOnKubernetes.fake
        next(setup, None)  # kubeprotocol's end of the module: its checks raise here


@pytest.fixture(scope="module")
def kernel(proto_setup):
    """One kernel (km, kc) in a pod, shared by the message tests."""
    before = {w.uid for w in proto_setup.fake.pod_workers()}
    km, kc = h.start_kernel(proto_setup)
    try:
        # The launcher answers kernel_info itself while the pod starts; the first cell
        # waits for the kernel in the pod (and lets the kernelspec's start-up note, no
        # pyspark here, go by).
        h.execute(kc, "pass")
        h.flush_iopub(kc)
        procs = PodKernel(proto_setup.fake, h.launcher_pid(km), before)
    except BaseException:
        kc.stop_channels()
        km.shutdown_kernel()  # not now=True: a SIGKILLed launcher leaves its pod to the watchdog
        raise
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel()
    procs.assert_all_gone()


@pytest.fixture
def kc(kernel):
    """The shared kernel's client, with nothing left over from the test before."""
    _, client = kernel
    h.flush_iopub(client, quiet=0.05)
    return client
