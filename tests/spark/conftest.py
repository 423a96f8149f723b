"""conftest.py — fixtures of the real-Spark tests: the installed prefix (kernel
environments with real PySpark), private dirs per module (checked empty at the end),
and one kernel per Spark line shared by the tests of a module that do not end it."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import spark_helpers as h  # noqa: E402


@pytest.fixture(scope="session")
def prefix():
    p = h.Prefix()
    yield p
    p.close()


@pytest.fixture(scope="module")
def home():
    hm = h.Home()
    yield hm
    left = hm.leftovers()
    hm.close()
    assert left == [], f"launchers left private folders or connection files: {left}"


@pytest.fixture(scope="module", params=sorted(h.LINES))
def line(request):
    return request.param


@pytest.fixture(scope="module")
def kernel(prefix, home, line):
    """spark-LINE-baseline as installed, started once per module and line."""
    k = h.Kernel(f"spark-{line}-baseline", prefix.kernels, home)
    procs = None
    try:
        yield k
        procs = k.processes()
    finally:
        k.close()
    if procs:
        alive = h.wait_gone(procs)
        assert alive == [], f"left after shutdown: {h.describe(alive)}"
