"""test_locks.py — the committed locks (kernelspecs/envs/*.lock) match their inputs and
the matrix, offline: lock.py --check passes here, and fails, naming the file and what
differs, on a copy whose matrix moved a Spark version or whose input changed. The GPU
locks (spark-LINE-gpu.lock, the gpu Jupyter images' GPU_PYTHON=1 stack) keep every
version of their line's lock and pin the matrix's GPU packages; a moved GPU version or a
re-locked kernel environment is caught; install.py --over, which adds a GPU lock to a
kernel environment in the images, refuses one that would move it, before pip runs."""
import json
import re
import shutil
import subprocess
import sys

from support.paths import MATRIX, ROOT

sys.path.insert(0, str(ROOT / "kernelspecs" / "envs"))
import lock  # noqa: E402  kernelspecs/envs/lock.py


def check(root):
    return subprocess.run(["/usr/bin/python3", str(root / "kernelspecs/envs/lock.py"), "--check"],
                          capture_output=True, text=True, timeout=60)


def copy_repo(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "kernelspecs" / "envs", root / "kernelspecs" / "envs")
    (root / "images").mkdir()
    shutil.copy(ROOT / "images" / "matrix.json", root / "images" / "matrix.json")
    return root


def test_the_committed_locks_are_current():
    proc = check(ROOT)
    assert proc.returncode == 0, proc.stderr


def test_a_moved_spark_version_is_caught(tmp_path):
    root = copy_repo(tmp_path)
    m = json.loads((root / "images/matrix.json").read_text())
    old = m["spark"][1]["version"]
    m["spark"][1]["version"] = old.rsplit(".", 1)[0] + ".99"
    (root / "images/matrix.json").write_text(json.dumps(m))
    proc = check(root)
    line = m["spark"][1]["line"]
    assert proc.returncode == 1
    assert f"spark-{line}.lock: pyspark pinned at ['{old}'], the matrix says" in proc.stderr, \
        proc.stderr
    assert f"run kernelspecs/envs/lock.py spark-{line}" in proc.stderr


def test_an_edited_input_is_caught(tmp_path):
    root = copy_repo(tmp_path)
    with open(root / "kernelspecs/envs/jupyter.in", "a") as f:
        f.write("requests\n")
    proc = check(root)
    assert proc.returncode == 1
    assert "jupyter.lock: resolved from another jupyter.in" in proc.stderr, proc.stderr


def pins(root, name):
    return {p: v for p, v, _ in lock.parse_lock(root / "kernelspecs/envs" / (name + ".lock"))}


def gpu_packages():
    return {k: v for k, v in MATRIX["images"]["python_packages"]["jupyter_gpu"].items()
            if not k.startswith("_")}


def test_every_line_has_a_gpu_lock_that_keeps_its_kernel_environment():
    assert {"cudf-cu12", "cuml-cu12", "cupy-cuda12x"} <= set(gpu_packages())
    for s in MATRIX["spark"]:
        kernel, gpu = pins(ROOT, "spark-" + s["line"]), pins(ROOT, "spark-%s-gpu" % s["line"])
        moved = {p: (v, gpu.get(p)) for p, v in kernel.items() if gpu.get(p) != v}
        assert not moved, "spark-%s-gpu.lock moves the kernel environment: %s" % (s["line"], moved)
        for p, v in gpu_packages().items():
            assert gpu.get(p) == v, (s["line"], p, gpu.get(p), v)
        assert gpu["pyspark"] == s["version"]
        # CUDA 12 builds only: no CUDA 13 (or 11) library may ride along
        assert not [p for p in gpu if re.search(r"-cu(11|13)$|-cuda(11|13)x$", p)], sorted(gpu)


def test_a_moved_gpu_version_is_caught(tmp_path):
    root = copy_repo(tmp_path)
    m = json.loads((root / "images/matrix.json").read_text())
    m["images"]["python_packages"]["jupyter_gpu"]["cudf-cu12"] = "26.6.0"
    (root / "images/matrix.json").write_text(json.dumps(m))
    proc = check(root)
    assert proc.returncode == 1
    for s in m["spark"]:
        name = "spark-%s-gpu" % s["line"]
        assert "%s.lock: resolved from another spark-%s.in, matrix versions or spark-%s.lock" % (
            name, s["line"], s["line"]) in proc.stderr, proc.stderr
        assert "%s.lock: cudf-cu12 pinned at 26.4.0, the matrix (images.python_packages." \
               "jupyter_gpu) says 26.6.0" % name in proc.stderr, proc.stderr
        assert "run kernelspecs/envs/lock.py %s" % name in proc.stderr
    assert "spark-4.1.lock:" not in proc.stderr  # the kernel environments are not concerned


def relock_kernel_env(root, line, package, version):
    """Change PACKAGE's pin in spark-LINE.lock as a re-lock would (header kept: the
    kernel lock's input did not change)."""
    path = root / "kernelspecs/envs" / ("spark-%s.lock" % line)
    text, n = re.subn(r"(?m)^%s==\S+" % re.escape(package), "%s==%s" % (package, version),
                      path.read_text())
    assert n == 1
    path.write_text(text)


def test_a_relocked_kernel_environment_is_caught(tmp_path):
    root = copy_repo(tmp_path)
    line = MATRIX["spark"][1]["line"]
    old = pins(root, "spark-" + line)["tzdata"]
    relock_kernel_env(root, line, "tzdata", "2099.1")
    proc = check(root)
    assert proc.returncode == 1
    assert "spark-%s-gpu.lock: resolved from another" % line in proc.stderr, proc.stderr
    assert ("spark-%s-gpu.lock: tzdata pinned at %s, spark-%s.lock says 2099.1: the GPU stack "
            "must keep the kernel environment's versions" % (line, old, line)) in proc.stderr
    assert "spark-%s.lock:" % line not in proc.stderr


def install_over(root, dest, name, base, expect=None):
    cmd = ["/usr/bin/python3", str(root / "kernelspecs/envs/install.py"), name, str(dest),
           "--over", base]
    if expect is not None:
        cmd += ["--expect", expect]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def fake_env(root, dest, base):
    """DEST with the stamp install.py leaves on an environment installed from BASE.lock
    (no Python in it: every refusal comes before pip)."""
    import hashlib
    h = hashlib.sha256()
    for name in ("build", base):
        h.update((root / "kernelspecs/envs" / (name + ".lock")).read_bytes())
    dest.mkdir()
    (dest / ".spark-k8s-env.json").write_text(json.dumps({"name": base,
                                                          "locks_sha256": h.hexdigest()}))


def test_install_over_refuses_what_would_move_the_kernel_environment(tmp_path):
    root = copy_repo(tmp_path)
    line = MATRIX["spark"][1]["line"]
    base, name = "spark-" + line, "spark-%s-gpu" % line
    expect = " ".join("%s==%s" % kv for kv in gpu_packages().items())
    # not an installed kernel environment
    proc = install_over(root, tmp_path / "nothing", name, base, expect)
    assert proc.returncode != 0
    assert "is not an environment installed from the current %s.lock" % base in proc.stderr
    # a GPU lock pinning something else than the kernel environment
    env = tmp_path / "env"
    old = pins(root, base)["tzdata"]
    relock_kernel_env(root, line, "tzdata", "2099.1")
    fake_env(root, env, base)
    proc = install_over(root, env, name, base, expect)
    assert proc.returncode != 0
    assert ("%s.lock pins tzdata at %s, %s.lock at 2099.1: refusing to move the %s environment"
            % (name, old, base, base)) in proc.stderr, proc.stderr
    # the build asks for another GPU package version than the lock has
    root = copy_repo(tmp_path / "b")
    env = tmp_path / "env2"
    fake_env(root, env, base)
    proc = install_over(root, env, name, base, "cudf-cu12==26.6.0")
    assert proc.returncode != 0
    assert ("%s.lock pins cudf-cu12 at %s, the build asks for 26.6.0; re-lock"
            % (name, gpu_packages()["cudf-cu12"])) in proc.stderr, proc.stderr
    assert json.loads((env / ".spark-k8s-env.json").read_text())["name"] == base  # untouched
