"""test_layers.py — launcher/layers.py holds the C tree to its include rule: the tree as
committed keeps it, and an include across the rule or a circle inside a folder is caught
naming the file, the line and the rule."""
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK = ROOT / "launcher" / "layers.py"


def run(root):
    return subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)


def tree(tmp_path):
    for folder in ("kernel", "launcher"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("*.py", "*.S"))
    return tmp_path


def add_include(path, header):
    text = path.read_text()
    first = text.index("#include")
    path.write_text(text[:first] + '#include "%s"\n' % header + text[first:])


def test_the_tree_keeps_the_rule():
    r = run(ROOT)
    assert r.returncode == 0, r.stderr


def test_an_include_upward_is_caught(tmp_path):
    root = tree(tmp_path)
    add_include(root / "launcher/sys/spawn.c", "launcher/plan/plan.h")
    r = run(root)
    assert r.returncode == 1
    assert 'launcher/sys/spawn.c:' in r.stderr and '"launcher/plan/plan.h"' in r.stderr
    assert "launcher/sys may include only launcher/sys" in r.stderr


def test_the_kernel_includes_nothing_of_the_launcher(tmp_path):
    root = tree(tmp_path)
    add_include(root / "kernel/proxy.c", "launcher/sys/errmsg.h")
    r = run(root)
    assert r.returncode == 1 and "kernel/proxy.c:" in r.stderr


def test_plan_and_kube_stay_apart(tmp_path):
    root = tree(tmp_path)
    add_include(root / "launcher/plan/render.c", "launcher/kube/kube_objects.h")
    r = run(root)
    assert r.returncode == 1 and "launcher/plan/render.c:" in r.stderr


def test_a_circle_in_a_folder_is_caught(tmp_path):
    root = tree(tmp_path)
    add_include(root / "launcher/plan/sparkconf.c", "launcher/plan/plan.h")
    r = run(root)
    assert r.returncode == 1
    assert "include circle:" in r.stderr and "launcher/plan/sparkconf.[ch]" in r.stderr
