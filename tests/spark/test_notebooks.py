"""test_notebooks.py — the example notebooks in notebooks/ run end to end through our
kernels with nbclient (as `jupyter nbconvert --execute` would): the first three on
each Spark line's baseline kernel, the GPU/Iceberg tour on a gpu-iceberg kernel
whose environment has neither jar (the installed ones have them: a view of one without),
on a machine without a GPU, which must say so and still run."""
import os
import shutil
from pathlib import Path

import nbformat
import psutil
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

import spark_helpers as h

NOTEBOOKS = h.ROOT / "notebooks"
PLAIN = ["01-first-spark-query.ipynb", "02-dataframes-and-sql.ipynb",
         "03-pandas-api-on-spark.ipynb"]


def run_notebook(prefix, home, name, kernel, tmp_path, kernels=None):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    km = KernelManager(kernel_name=kernel, kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[str(kernels or prefix.kernels)]))
    client = NotebookClient(nb, km=km, kernel_name=kernel, timeout=int(h.CELL_S),
                            startup_timeout=int(h.START_S),
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env=home.env())
    finally:
        # nbclient leaves a kernel manager it was given running: ours to shut down
        if km.has_kernel:
            procs = [psutil.Process(km.provisioner.process.pid)]
            procs += procs[0].children(recursive=True)
            km.shutdown_kernel(now=False)
            assert h.wait_gone(procs) == [], "the notebook's kernel left processes"
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
    assert names == sorted(PLAIN + ["04-gpu-and-iceberg.ipynb"]), names
    for n in names:
        spec = nbformat.read(NOTEBOOKS / n, as_version=4).metadata["kernelspec"]
        assert spec["name"].startswith("spark-"), (n, spec)


@pytest.mark.parametrize("name", PLAIN)
def test_example_runs(prefix, home, line, name, tmp_path):
    nb = run_notebook(prefix, home, name, f"spark-{line}-baseline", tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == [], errors
    text = outputs(nb)
    if name.startswith("01"):
        assert "499999500000" in text, text
        assert f"Spark {h.LINES[line]}" in text, text  # the session's start, with the UI
    if name.startswith("02"):
        assert "53" in text, text


def env_without_jars(prefix, line, where):
    """A kernel environment at WHERE that is the installed one of LINE with an empty
    jars folder of its own (bin/python, pyvenv.cfg, a link to lib/)."""
    real = prefix.python(line).parent.parent
    (where / "bin").mkdir(parents=True)
    os.symlink(os.path.realpath(real / "bin" / "python"), where / "bin" / "python")
    shutil.copy(real / "pyvenv.cfg", where / "pyvenv.cfg")
    os.symlink(real / "lib", where / "lib")
    (where / "share" / "spark-k8s" / "jars").mkdir(parents=True)
    return where / "bin" / "python"


def test_gpu_iceberg_tour_runs_and_says_what_is_missing(prefix, home, tmp_path):
    line = sorted(h.LINES)[-1]
    python = env_without_jars(prefix, line, tmp_path / "env")
    h.install_kernelspec(prefix, home, "--spark", line, "--variant", "gpu-iceberg", "--name",
                         f"spark-{line}-gpu-iceberg", "--python", python)
    nb = run_notebook(prefix, home, "04-gpu-and-iceberg.ipynb", f"spark-{line}-gpu-iceberg",
                      tmp_path, kernels=home.kernels)
    text = outputs(nb)
    assert "RAPIDS Accelerator: off" in text and "Iceberg catalog:    off" in text, text
    assert "spark-k8s jars fetch" in text, text  # the kernel's first-cell notice
    assert "runs on the CPU" in text
    assert "Iceberg is off in this kernel" in text
