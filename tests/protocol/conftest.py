"""conftest.py — fixtures of the protocol tests: the kernelspec under test and shared kernels.

With SPARK_K8S_PREFIX set (make pytest) the installed spark-4.1-baseline kernelspec
is tested; otherwise a temporary JUPYTER_PATH holds a kernel.json running
build/spark-k8s (run `make build/spark-k8s` first). Each test module gets private
directories for the launchers' spark-k8s-* folders and jupyter_client's connection
files, and must leave both empty. The caller's SPARK_K8S_* settings and the
administrator's config file are kept away from the kernels under test.
"""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import protocol_helpers as h  # noqa: E402



@pytest.fixture(scope="module", autouse=True)
def proto_setup():
    """The kernelspec under test; JUPYTER_PATH and friends set for this module only."""
    s = h.Setup()
    keys = [*s.env(), *s.foreign_settings()]
    saved = {k: os.environ.get(k) for k in keys}
    for k in s.foreign_settings():
        del os.environ[k]
    os.environ.update(s.env())
    try:
        yield s
        leftovers = s.private_dirs()
        connection_files = sorted(p.name for p in s.jupyter_runtime.iterdir())
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        s.close()
    assert leftovers == [], f"launchers left private directories behind: {leftovers}"
    assert connection_files == [], f"connection files left behind: {connection_files}"


@pytest.fixture(scope="module")
def kernel(proto_setup):
    """One kernel (km, kc) shared by the tests of a module that do not end it."""
    km, kc = h.start_kernel(proto_setup)
    # A kernelspec's startup may print a note with the first cell (no pyspark here):
    # let it go by before the tests look at output.
    h.execute(kc, "pass")
    h.flush_iopub(kc)
    procs = h.KernelProcesses(h.launcher_pid(km))
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel()
    h.assert_all_gone(procs)


@pytest.fixture
def kc(kernel):
    """The shared kernel's client, with nothing left over from the test before."""
    _, client = kernel
    h.flush_iopub(client, quiet=0.05)
    return client
