"""support.protocol_fixtures — the protocol suites' fixtures, parametrised by runtime.

tests/protocol/conftest.py imports them and parametrises `runtime` (module scope) for
every test that uses it: each protocol module runs once per runtime of support/runtimes.py,
the kubernetes run marked `kubernetes` (deselected with -m "not kubernetes"). A test or
module marked @pytest.mark.runtimes("local") runs on those runtimes only.

    runtime      the runtime's name ("local", "kubernetes")
    proto_setup  its Setup for the module (support/runtimes.py), JUPYTER_PATH and friends
                 set in os.environ for the module only; at the end, nothing may be left
    kernel       one kernel (km, kc) shared by the tests of a module that do not end it
    kc           the shared kernel's client, with nothing left over from the test before
"""
import pytest

from support import protocol as h
from support.runtimes import RUNTIMES, module_setup


def runtime_params(metafunc):
    """The `runtime` parameters of the test METAFUNC collects (its runtimes marker's, or all)."""
    marker = metafunc.definition.get_closest_marker("runtimes")
    names = marker.args if marker else RUNTIMES
    unknown = set(names) - set(RUNTIMES)
    if unknown:
        raise ValueError(f"{metafunc.definition.nodeid}: no runtime {sorted(unknown)}")
    return [pytest.param(n, marks=[pytest.mark.kubernetes] if n == "kubernetes" else [], id=n)
            for n in names]


@pytest.fixture(scope="module")
def runtime(request):
    return request.param


@pytest.fixture(scope="module")
def proto_setup(runtime):
    yield from module_setup(runtime)


@pytest.fixture(scope="module")
def kernel(proto_setup):
    km, kc = h.start_kernel(proto_setup)
    try:
        # A kernelspec's startup may print a note with the first cell (no pyspark here):
        # let it go by before the tests look at output. On kubernetes the launcher answers
        # kernel_info itself while the pod starts; this cell waits for the kernel in the pod.
        h.execute(kc, "pass")
        h.flush_iopub(kc)
        kernel_procs = proto_setup.processes(h.launcher_pid(km))
    except BaseException:
        kc.stop_channels()
        km.shutdown_kernel()  # not now=True: a SIGKILLed launcher leaves its pod to the watchdog
        raise
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel()
    kernel_procs.assert_all_gone()


@pytest.fixture
def kc(kernel):
    _, client = kernel
    h.flush_iopub(client, quiet=0.05)
    return client
