"""conftest.py — shared fixtures of the kernelspec tests: the spark-k8s binary, a
clean environment (no admin settings of the machine leak in), the image matrix and
an install of the eight kernelspecs.

Environment: SPARK_K8S_PREFIX (an install: bin/spark-k8s, share/jupyter/kernels)
and SPARK_K8S_BUILD (the build dir); without them, ./build next to this repository.
"""
import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("SPARK_K8S_BUILD") or REPO / "build")
PREFIX = os.environ.get("SPARK_K8S_PREFIX")
BINARY = pathlib.Path(PREFIX) / "bin" / "spark-k8s" if PREFIX else BUILD / "spark-k8s"
PYTHON = "/usr/bin/python3"


def clean_env(tmp_path, **extra):
    """The caller's environment minus SPARK_K8S_* and JUPYTER_*, with an empty admin
    config file so the machine's /etc/spark-k8s/config.json never applies."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SPARK_K8S_") and not k.startswith("JUPYTER_")}
    config = tmp_path / "admin-config.json"
    if not config.exists():
        config.write_text("{}")
    env["SPARK_K8S_CONFIG"] = str(config)
    (tmp_path / "home").mkdir(exist_ok=True)
    env["HOME"] = str(tmp_path / "home")
    env.pop("XDG_DATA_HOME", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(args, env, check=None):
    """Run spark-k8s ARGS; CHECK (an exit status) is asserted when given."""
    proc = subprocess.run([str(BINARY), *args], env=env, capture_output=True, text=True,
                          timeout=60)
    if check is not None:
        assert proc.returncode == check, (args, proc.returncode, proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="session")
def matrix():
    return json.loads((REPO / "images" / "matrix.json").read_text())


@pytest.fixture(scope="session")
def spark_k8s_version():
    out = subprocess.run([str(BINARY), "version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


@pytest.fixture
def env(tmp_path):
    return clean_env(tmp_path)


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """A prefix holding the eight kernelspecs: SPARK_K8S_PREFIX (make install), else a
    temporary install from the build."""
    if PREFIX:
        return pathlib.Path(PREFIX)
    prefix = tmp_path_factory.mktemp("prefix")
    tmp = tmp_path_factory.mktemp("env")
    run(["kernelspec", "install", "--prefix", str(prefix), "--executable", str(BINARY.resolve()),
         "--all"], clean_env(tmp), check=0)
    return prefix
