"""test_python_layer.py — the Python layer of every planned image resolves, with
pip's resolver in dry-run mode against PyPI, for the images' Python (Debian 12's
3.11) and platform, wheels only:

  runtime images   the line's kernel environment (kernelspecs/envs/spark-LINE.lock)
  Jupyter images   that, and the Jupyter environment (jupyter.lock), a venv of its own
  gpu Jupyter images with GPU_PYTHON=1: the line's GPU lock
                   (kernelspecs/envs/spark-LINE-gpu.lock), which the Dockerfile adds
                   to the kernel environment (install.py --over): the kernel
                   environment's versions and the matrix's jupyter_gpu packages

pyspark itself is on PyPI as an sdist only (pure Python, Spark's jars inside), which
a resolution for another interpreter cannot take: it is left out here and checked
instead to be pinned at the matrix's version; its own requirements were resolved by
pip-compile when the lock was made, and `lock.py --check` holds the lock to that.
Needs PyPI (pip's own configuration and find-links of this machine are ignored).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from envs import lock  # kernelspecs/envs/lock.py, the lock file parser (pytest.ini: pythonpath)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SPARK_K8S_BUILD", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "spark-k8s")
LOCKS = os.path.join(ROOT, "kernelspecs", "envs")


def matrix():
    with open(os.path.join(ROOT, "images", "matrix.json"), encoding="utf-8") as f:
        return json.load(f)


def plan():
    env = {k: v for k, v in os.environ.items()
           if k not in ("IMAGES", "REGISTRY", "SPARK_K8S_MATRIX", "GPU_PYTHON")}
    env["GPU_PYTHON"] = "1"
    r = subprocess.run([BIN, "images", "plan", "--json"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.stdout, r.stderr
    return json.loads(r.stdout)["images"]


def image_python():
    """'3.11' from the matrix's Debian python package (python3.11)."""
    name = matrix()["images"]["debian_packages"]["python"]["name"]
    m = re.fullmatch(r"python(\d+\.\d+)", name)
    assert m, "images.debian_packages.python.name %r is not python3.X" % name
    return m.group(1)


def pins(env_name):
    return {name: version for name, version, _ in lock.parse_lock(
        Path(LOCKS) / (env_name + ".lock"))}


def layers(image):
    """[(what, {name: version} pinned, [extra requirement])] of the venvs of IMAGE."""
    line = image["line"]
    out = [("spark-%s.lock" % line, pins("spark-" + line), [])]
    if image["kind"] == "jupyter":
        out.append(("jupyter.lock", pins("jupyter"), []))
        if image["args"].get("GPU_PYTHON") == "1":
            gpu = image["args"]["GPU_PYTHON_PACKAGES"].split()
            out.append(("spark-%s-gpu.lock" % line, pins("spark-%s-gpu" % line), gpu))
    return out


def distinct_layers():
    seen, out = set(), []
    for image in plan():
        for what, pinned, extra in layers(image):
            key = (what, tuple(sorted(pinned.items())), tuple(extra))
            if key not in seen:
                seen.add(key)
                out.append((what, pinned, extra, image["name"]))
    return out


LAYERS = distinct_layers()


def test_every_image_has_its_line_lock_and_pyspark_at_the_matrix_version():
    images = plan()
    assert len(images) == 16
    versions = {s["line"]: s["version"] for s in matrix()["spark"]}
    for image in images:
        kernel_env = pins("spark-" + image["line"])
        assert kernel_env.get("pyspark") == versions[image["line"]] == image["spark_version"]
        assert image["args"].get("PYTHON_PACKAGES") is None  # nothing outside the locks
    gpu = [i for i in images if i["kind"] == "jupyter" and "gpu" in i["variant"].split("-")]
    assert len(gpu) == 4 and all(i["args"]["GPU_PYTHON"] == "1" for i in gpu)
    assert {w for w, _, _, _ in LAYERS} == {
        "spark-3.5.lock", "spark-4.1.lock", "jupyter.lock",
        "spark-3.5-gpu.lock", "spark-4.1-gpu.lock"}


def resolve(pinned, extra):
    """pip install --dry-run for the images' Python; (returncode, output, report)."""
    with tempfile.TemporaryDirectory(prefix="spark-k8s-resolve-") as tmp:
        req = os.path.join(tmp, "requirements.txt")
        with open(req, "w", encoding="utf-8") as f:
            for name, version in sorted(pinned.items()):
                if name != "pyspark":
                    f.write("%s==%s\n" % (name, version))
            for r in extra:  # a GPU lock pins them already: written once
                if r.split("==")[0].lower() not in pinned:
                    f.write(r + "\n")
        report = os.path.join(tmp, "report.json")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull  # PyPI alone: no local indexes or constraints
        r = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
             "--disable-pip-version-check", "--no-input", "--quiet",
             "--python-version", image_python(), "--only-binary=:all:",
             "--report", report, "-r", req],
            capture_output=True, text=True, env=env, timeout=900)
        data = None
        if r.returncode == 0:
            with open(report, encoding="utf-8") as f:
                data = json.load(f)
        return r.returncode, r.stdout + r.stderr, data


@pytest.mark.parametrize("what,pinned,extra,first", LAYERS, ids=[x[0] for x in LAYERS])
def test_python_layer_resolves(what, pinned, extra, first):
    rc, out, report = resolve(pinned, extra)
    assert rc == 0, "%s (first needed by %s) does not resolve for Python %s:\n%s" % (
        what, first, image_python(), out[-3000:])
    got = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"]
           for i in report["install"]}
    for name, version in pinned.items():
        if name != "pyspark":
            assert got.get(name) == version, "%s: %s resolved to %s, the lock says %s" % (
                what, name, got.get(name), version)
    for r in extra:
        name, version = r.split("==")
        assert got.get(name.lower()) == version, (what, r, got.get(name.lower()))


def test_resolution_can_fail():
    """The resolver is really asked: cudf 26.8 wants pandas 3, which the 4.1 lock excludes."""
    rc, out, _ = resolve(pins("spark-4.1"), ["cudf-cu12==26.8.1"])
    assert rc != 0 and "pandas" in out, out[-2000:]
