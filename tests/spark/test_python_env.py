"""test_python_env.py — which Python a kernelspec runs: the kernel environment installed
beside the binary by default; `kernelspec install --python PATH` runs PATH (an argv, no
shell) and refuses, naming what it found, an interpreter without ipykernel, one whose
pyspark is missing or of another Spark line, and for a gpu kernel a Spark version RAPIDS
does not support; nothing is installed then. A binary with no environment beside it
warns and falls back to Debian's python3."""
import json
import shutil
import subprocess

import pytest

from support.kernels import install_kernelspec
from support.paths import LINES, MATRIX

LINE = sorted(LINES)[-1]
OTHER = sorted(LINES)[0]


def install(prefix, home, *args):
    return install_kernelspec(prefix, home, "--spark", LINE, "--name", "py-test", *args,
                                check=False)


def installed(home):
    return (home.kernels / "py-test" / "kernel.json").exists()


def fake_env(where, versions):
    """A venv whose site-packages claims VERSIONS ({dist: version}) by metadata alone:
    what the installer reads (it imports nothing)."""
    subprocess.run(["/usr/bin/python3", "-m", "venv",
                    "--without-pip", str(where)], check=True)
    site = next(where.glob("lib/python3*/site-packages"))
    for dist, version in versions.items():
        info = site / f"{dist}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    return where / "bin" / "python"


def test_default_is_the_environment_beside_the_binary(prefix, home):
    proc = install(prefix, home)
    assert proc.returncode == 0, proc
    spec = json.loads((home.kernels / "py-test" / "kernel.json").read_text())
    assert spec["metadata"]["spark_k8s"]["runtime_command"][0] == str(prefix.python(LINE))


def test_the_line_s_environment_is_accepted(prefix, home):
    proc = install(prefix, home, "--python", prefix.python(LINE))
    assert proc.returncode == 0, proc


@pytest.mark.parametrize("case", ["debian", "other-line", "no-ipykernel", "missing"])
def test_unsuitable_pythons_are_refused_naming_what_they_hold(prefix, home, tmp_path, case):
    shutil.rmtree(home.kernels / "py-test", ignore_errors=True)
    if case == "debian":
        python, says = "/usr/bin/python3", "pyspark is not installed there (found Python 3."
    elif case == "other-line":
        python = prefix.python(OTHER)
        says = f"its pyspark is {LINES[OTHER]}, not of Spark {LINE}"
    elif case == "no-ipykernel":
        python = fake_env(tmp_path / "venv", {"pyspark": LINES[LINE]})
        says = "ipykernel is not installed there (found Python 3.11"
    else:
        python, says = tmp_path / "nothing" / "bin" / "python", "cannot be run"
    proc = install(prefix, home, "--python", python)
    assert proc.returncode == 2, proc
    assert f"--python {python}" in proc.stderr or f"--python: {python}" in proc.stderr, proc
    assert says in proc.stderr, proc.stderr
    assert not installed(home)


def test_gpu_kernels_need_a_spark_version_rapids_supports(prefix, home, tmp_path):
    rapids = next(s for s in MATRIX["spark"] if s["line"] == LINE)["rapids"]
    unsupported = f"{LINE}.0"
    assert unsupported not in rapids["supported_spark"]
    python = fake_env(tmp_path / "venv", {"pyspark": unsupported, "ipykernel": "7.4.0"})
    proc = install(prefix, home, "--variant", "gpu", "--python", python)
    assert proc.returncode == 2, proc
    assert f"its pyspark is {unsupported}, which RAPIDS {rapids['version']} does not support" \
        in proc.stderr, proc.stderr
    ok = install(prefix, home, "--variant", "baseline", "--python", python)
    assert ok.returncode == 0, ok  # of the line: fine without RAPIDS


def test_no_environment_beside_the_binary_warns_and_falls_back(prefix, home, tmp_path):
    lone = tmp_path / "bin" / "spark-k8s"
    lone.parent.mkdir()
    shutil.copy(prefix.binary, lone)
    proc = subprocess.run([str(lone), "kernelspec", "install", "--prefix", str(home.base),
                           "--spark", LINE, "--name", "py-test", "--replace"],
                          env=home.env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc
    assert f"no Spark {LINE} environment at {tmp_path}/lib/spark-k8s/envs/spark-{LINE}" \
        in proc.stderr, proc.stderr
    spec = json.loads((home.kernels / "py-test" / "kernel.json").read_text())
    assert spec["metadata"]["spark_k8s"]["runtime_command"][0] == "/usr/bin/python3"
