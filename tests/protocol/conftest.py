"""conftest.py — the protocol suites run once per runtime (support/runtimes.py: local, and
kubernetes against the fake API server), through the fixtures of
support/protocol_fixtures.py. `make pytest-debian` runs them with Debian's jupyter_client
7.4 on the local runtime only (-m "not kubernetes")."""
from support.protocol_fixtures import kc, kernel, proto_setup, runtime, runtime_params  # noqa: F401


def pytest_generate_tests(metafunc):
    if "runtime" in metafunc.fixturenames:
        metafunc.parametrize("runtime", runtime_params(metafunc), indirect=True, scope="module")
