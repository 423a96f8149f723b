"""support.homes — private folders and environments for the kernels and servers a test
starts, so that a test reads and leaves nothing in the user's home and can see every
connection file and spark-k8s-* folder it caused (checked empty at the end):

    Home         for kernels started through jupyter_client (tests/spark): no admin
                 settings, no SPARK_K8S_*/JUPYTER_*/PYSPARK_* of the caller, a kernels
                 folder for kernelspecs of a test's own
    JupyterHome  for Jupyter servers (tests/e2e): Jupyter's config, data and runtime
                 folders of its own
"""
import os
import shutil
import tempfile
from pathlib import Path

from support.procs import make_env, processes_naming


class Home:
    """Private dirs for one group of kernels: XDG_RUNTIME_DIR (the launchers'
    spark-k8s-* folders), Jupyter's runtime dir (connection files), IPython's dir, a
    HOME, an empty admin config, and a kernels folder for kernelspecs of a test's own."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="sk8s-sp-"))  # short: ipc paths <= 107
        self.runtime = self.base / "rt"
        self.jupyter_runtime = self.base / "jrt"
        for d in (self.runtime, self.jupyter_runtime):
            d.mkdir(mode=0o700)
        self.kernels = self.base / "share" / "jupyter" / "kernels"  # install --prefix BASE
        self.kernels.mkdir(parents=True)
        (self.base / "home").mkdir()
        self.config = self.base / "config.json"
        self.config.write_text("{}\n")

    def env(self, **extra):
        env = {k: v for k, v in make_env(os.environ).items()
               if not k.startswith("SPARK_K8S_") and not k.startswith("JUPYTER_")
               and not k.startswith("PYSPARK_") and k not in ("SPARK_HOME", "SPARK_CONF_DIR")}
        env.update({
            "HOME": str(self.base / "home"),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "JUPYTER_RUNTIME_DIR": str(self.jupyter_runtime),
            "IPYTHONDIR": str(self.base / "ipython"),
            "SPARK_K8S_CONFIG": str(self.config),
        })
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def leftovers(self):
        """Launchers' private folders and connection files still there."""
        return sorted([p.name for p in self.runtime.glob("spark-k8s-*")] +
                      [p.name for p in self.jupyter_runtime.glob("kernel-*.json")])

    def close(self):
        shutil.rmtree(self.base, ignore_errors=True)


class JupyterHome:
    """Private Jupyter/IPython dirs and a short XDG_RUNTIME_DIR for the launchers' ipc
    sockets, so a test reads and leaves nothing in the user's home and can see every
    connection file and spark-k8s-* directory it caused."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="sk8s-e2e-"))
        self.runtime = self.base / "rt"        # XDG_RUNTIME_DIR: the launchers' spark-k8s-*
        self.jupyter_runtime = self.base / "jrt"
        for d in (self.runtime, self.jupyter_runtime):
            d.mkdir(mode=0o700)
        for d in ("config", "data", "ipython", "notebooks"):
            (self.base / d).mkdir()
        self.notebooks = self.base / "notebooks"

    def env(self, **extra):
        env = make_env(os.environ)
        env.update({
            "JUPYTER_RUNTIME_DIR": str(self.jupyter_runtime),
            "JUPYTER_CONFIG_DIR": str(self.base / "config"),
            "JUPYTER_DATA_DIR": str(self.base / "data"),
            "IPYTHONDIR": str(self.base / "ipython"),
            "XDG_RUNTIME_DIR": str(self.runtime),
        })
        env.update(extra)
        return env

    def private_dirs(self):
        return sorted(p.name for p in self.runtime.glob("spark-k8s-*"))

    def connection_files(self):
        return sorted(p.name for p in self.jupyter_runtime.glob("kernel-*.json"))

    def processes(self, exclude=()):
        """Processes whose command line or environment names this test's dirs."""
        return processes_naming(str(self.base), exclude)

    def close(self):
        shutil.rmtree(self.base, ignore_errors=True)
