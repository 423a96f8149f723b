"""test_notebooks.py — the example notebooks in notebooks/ run end to end through our
kernels with nbclient (as `jupyter nbconvert --execute` would): the first three on
each Spark line's baseline kernel; the Iceberg tour (04) on each line's gpu-iceberg kernel
installed for an Iceberg REST catalog on an S3-protocol store (tests/lakehouse) with RAPIDS
in explain-only mode, which also explains the GPU plan of an Iceberg scan; the RAPIDS tour
(05) on each line's gpu kernel in explain-only mode. (A kernel without its jar, or on a machine
without a GPU, saying so in its first cell: tests/spark/test_jars.py, tests/protocol.)"""

import nbformat
import psutil
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from lakehouse import cells
from lakehouse.fixtures import lakehouse_catalog, lakehouse_store  # noqa: F401
from support.kernels import CELL_S, START_S, install_kernelspec, wait_gone
from support.paths import LINES, ROOT

NOTEBOOKS = ROOT / "notebooks"
PLAIN = ["01-first-spark-query.ipynb", "02-dataframes-and-sql.ipynb",
         "03-pandas-api-on-spark.ipynb"]


def run_notebook(prefix, home, name, kernel, tmp_path, kernels=None, env=None):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    km = KernelManager(kernel_name=kernel, kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[str(kernels or prefix.kernels)]))
    client = NotebookClient(nb, km=km, kernel_name=kernel, timeout=int(CELL_S),
                            startup_timeout=int(START_S),
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env=home.env(**(env or {})))
    finally:
        # nbclient leaves a kernel manager it was given running: ours to shut down
        if km.has_kernel:
            procs = [psutil.Process(km.provisioner.process.pid)]
            procs += procs[0].children(recursive=True)
            km.shutdown_kernel(now=False)
            assert wait_gone(procs) == [], "the notebook's kernel left processes"
    return nb


def outputs(nb):
    """Every output's text (stream text, text/plain, error name and value)."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o["output_type"] == "stream":
                out.append(o["text"])
            elif o["output_type"] == "error":
                out.append(f"{o['ename']}: {o['evalue']}")
            else:
                out.append(o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


def test_the_examples_name_kernels_we_ship():
    names = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert names == sorted(PLAIN + ["04-iceberg.ipynb", "05-gpu.ipynb"]), names
    for n in names:
        spec = nbformat.read(NOTEBOOKS / n, as_version=4).metadata["kernelspec"]
        assert spec["name"].startswith("spark-"), (n, spec)
        assert spec["name"].split("-", 2)[2] in ("baseline", "iceberg", "gpu", "gpu-iceberg"), spec


@pytest.mark.parametrize("name", PLAIN)
def test_example_runs(prefix, home, line, name, tmp_path):
    nb = run_notebook(prefix, home, name, f"spark-{line}-baseline", tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == [], errors
    text = outputs(nb)
    if name.startswith("01"):
        assert "499999500000" in text, text
        assert f"Spark {LINES[line]}" in text, text  # the session's start, with the UI
    if name.startswith("02"):
        assert "53" in text, text


def no_errors(nb):
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == [], errors


def test_iceberg_tour_on_a_rest_catalog_and_s3(prefix, home, line, tmp_path, lakehouse_store,
                                              lakehouse_catalog):
    """04: a table written by four tasks, schema evolution, MERGE INTO, time travel, the GPU
    plan of its scan, DROP ... PURGE, on the REST catalog's S3 store."""
    name = f"tour-{line}-gpu-iceberg"
    install_kernelspec(prefix, home, "--spark", line, "--variant", "gpu-iceberg", "--name", name,
                         "--rapids-mode", "explainOnly", "--iceberg-type", "rest",
                         "--iceberg-uri", lakehouse_catalog.uri, "--s3-endpoint", lakehouse_store.endpoint,
                         "--s3-region", lakehouse_store.region, "--s3-path-style-access", "true")
    nb = run_notebook(prefix, home, "04-iceberg.ipynb", name, tmp_path, kernels=home.kernels,
                      env=lakehouse_store.env())
    no_errors(nb)
    text = outputs(nb)
    for want in (f"Iceberg catalog: iceberg (rest: {lakehouse_catalog.uri})",
                 "rows: 1000 · sum of ids: 499500", "rows with a score: 2",
                 "columns: ['id', 'kind', 'score']", "rows: 1005 · merged: 10",
                 "first snapshot: rows: 1000 · columns: ['id', 'kind']",
                 "*Exec <HashAggregateExec> will run on GPU",
                 "table exists: False"):
        assert want in text, (want, text)
    assert "runs RAPIDS in explain-only mode" in text  # the kernel's first-cell notice
    # RAPIDS' verdict on the Iceberg scan: on the GPU with RAPIDS 26.08.1 and Iceberg 1.11
    # (Spark 4.1), on the CPU with RAPIDS 25.04.0 and Iceberg 1.10 (Spark 3.5)
    assert cells.iceberg_scan_on_gpu(text) is (line != "3.5"), text
    assert [k for k in lakehouse_store.keys() if "/demo/" in k] == []  # purged


def test_gpu_tour_explains_without_a_gpu(prefix, home, line, tmp_path):
    """05 on a gpu kernel in explain-only mode: RAPIDS loaded, its plan, the query on the CPU."""
    name = f"tour-{line}-gpu"
    install_kernelspec(prefix, home, "--spark", line, "--variant", "gpu", "--name", name,
                         "--rapids-mode", "explainOnly")
    nb = run_notebook(prefix, home, "05-gpu.ipynb", name, tmp_path, kernels=home.kernels)
    no_errors(nb)
    text = outputs(nb)
    assert "RAPIDS Accelerator: on · mode: explainOnly" in text, text
    assert "*Exec <HashAggregateExec> will run on GPU" in text, text
    assert "*Exec <ShuffleExchangeExec> will run on GPU" in text, text
    assert "runs on the CPU" in text and "no GPU visible" not in text
