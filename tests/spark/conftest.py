"""conftest.py — fixtures of the real-Spark tests: the installed prefix (kernel
environments with real PySpark), private dirs per module (checked empty at the end),
and one kernel per Spark line shared by the tests of a module that do not end it."""
import pytest

from support.homes import Home
from support.kernels import started
from support.paths import LINES
from support.prefix import Prefix


@pytest.fixture(scope="session")
def prefix():
    p = Prefix()
    yield p
    p.close()


@pytest.fixture(scope="module")
def home():
    hm = Home()
    yield hm
    left = hm.leftovers()
    hm.close()
    assert left == [], f"launchers left private folders or connection files: {left}"


@pytest.fixture(scope="module", params=sorted(LINES))
def line(request):
    return request.param


@pytest.fixture(scope="module")
def kernel(prefix, home, line):
    """spark-LINE-baseline as installed, started once per module and line."""
    yield from started(prefix, home, line)
