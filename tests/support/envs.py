"""support.envs — the kernel environments (a Spark line's Python with pyspark, ipykernel,
pandas, pyarrow) and views of them: an environment that is another's but for a jars
folder of its own, so a test can choose which jars the launcher finds there."""
import os
import platform
import shutil
from pathlib import Path

from support.paths import BUILD, PREFIX


def env_python(line):
    """The kernel environment of Spark LINE: the installed one, else build/envs."""
    base = Path(PREFIX) / "lib/spark-k8s/envs" if PREFIX else BUILD / "envs"
    return base / f"spark-{line}" / "bin" / "python"


def env_view(real_python, where):
    """A kernel environment at WHERE that is the environment of REAL_PYTHON (bin/python,
    pyvenv.cfg, a link to lib/) with an empty share/spark-k8s/jars folder of its own: the
    installed environments hold the jars. Returns its bin/python."""
    real = Path(real_python).parent.parent
    (where / "bin").mkdir(parents=True)
    os.symlink(os.path.realpath(real / "bin" / "python"), where / "bin" / "python")
    shutil.copy(real / "pyvenv.cfg", where / "pyvenv.cfg")
    os.symlink(real / "lib", where / "lib")
    (where / "share" / "spark-k8s" / "jars").mkdir(parents=True)
    return where / "bin" / "python"


def rapids_build(rapids):
    """The RAPIDS classifier this machine gets by default: its architecture, the CUDA
    major of the matrix's default classifier."""
    arch = {"arm64": "aarch64"}.get(platform.machine(), platform.machine())
    cuda = rapids["classifiers"][rapids["default_classifier"]]["cuda"]
    return next(n for n, k in rapids["classifiers"].items()
                if k["arch"] == arch and k["cuda"] == cuda)


def env_view_with_jars(where, line, matrix):
    """env_view of LINE's environment whose jars folder holds a file named like each jar
    the gpu and iceberg variants need (RAPIDS: this machine's default build; their contents
    do not matter to `render`). Returns its bin/python."""
    python = env_view(env_python(line), where)
    jars = where / "share" / "spark-k8s" / "jars"
    spec = next(s for s in matrix["spark"] if s["line"] == line)
    for name in ("rapids", "iceberg", "iceberg_aws_bundle"):
        artifact = spec[name]["artifact"].split(":")[1]
        tail = "-" + rapids_build(spec[name]) if name == "rapids" else ""
        (jars / f"{artifact}-{spec[name]['version']}{tail}.jar").write_bytes(b"PK")
    return python
