"""pytest fixtures for the Kubernetes tests: a fake API server per test (tests/fakekube).

    def test_x(fakekube):             # a started FakeKube with a temporary state dir
    def test_y(fakekube_factory):     # factory(**FakeKube kwargs, check_leftovers=False) -> started FakeKube

The FakeKube object (tests/fakekube/server.py; its README says what of the API it serves):
    .url .port .token .ca .kubeconfig .sa_dir .namespace .user .state_dir
    .write_kubeconfig(path, namespace=None, ca_data=False, auth="token"|"cert"|"none",
                      server=None, token=None)    .write_service_account_dir(dir)  .in_cluster_env()
    .client(token=None)               fakekube.client.KubeClient (http.client + ssl, for tests)
    .objects(kind=None, namespace=None)  .get(kind, name, ns=None)  .events(name=None, ns=None)
    .leftovers()                      client-made objects still there (not events, not the
                                      per-namespace kube-root-ca.crt ConfigMap and default SA)
    .requests                         [Request: method path query body code verb resource
                                      namespace name subresource user time fault], in order
    .created_bodies(kind=None)        every body POSTed for a create   .invalid_requests()
    .faults                           Faults (see fakekube/server.py): image_pull_failure, unschedulable,
                                      slow_start, evict, oom_kill, http_error, forbidden,
                                      quota_exceeded, conflict, invalid, internal_error,
                                      drop_watch, watch_gone, compact, clear
    .pods                             {(ns, name): PodWorker} (.pid .proc .log_path .exit_code
                                      .pod_ip .live_pids() .dir)  .pod_workers()  .pod_processes()
    .pod_log(name)  .describe_pod(name)  .add_namespace(ns)
    .wait_for(pred, timeout, what)  .wait_pod_phase(name, phases)  .wait_pod_ready(name)
    .wait_pod_log(name, text)  .wait_event(name, reason, count=1)  .wait_gone(kind, name)
    .wait_no_leftovers(timeout)       (every wait is woken by store changes, raises AssertionError)

Options for the server: @pytest.mark.fakekube(path=..., node_env={...}, namespace="spark",
entrypoints={...}, check_leftovers=True, ...) (FakeKube's keyword arguments).  The pod PATH
defaults to $SPARK_K8S_BUILD (the build dir holding spark-k8s), then $SPARK_K8S_PREFIX/bin, then
the standard directories.  With check_leftovers (or `fakekube.check_leftovers = True`) teardown
waits up to 30 s for client-made objects to go and fails if any is left.

Teardown fails the test when a pod's process outlived its Pod object, when (check_leftovers)
objects are left or pods still run, or when any process survives the server's stop; it kills
such processes and removes the state dir either way.  When the test itself failed, every pod's
phase, container states, events and log tail are printed (pytest shows them with the failure).
"""

import os
import tempfile

import pytest

import fakekube as fakekube_mod
from fakekube.teardown import Started as _Started, teardown as _teardown


def default_pod_path():
    dirs = []
    build = os.environ.get("SPARK_K8S_BUILD")
    if build:
        dirs.append(build)
    prefix = os.environ.get("SPARK_K8S_PREFIX")
    if prefix:
        dirs.append(os.path.join(prefix, "bin"))
    return ":".join(dirs)


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
