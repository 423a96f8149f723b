"""pytest fixtures for the Kubernetes tests: a fake API server per test (see fakekube.py).

    def test_x(fakekube):            # a started FakeKube in a temporary state dir
        fakekube.kubeconfig, .url, .token, .ca, .sa_dir, .namespace, .port
        fakekube.objects("pods", "default"); fakekube.requests; fakekube.faults.forbidden(...)
        fakekube.pods                # {(ns, name): PodWorker}: .pid, .proc, .log_path, .live_pids()
        fakekube.client()            # a fakekube_client.KubeClient with the token and CA

Options for the server: @pytest.mark.fakekube(path=..., node_env={...}, namespace="spark",
entrypoints={...}, ...) (FakeKube's keyword arguments).  The pod PATH defaults to
$SPARK_K8S_BUILD (the build dir holding spark-k8s), then $SPARK_K8S_PREFIX/bin, then the
standard directories.  Set `fakekube.check_leftovers = True` (or use the marker argument
check_leftovers=True) to make teardown fail when a client-made object is left.

Teardown fails the test when a pod's process outlived its Pod object, when (strict) objects are
left, or when any process survives the server's stop; it kills such processes and removes the
state dir either way.
"""

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fakekube as fakekube_mod  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "fakekube(**options): keyword arguments for the fake API server")


def default_pod_path():
    dirs = []
    build = os.environ.get("SPARK_K8S_BUILD")
    if build:
        dirs.append(build)
    prefix = os.environ.get("SPARK_K8S_PREFIX")
    if prefix:
        dirs.append(os.path.join(prefix, "bin"))
    return ":".join(dirs)


class _Started:
    """What the factory tracks to tear down."""

    def __init__(self, fake, state_dir):
        self.fake, self.state_dir = fake, state_dir


def _teardown(started):
    fake = started.fake
    problems = []
    try:
        if fake.check_leftovers:
            try:
                fake.wait_no_leftovers(timeout=30)
            except AssertionError as e:
                problems.append(str(e))
        for (ns, name), worker in fake.pods.items():
            pod = fake.store.get("pods", ns, name)
            if pod is None or pod["metadata"]["uid"] != worker.uid:
                worker.join(fake.max_grace_seconds + 10)  # a kill may still be under way
            alive = worker.live_pids()
            if alive and (pod is None or pod["metadata"]["uid"] != worker.uid):
                problems.append("pod %s/%s was deleted but its processes %s are alive" % (ns, name, alive))
            elif alive and fake.check_leftovers:
                problems.append("pod %s/%s still runs processes %s" % (ns, name, alive))
    finally:
        fake.stop()
        survivors = fake.pod_processes()
        if survivors:
            fake.kill_pod_processes()
            problems.append("pod processes survived the server's stop: %s" % survivors)
        shutil.rmtree(started.state_dir, ignore_errors=True)
    if problems:
        raise AssertionError("fakekube teardown: " + "; ".join(problems))


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.fakekube_failed = report.failed


def _report_pods(fake):
    """On a failed test: every pod's state, events and log tail, on stdout (shown by pytest)."""
    for (ns, name) in sorted(fake.pods):
        print("fakekube:", fake.describe_pod(name, ns))


@pytest.fixture
def fakekube_factory(request):
    """Start fake API servers: factory(**FakeKube kwargs) -> started FakeKube (torn down after)."""
    started = []

    def factory(**options):
        check = options.pop("check_leftovers", False)
        state_dir = tempfile.mkdtemp(prefix="fakekube-")
        options.setdefault("path", default_pod_path())
        fake = fakekube_mod.FakeKube(state_dir, **options)
        started.append(_Started(fake, state_dir))
        fake.start()
        fake.check_leftovers = check
        return fake

    yield factory
    if getattr(request.node, "fakekube_failed", False):
        for s in started:
            _report_pods(s.fake)
    errors = []
    for s in reversed(started):
        try:
            _teardown(s)
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("; ".join(errors), pytrace=False)


@pytest.fixture
def fakekube(request, fakekube_factory):
    """A started fake API server for this test (options from @pytest.mark.fakekube(...))."""
    marker = request.node.get_closest_marker("fakekube")
    options = dict(marker.kwargs) if marker else {}
    return fakekube_factory(**options)
