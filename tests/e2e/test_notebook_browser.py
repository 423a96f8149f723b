"""test_notebook_browser.py — a spark-4.1-baseline notebook run in headless Chromium.

The notebook server is started as `make run` starts it (/usr/bin/python3 -m notebook
--no-browser --allow-root --ip=0.0.0.0 --port=PORT --port-retries=0, JUPYTER_PATH at the
install), on a free port, in a temporary notebook directory, with a known token
(JUPYTER_TOKEN). The tests check the kernelspecs the server offers, then open a notebook
in Chromium, run all its cells through the launcher and read the outputs off the page;
after the kernel is shut down through the REST API no process, connection file or
spark-k8s-* directory of it may remain.
"""
import os
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e_helpers as h  # noqa: E402

KERNEL = "spark-4.1-baseline"
CELLS = [
    'import os, sys; print("python", sys.version_info[:2])',
    'print(open(os.environ["SPARK_CONF_DIR"] + "/spark-defaults.conf").read())',
    "1 + 41",
]


@pytest.fixture(scope="module")
def prefix():
    p = h.Prefix()
    yield p
    p.close()


@pytest.fixture(scope="module")
def server(prefix):
    """The notebook server, as `make run` runs it: (proc, output, api, home)."""
    home = h.JupyterHome()
    port = h.free_port()
    token = secrets.token_hex(24)
    argv = [h.PY, "-m", "notebook", "--no-browser", "--allow-root", "--ip=0.0.0.0",
            f"--port={port}", "--port-retries=0"]
    env = home.env(JUPYTER_PATH=str(prefix.jupyter_path), JUPYTER_TOKEN=token)
    proc, out = h.start_group(argv, cwd=home.notebooks, env=env)
    api = h.Api(f"http://127.0.0.1:{port}", token)
    try:
        up = h.wait_until(lambda: proc.poll() is not None or api.answers(), h.SERVER_START_S)
        assert up and proc.poll() is None, (
            f"notebook server did not answer on port {port}:\n{out.text()}")
        yield proc, out, api, home
    finally:
        stopped = h.stop_group(proc)
        out.join(h.EXIT_S)
        left = h.describe(home.processes())
        home.close()
    assert stopped, f"notebook server ignored SIGTERM:\n{out.text()}"
    assert left == [], f"processes of this test left after the server stopped: {left}"
    assert h.port_is_free(port), f"port {port} still taken after the server stopped"


@pytest.fixture
def chromium_ready():
    why = h.browser_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)


def test_kernelspecs_api_lists_the_eight_with_logos(server, prefix):
    _, _, api, _ = server
    status, body = api.json("GET", "/api/kernelspecs")
    assert status == 200
    specs = body["kernelspecs"]
    ours = {name: s for name, s in specs.items() if name.startswith("spark-")}
    assert sorted(ours) == sorted(h.KERNELSPECS), f"kernelspecs offered: {sorted(specs)}"
    for name, s in ours.items():
        spec = s["spec"]
        assert spec["display_name"] == h.KERNELSPECS[name], name
        assert spec["language"] == "python", name
        assert spec["argv"][:2] == [str(prefix.binary), "kernel"], name
        for size in (32, 64):
            logo = s["resources"].get(f"logo-{size}x{size}")
            assert logo == f"/kernelspecs/{name}/logo-{size}x{size}.png", (name, s["resources"])
            status, ctype, data = api.request("GET", logo)
            assert status == 200 and ctype.startswith("image/png"), (logo, status, ctype)
            assert h.png_size(data) == (size, size), f"{logo} is not a {size}x{size} PNG"


def _notebook():
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": KERNEL, "display_name": h.KERNELSPECS[KERNEL],
                           "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [{"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "source": src,
                   "outputs": [], "execution_count": None} for i, src in enumerate(CELLS)],
    }


KERNEL_READY_JS = """
var nb = window.Jupyter && Jupyter.notebook;
return !!(nb && nb._fully_loaded && nb.kernel && nb.kernel.info_reply &&
          nb.kernel.info_reply.protocol_version);
"""
CELLS_DONE_JS = """
var cells = Jupyter.notebook.get_cells();
return cells.length > 0 &&
       cells.every(function (c) { return typeof c.input_prompt_number === 'number'; }) &&
       !Jupyter.notebook.kernel_busy;
"""
OUTPUTS_JS = """
return Jupyter.notebook.get_cells().map(function (c) {
  var el = c.element[0];
  return {
    prompt: c.input_prompt_number,
    text: Array.prototype.map.call(el.querySelectorAll('.output_subarea'),
                                   function (o) { return o.innerText; }).join('\\n'),
    result: Array.prototype.map.call(el.querySelectorAll('.output_result'),
                                     function (o) { return o.innerText; }).join('\\n'),
    errors: el.querySelectorAll('.output_error').length
  };
});
"""


def _kernel_processes(server_proc, prefix):
    """The launcher (a child of the server) and everything under it (runtime, janitor)."""
    launchers = []
    for p in psutil.Process(server_proc.pid).children():
        try:
            if p.cmdline()[:2] == [str(prefix.binary), "kernel"]:
                launchers.append(p)
        except psutil.Error:
            pass
    assert len(launchers) == 1, f"launchers under the server: {h.describe(launchers)}"
    return launchers[0], launchers[0].children(recursive=True)


def test_notebook_runs_in_chromium(server, prefix, chromium_ready, tmp_path):
    proc, out, api, home = server
    status, _ = api.json("PUT", "/api/contents/e2e.ipynb",
                         {"type": "notebook", "format": "json", "content": _notebook()})
    assert status in (200, 201)

    profile = tempfile.mkdtemp(prefix="sk8s-e2e-chromium-")  # fresh, removed below
    try:
        driver = h.start_chromium(profile)
    except BaseException:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    browser = h.chromium_processes(driver)
    try:
        driver.get(f"{api.base_url}/notebooks/e2e.ipynb?token={api.token}")
        assert h.wait_until(lambda: driver.execute_script(KERNEL_READY_JS), h.CELLS_DONE_S), (
            f"the notebook page never had a ready kernel:\n{out.text()}")
        assert driver.execute_script("return Jupyter.notebook.kernel.name") == KERNEL
        indicator = driver.execute_script(
            "return document.querySelector('#kernel_indicator .kernel_indicator_name')"
            ".innerText")
        assert indicator == h.KERNELSPECS[KERNEL]
        logo = driver.execute_script(
            "var i = document.querySelector('img.current_kernel_logo');"
            "return [i.src, i.complete && i.naturalWidth, i.style.display];")
        assert logo[0].endswith(f"/kernelspecs/{KERNEL}/logo-64x64.png") and logo[1] == 64, logo

        driver.execute_script("Jupyter.notebook.execute_all_cells();")
        done = h.wait_until(lambda: driver.execute_script(CELLS_DONE_JS), h.CELLS_DONE_S)
        outputs = driver.execute_script(OUTPUTS_JS)
        assert done, f"cells did not finish: {outputs}\n{out.text()}"
        assert [c["prompt"] for c in outputs] == [1, 2, 3], outputs
        assert [c["errors"] for c in outputs] == [0, 0, 0], outputs
        assert "python (3, 11)" in outputs[0]["text"], outputs[0]
        assert re.search(r"^spark\.master\s+local\[\*\]\s*$", outputs[1]["text"], re.M), (
            outputs[1])
        assert outputs[2]["result"].strip() == "42", outputs[2]

        # The notebook ran through the launcher: server → spark-k8s kernel → ipykernel.
        launcher, below = _kernel_processes(proc, prefix)
        assert any("ipykernel_launcher" in " ".join(p.cmdline()) for p in below), (
            h.describe(below))
        kernel_procs = [launcher, *below]
        assert len(home.private_dirs()) == 1, home.private_dirs()
        assert len(home.connection_files()) == 1, home.connection_files()

        shot = tmp_path / "notebook.png"
        assert driver.save_screenshot(str(shot))
        assert h.png_size(shot.read_bytes()) is not None
        if os.environ.get("E2E_SCREENSHOT"):
            shutil.copyfile(shot, os.environ["E2E_SCREENSHOT"])
    finally:
        browser = browser + [p for p in h.chromium_processes(driver) + h.processes_naming(profile)
                             if p not in browser]
        driver.quit()
        gone = h.wait_until(lambda: not h.living(browser) and not h.processes_naming(profile),
                            h.EXIT_S)
        browser += [p for p in h.processes_naming(profile) if p not in browser]
        for p in h.living(browser):
            p.kill()
        shutil.rmtree(profile, ignore_errors=True)
    assert gone, f"Chromium left processes: {h.describe(h.living(browser))}"

    # Shut the kernel down as a client of the REST API would.
    status, kernels = api.json("GET", "/api/kernels")
    assert [k["name"] for k in kernels] == [KERNEL], kernels
    status, _ = api.json("DELETE", f"/api/kernels/{kernels[0]['id']}")
    assert status == 204
    h.wait_until(lambda: not h.living(kernel_procs) and not home.private_dirs()
                 and not home.connection_files(), h.EXIT_S)
    assert h.describe(h.living(kernel_procs)) == []
    assert home.private_dirs() == [], "the launcher left its spark-k8s-* directory"
    assert home.connection_files() == [], "connection files left behind"
    assert h.describe(home.processes(exclude={proc.pid})) == []
    assert api.json("GET", "/api/kernels")[1] == []
