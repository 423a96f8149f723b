"""test_kernelspec_session.py — the IPython startup file every kernelspec ships
(spark_session.py), in a real ipykernel started by jupyter_client: `spark` and `sc`
are lazy (nothing built until first use, then built from SPARK_CONF_DIR), an
interrupt during a Spark job cancels the jobs and still interrupts the cell, and
without pyspark the first cell shows one line instead.

pyspark itself is not installable here: a tiny fake `pyspark` package on
PYTHONPATH records what the startup file calls on it."""
import json
import time

import pytest
from jupyter_client.manager import KernelManager

from kspec_env import clean_env, execute

FAKE_SQL = '''
import os, time

def _log(line):
    with open(os.environ["FAKE_PYSPARK_LOG"], "a") as f:
        f.write(line + "\\n")

class SparkContext:
    def cancelAllJobs(self):
        _log("cancelAllJobs")

    def runJob(self, seconds):
        _log("job started")
        time.sleep(seconds)
        _log("job finished")

class SparkSession:
    class Builder:
        def getOrCreate(self):
            conf = os.path.join(os.environ["SPARK_CONF_DIR"], "spark-defaults.conf")
            _log("getOrCreate " + open(conf).read().replace("\\n", "|"))
            return SparkSession()
    builder = Builder()

    def __init__(self):
        self.sparkContext = SparkContext()
        self.version = "fake"
'''


@pytest.fixture
def kernel_dir(installed, tmp_path):
    """A kernelspec that runs ipykernel with the shipped startup file, as ours do."""
    shipped = installed / "share/jupyter/kernels/spark-4.1-baseline"
    spec = json.loads((shipped / "kernel.json").read_text())
    kernels = tmp_path / "jupyter/kernels/session-test"
    kernels.mkdir(parents=True)
    (kernels / "spark_session.py").write_bytes((shipped / "spark_session.py").read_bytes())
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": spec["metadata"]["spark_k8s"]["runtime_command"],
        "display_name": "session test", "language": "python", "interrupt_mode": "message"}))
    return kernels


def start(kernel_dir, tmp_path, with_pyspark):
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir(exist_ok=True)
    (conf_dir / "spark-defaults.conf").write_text("spark.master local[*]\nspark.x 1\n")
    env = clean_env(tmp_path, SPARK_CONF_DIR=conf_dir, FAKE_PYSPARK_LOG=tmp_path / "log")
    env.pop("PYTHONPATH", None)
    if with_pyspark:
        pkg = tmp_path / "fake/pyspark"
        (pkg / "sql").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "sql/__init__.py").write_text(FAKE_SQL)
        env["PYTHONPATH"] = str(tmp_path / "fake")
    km = KernelManager(kernel_name="session-test")
    km.kernel_spec_manager.kernel_dirs = [str(kernel_dir.parent)]
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def log_lines(tmp_path):
    path = tmp_path / "log"
    return path.read_text().splitlines() if path.exists() else []


def test_lazy_session_and_interrupt_cancels_jobs(kernel_dir, tmp_path):
    km, kc = start(kernel_dir, tmp_path, with_pyspark=True)
    try:
        reply, _, _, result = execute(kc, "repr(spark), repr(sc)")
        assert reply["status"] == "ok"
        assert "starts on first use" in result
        assert log_lines(tmp_path) == []  # nothing built yet

        reply, _, _, result = execute(kc, "spark.version")
        assert reply["status"] == "ok" and result == "'fake'"
        built = log_lines(tmp_path)
        assert len(built) == 1 and built[0].startswith("getOrCreate ")
        assert "spark.master local[*]|spark.x 1" in built[0]  # from SPARK_CONF_DIR
        _, _, _, result = execute(kc, "type(spark).__name__, type(sc).__name__")
        assert result == "('SparkSession', 'SparkContext')"  # the real objects now

        # interrupt a running job: the jobs are cancelled and the cell is interrupted
        msg_id = kc.execute("sc.runJob(120)", stop_on_error=False)  # no abort window after
        deadline = time.monotonic() + 30
        while "job started" not in log_lines(tmp_path):
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=60)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        lines = log_lines(tmp_path)
        assert "cancelAllJobs" in lines and "job finished" not in lines

        # the kernel goes on, and only once: the session is not built twice
        reply, out, err, result = execute(kc, "1 + 1")
        assert result == "2", (reply, out, err)
        assert sum(l.startswith("getOrCreate") for l in log_lines(tmp_path)) == 1
    finally:
        stop(km, kc)


def test_interrupt_before_session_only_interrupts(kernel_dir, tmp_path):
    km, kc = start(kernel_dir, tmp_path, with_pyspark=True)
    try:
        msg_id = kc.execute("import time\nopen(%r, 'w').close()\ntime.sleep(120)"
                            % str(tmp_path / "sleeping"))
        deadline = time.monotonic() + 30
        while not (tmp_path / "sleeping").exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=60)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert log_lines(tmp_path) == []  # no session was built just to cancel nothing
    finally:
        stop(km, kc)


def test_without_pyspark_one_line(kernel_dir, tmp_path):
    km, kc = start(kernel_dir, tmp_path, with_pyspark=False)
    try:
        reply, out, err, result = execute(kc, "'spark' in dir(), 'sc' in dir()")
        assert reply["status"] == "ok"
        assert result == "(False, False)"
        assert err.count("\n") == 1 and "pyspark is not importable" in err
        reply, out, err, result = execute(kc, "2 + 2")
        assert result == "4" and err == ""  # said once
    finally:
        stop(km, kc)
