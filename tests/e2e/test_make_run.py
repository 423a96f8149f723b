"""test_make_run.py — `make run` as a user runs it: it prints a URL with a token, that URL
opens Jupyter, the server offers the eight kernelspecs, and stopping it frees the port.

The target runs unchanged except for PORT (a free one) and RUN_PREFIX (a temporary
install, so a developer's own `make run` in build/run is left alone); Jupyter's and
IPython's own dirs are private to the test.
"""
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e_helpers as h  # noqa: E402


def test_make_run_prints_a_url_that_serves_the_kernels():
    home = h.JupyterHome()
    run_prefix = home.base / "run"
    port = h.free_port()
    proc, out = h.start_group(["make", "--no-print-directory", "run", f"PORT={port}",
                               f"RUN_PREFIX={run_prefix}", f"NOTEBOOK_DIR={home.base / 'nb'}"],
                              cwd=h.ROOT, env=home.env())
    try:
        m = out.wait_for(h.URL_RE, h.MAKE_RUN_URL_S)
        assert m, f"`make run` printed no http://127.0.0.1:PORT/?token=... URL:\n{out.text()}"
        url, token = m.group(0), m.group(2)
        assert int(m.group(1)) == port, out.text()

        status, final, page = h.browse(url)
        assert status == 200
        assert urllib.parse.urlparse(final).path == "/tree", (final, out.text())
        assert "<title>Home Page - Select or create a notebook</title>" in page

        api = h.Api(f"http://127.0.0.1:{port}", token)
        status, body = api.json("GET", "/api/kernelspecs")
        assert status == 200
        ours = {n: s for n, s in body["kernelspecs"].items() if n.startswith("spark-")}
        assert sorted(ours) == sorted(h.KERNELSPECS)
        for name, s in ours.items():
            assert s["spec"]["display_name"] == h.KERNELSPECS[name]
            assert s["spec"]["argv"][0] == str(run_prefix / "bin" / "spark-k8s")
    finally:
        stopped = h.stop_group(proc)
        out.join(h.EXIT_S)
        left = h.describe(home.processes())
        home.close()
    assert stopped, f"`make run` did not stop on SIGTERM:\n{out.text()}"
    assert left == [], f"processes left after `make run` stopped: {left}"
    assert h.wait_until(lambda: h.port_is_free(port), h.EXIT_S), f"port {port} still taken"
