"""conftest.py — fixtures of the kernelspec tests: the image matrix, the spark-k8s
version, a clean environment and an install of the eight kernelspecs."""
import copy
import pathlib
import subprocess

import pytest

from support.cli import clean_env, run
from support.paths import MATRIX, PREFIX, SPARK_K8S


@pytest.fixture(scope="session")
def matrix():
    return copy.deepcopy(MATRIX)  # a test may change its copy


@pytest.fixture(scope="session")
def spark_k8s_version():
    out = subprocess.run([str(SPARK_K8S), "version"], capture_output=True, text=True, check=True)
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
    run(["kernelspec", "install", "--prefix", str(prefix), "--executable", str(SPARK_K8S.resolve()),
         "--all"], clean_env(tmp), check=0)
    return prefix
