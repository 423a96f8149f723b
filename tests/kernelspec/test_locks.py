"""test_locks.py — the committed locks (kernelspecs/envs/*.lock) match their inputs and
the matrix, offline: lock.py --check passes here, and fails, naming the file and what
differs, on a copy whose matrix moved a Spark version or whose input changed."""
import json
import shutil
import subprocess

from support.paths import ROOT


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
