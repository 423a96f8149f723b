"""test_spark_ui_route.py — the server extension's choices without a server or Spark
(serverext/spark_k8s_ui; the browser test follows a real kernel's link): a
registration is served only when its connection file is one of the server's running
kernels' and its address is plain http://host:port; Spark's redirects to its own
address become the route's, others stay as Spark said."""
import json

import pytest

from support.serverext import FakeKernelManager
from spark_k8s_ui import SparkUIHandler, registration  # noqa: E402 (support.serverext's path)

KID = "8f983631-7240-41b1-b0e4-1f695a8c6950"


@pytest.fixture
def runtime(tmp_path):
    conn = tmp_path / "kernel-abc.json"
    conn.write_text("{}")
    return tmp_path, conn


def register(runtime, doc):
    d, _ = runtime
    (d / ("spark-k8s-ui-%s.json" % KID)).write_text(json.dumps(doc))


def test_a_running_kernels_registration_is_served(runtime):
    d, conn = runtime
    register(runtime, {"url": "http://127.0.0.1:4041", "connection_file": str(conn)})
    assert registration(FakeKernelManager(d, [str(conn)]), KID) == "http://127.0.0.1:4041"
    register(runtime, {"url": "http://10.1.2.3:4040", "connection_file": str(conn)})
    assert registration(FakeKernelManager(d, [str(conn)]), KID) == "http://10.1.2.3:4040"


@pytest.mark.parametrize("doc", [
    {"url": "http://127.0.0.1:4041", "connection_file": "/elsewhere/kernel-x.json"},  # not ours
    {"url": "http://127.0.0.1:4041"},
    {"url": "https://127.0.0.1:4041", "connection_file": None},
    {"url": "http://127.0.0.1:4041/evil?x", "connection_file": "CONN"},
    {"url": "http://user@127.0.0.1:4041", "connection_file": "CONN"},
    {"url": "file:///etc/passwd", "connection_file": "CONN"},
    {"url": 4040, "connection_file": "CONN"},
])
def test_anything_else_is_no_ones(runtime, doc):
    d, conn = runtime
    register(runtime, {k: (str(conn) if v == "CONN" else v) for k, v in doc.items()})
    assert registration(FakeKernelManager(d, [str(conn)]), KID) is None


def test_no_file_or_a_kernel_gone_is_no_ones(runtime):
    d, conn = runtime
    assert registration(FakeKernelManager(d, [str(conn)]), KID) is None
    register(runtime, {"url": "http://127.0.0.1:4041", "connection_file": str(conn)})
    assert registration(FakeKernelManager(d, []), KID) is None
    (d / ("spark-k8s-ui-%s.json" % KID)).write_text("{not json")
    assert registration(FakeKernelManager(d, [str(conn)]), KID) is None


def test_redirects_become_the_routes():
    base = "/user/a/spark-k8s/ui/" + KID
    up = "http://127.0.0.1:4041"
    assert SparkUIHandler.routed("http://127.0.0.1:4041/jobs/", up, base) == base + "/jobs/"
    assert SparkUIHandler.routed("http://127.0.0.1:4041/jobs/?id=1", up, base) == base + "/jobs/?id=1"
    assert SparkUIHandler.routed(base + "/stages/", up, base) == base + "/stages/"
    assert SparkUIHandler.routed("/executors/", up, base) == base + "/executors/"
    assert SparkUIHandler.routed("https://example.org/x", up, base) == "https://example.org/x"
