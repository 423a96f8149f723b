"""test_kernelspec_session.py — the IPython startup file every kernelspec ships
(spark_session.py, with the package spark_k8s_session it loads) in a kernel without
pyspark (Debian's python3 and ipykernel): it defines neither `spark` nor `sc`, and
the first cell shows one line saying so, once.
The session with real PySpark is tested in tests/spark."""
import json
import shutil

import pytest
from jupyter_client.manager import KernelManager

from support.cli import clean_env
from support.kernels import execute
from support.paths import PYTHON


@pytest.fixture
def kernel_dir(installed, tmp_path):
    """A kernelspec that runs Debian's ipykernel (no pyspark) with the shipped startup file."""
    shipped = installed / "share/jupyter/kernels/spark-4.1-baseline"
    kernels = tmp_path / "jupyter/kernels/session-test"
    kernels.mkdir(parents=True)
    (kernels / "spark_session.py").write_bytes((shipped / "spark_session.py").read_bytes())
    shutil.copytree(shipped / "spark_k8s_session", kernels / "spark_k8s_session")
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.exec_files={resource_dir}/spark_session.py"],
        "display_name": "session test", "language": "python", "interrupt_mode": "message"}))
    return kernels


def test_without_pyspark_one_line(kernel_dir, tmp_path):
    env = clean_env(tmp_path)
    env.pop("PYTHONPATH", None)
    km = KernelManager(kernel_name="session-test")
    km.kernel_spec_manager.kernel_dirs = [str(kernel_dir.parent)]
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply, out, err, result = execute(kc, "'spark' in dir(), 'sc' in dir()")
        assert reply["status"] == "ok"
        assert result == "(False, False)"
        assert err.count("\n") == 1 and "pyspark is not importable" in err
        reply, out, err, result = execute(kc, "2 + 2")
        assert result == "4" and err == ""  # said once
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
