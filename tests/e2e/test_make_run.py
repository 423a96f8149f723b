"""test_make_run.py — `make run` as a user runs it: it prints a URL with a token, that
URL opens JupyterLab 4, the server offers exactly the eight kernelspecs (with their
display names and logos, the newest line's baseline as the default), and stopping it
frees the port and leaves no process.

The target runs unchanged except for PORT (a free one), RUN_PREFIX (a temporary
install, so a developer's own `make run` in build/run is left alone) and NOTEBOOK_DIR;
Jupyter's and IPython's own dirs are private to the test.
"""
import urllib.parse

from support import jupyterlab as h


def test_make_run_prints_a_url_that_serves_jupyterlab_with_the_kernels():
    run = h.MakeRun()
    try:
        # a first-time user is told how to run the kernels on Kubernetes instead
        assert "SPARK_K8S_RUNTIME=kubernetes make run" in run.out.text(), run.out.text()
        status, final, page = h.browse(run.url)
        assert status == 200
        assert urllib.parse.urlparse(final).path == "/lab", final
        assert "<title>JupyterLab</title>" in page, page[:500]

        status, body = run.api.json("GET", "/api/kernelspecs")
        assert status == 200
        assert sorted(body["kernelspecs"]) == sorted(h.KERNELSPECS), sorted(body["kernelspecs"])
        newest = sorted(n for n in h.KERNELSPECS if n.endswith("-baseline"))[-1]
        assert body["default"] == newest, body["default"]
        for name, s in body["kernelspecs"].items():
            assert s["spec"]["display_name"] == h.KERNELSPECS[name]
            assert s["spec"]["argv"][0] == str(run.run_prefix / "bin" / "spark-k8s")
            logo = s["resources"]["logo-svg"]
            status, ctype, data = run.api.request("GET", logo)
            assert status == 200 and ctype.startswith("image/svg"), (logo, status, ctype)
    finally:
        stopped, left, free = run.stop()
    assert stopped, "`make run` did not stop on SIGTERM"
    assert left == [], f"processes left after `make run` stopped: {left}"
    assert free, f"port {run.port} still taken"
