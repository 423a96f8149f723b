"""test_spark_connect.py — Spark Connect on 4.1: a kernelspec installed with
--spark-connect starts the Spark Connect server in the kernel's driver (on loopback,
on the kernelspec's port, with a token made at each start); the notebook is told the
sc:// address; a separate client process runs a query against it with the token, and
is refused without. 3.5 refuses the option, naming the line."""
import socket
import subprocess

import pytest

from support.homes import Home
from support.kernels import CELL_S, Kernel, install_kernelspec, wait_gone
from support.paths import LINES

CONNECT_LINES = sorted(line for line in LINES if line >= "4")

CLIENT = ("import sys\n"
          "from pyspark.sql import SparkSession\n"
          "s = SparkSession.builder.remote(sys.argv[1]).getOrCreate()\n"
          "print(s.range(100).selectExpr('sum(id)').collect()[0][0])\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(prefix, line, url):
    return subprocess.run([str(prefix.python(line)), "-c", CLIENT, url], capture_output=True,
                          text=True, timeout=CELL_S, env=Home().env())


@pytest.mark.parametrize("connect_line", CONNECT_LINES)
def test_a_client_process_queries_the_kernels_connect_server(prefix, home, connect_line):
    port = free_port()
    install_kernelspec(prefix, home, "--spark", connect_line, "--name", "connect",
                         "--spark-connect", "--spark-connect-port", port)
    k = Kernel("connect", home.kernels, home)
    try:
        cell = k.ok("spark.version")
        shown = " ".join(c["data"]["text/plain"] for kind, c in cell.displays)
        assert f"Spark Connect: sc://localhost:{port}" in shown, cell
        assert "token" not in shown.replace("has the token", ""), shown  # no secret in the output
        url = k.value("spark_k8s.connect_url")
        assert url.startswith(f"sc://localhost:{port}/;token="), url
        ok = client(prefix, connect_line, url)
        assert ok.returncode == 0 and ok.stdout.strip().endswith("4950"), ok
        refused = client(prefix, connect_line, url.split("/;")[0])
        assert refused.returncode != 0 and "UNAUTHENTICATED" in refused.stderr, refused
        # the server listens on loopback only
        listening = k.value(f"__import__('psutil').net_connections('tcp') and "
                            f"sorted({{c.laddr.ip for c in __import__('psutil').net_connections('tcp') "
                            f"if c.laddr.port == {port} and c.status == 'LISTEN'}})")
        assert listening and all(ip in ("127.0.0.1", "::ffff:127.0.0.1") for ip in listening), \
            listening
    finally:
        procs = k.processes()
        k.close()
    assert wait_gone(procs) == []


def test_spark_3_5_refuses_spark_connect(prefix, home):
    old = sorted(line for line in LINES if line < "4")
    proc = install_kernelspec(prefix, home, "--spark", old[0], "--name", "connect-old",
                                "--spark-connect", check=False)
    assert proc.returncode == 2, proc
    assert f"--spark-connect: Spark {old[0]} has no Spark Connect server" in proc.stderr
