"""support.prefix — the installed prefix the tests run: $SPARK_K8S_PREFIX (`make pytest`
installs one, with the kernel environments and their jars), else a temporary
`make install` (the jars from build/jars), removed at the end."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from support.paths import ROOT
from support.procs import make_env


class Prefix:
    """$SPARK_K8S_PREFIX, or a temporary `make install PREFIX=...`."""

    def __init__(self):
        given = os.environ.get("SPARK_K8S_PREFIX", "")
        self._tmp = None
        if given:
            self.path = Path(given)
        else:
            self._tmp = Path(tempfile.mkdtemp(prefix="sk8s-prefix-"))
            self.path = self._tmp
            subprocess.run(["make", "--no-print-directory", "install", f"PREFIX={self.path}"],
                           cwd=ROOT, env=make_env(os.environ), check=True,
                           stdout=subprocess.DEVNULL)
        self.binary = self.path / "bin" / "spark-k8s"
        self.jupyter_path = self.path / "share" / "jupyter"
        self.kernels = self.jupyter_path / "kernels"

    def python(self, line):
        """The kernel environment of Spark LINE installed in the prefix."""
        return self.path / "lib" / "spark-k8s" / "envs" / f"spark-{line}" / "bin" / "python"

    def close(self):
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
