"""test_kernelspec_cli.py — `spark-k8s kernelspec install|list|remove` in temporary
prefixes, checked with Jupyter's own reader (jupyter_client); every refusal exits 2,
names the value and leaves nothing behind."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from support.cli import run
from support.envs import env_python
from support.paths import PYTHON, ROOT, SPARK_K8S

NAMES = [f"spark-{line}-{variant}" for line in ("3.5", "4.1")
         for variant in ("baseline", "gpu", "iceberg", "gpu-iceberg")]


def names_from_matrix(matrix):
    return sorted(f"spark-{s['line']}-{v}" for s in matrix["spark"] for v in matrix["variants"])


def jupyter_list(prefix, env):
    """`jupyter kernelspec list --json` as Debian's jupyter_client runs it."""
    jenv = dict(env, JUPYTER_PATH=str(prefix / "share" / "jupyter"))
    out = subprocess.run([PYTHON, "-m", "jupyter_client.kernelspecapp", "list", "--json"],
                         env=jenv, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)["kernelspecs"]


def leftovers(prefix):
    """Every file and folder under PREFIX."""
    return sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*"))


def test_install_all_jupyter_sees_eight(tmp_path, env, matrix):
    prefix = tmp_path / "p"
    out = run(["kernelspec", "install", "--prefix", str(prefix), "--all"], env, check=0)
    assert out.stdout.count("installed ") == 8
    assert names_from_matrix(matrix) == sorted(NAMES)
    specs = jupyter_list(prefix, env)
    ours = {name: s for name, s in specs.items() if name.startswith("spark-")}
    assert sorted(ours) == sorted(NAMES)
    for name, s in ours.items():
        assert s["resource_dir"] == str(prefix / "share" / "jupyter" / "kernels" / name)
        spec = s["spec"]
        assert spec["argv"] == [str(SPARK_K8S.resolve()), "kernel", "-f", "{connection_file}",
                                "--kernelspec", "{resource_dir}"]
        assert spec["language"] == "python"
        assert spec["interrupt_mode"] == "message"
        line, variant = name[len("spark-"):].split("-", 1)
        want = f"Spark {line}" + "".join(
            {"gpu": " · GPU", "iceberg": " · Iceberg"}[w] for w in variant.split("-")
            if w != "baseline")
        assert spec["display_name"] == want
        meta = spec["metadata"]["spark_k8s"]
        assert meta["variant"] == variant and meta["runtime"] == "local"
        assert meta["spark_version"] == next(x["version"] for x in matrix["spark"]
                                             if x["line"] == line)
        files = sorted(os.listdir(s["resource_dir"]))
        assert files == ["kernel.json", "log4j2.properties", "logo-32x32.png",
                         "logo-64x64.png", "logo-svg.svg", "spark_k8s_session",
                         "spark_session.py"]
        shipped = Path(s["resource_dir"]) / "spark_k8s_session"
        source = ROOT / "kernelspecs" / "spark_k8s_session"
        # (a kernel that ran from this prefix may have left a __pycache__ beside them)
        assert sorted(p.name for p in shipped.glob("*.py")) == sorted(p.name for p in source.glob("*.py"))
        assert all((shipped / p.name).read_bytes() == p.read_bytes() for p in source.glob("*.py"))
        for size in (32, 64):
            png = (prefix / "share/jupyter/kernels" / name / f"logo-{size}x{size}.png").read_bytes()
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
            assert int.from_bytes(png[16:20], "big") == size
            assert int.from_bytes(png[20:24], "big") == size


def test_makefile_install_form(tmp_path, env):
    """Exactly what `make install` runs: DESTDIR-style prefix, argv[0] elsewhere, --replace."""
    dest = tmp_path / "dest"
    args = ["kernelspec", "install", "--prefix", str(dest / "usr/local"), "--executable",
            "/usr/local/bin/spark-k8s", "--all", "--replace"]
    run(args, env, check=0)
    run(args, env, check=0)  # again: replaced in place
    spec = json.loads((dest / "usr/local/share/jupyter/kernels/spark-4.1-gpu/kernel.json")
                      .read_text())
    assert spec["argv"][0] == "/usr/local/bin/spark-k8s"
    assert len(os.listdir(dest / "usr/local/share/jupyter/kernels")) == 8


def test_list_and_remove(tmp_path, env):
    prefix = tmp_path / "p"
    run(["kernelspec", "install", "--prefix", str(prefix), "--all"], env, check=0)
    out = run(["kernelspec", "list", "--prefix", str(prefix)], env, check=0).stdout
    lines = out.strip().splitlines()
    assert lines[0].split() == ["NAME", "DISPLAY", "NAME", "RUNTIME", "LOCATION"]
    row = next(l for l in lines if l.startswith("spark-4.1-gpu-iceberg "))
    assert "Spark 4.1 · GPU · Iceberg" in row and " local " in row
    assert row.endswith(str(prefix / "share/jupyter/kernels/spark-4.1-gpu-iceberg"))
    listed = json.loads(run(["kernelspec", "list", "--prefix", str(prefix), "--json"], env,
                            check=0).stdout)["kernelspecs"]
    assert sorted(listed) == sorted(NAMES)

    run(["kernelspec", "remove", "--prefix", str(prefix), "spark-3.5-gpu", "spark-4.1-baseline"],
        env, check=0)
    listed = json.loads(run(["kernelspec", "list", "--prefix", str(prefix), "--json"], env,
                            check=0).stdout)["kernelspecs"]
    assert sorted(listed) == sorted(set(NAMES) - {"spark-3.5-gpu", "spark-4.1-baseline"})
    gone = run(["kernelspec", "remove", "--prefix", str(prefix), "spark-3.5-gpu"], env, check=1)
    assert "spark-3.5-gpu" in gone.stderr

    # a foreign kernelspec is listed by nobody here and never removed
    foreign = prefix / "share/jupyter/kernels/python3"
    foreign.mkdir()
    (foreign / "kernel.json").write_text('{"argv": ["python3"], "display_name": "Python 3", '
                                         '"language": "python"}')
    refused = run(["kernelspec", "remove", "--prefix", str(prefix), "python3"], env, check=1)
    assert "not a spark-k8s kernelspec" in refused.stderr
    run(["kernelspec", "remove", "--prefix", str(prefix), "--all"], env, check=0)
    assert leftovers(prefix / "share/jupyter/kernels") == ["python3", "python3/kernel.json"]


def test_user_and_search_path(tmp_path, env):
    run(["kernelspec", "install", "--user", "--spark", "4.1", "--variant", "iceberg"], env,
        check=0)
    home = tmp_path / "home"
    assert (home / ".local/share/jupyter/kernels/spark-4.1-iceberg/kernel.json").is_file()
    # list and render without a location search Jupyter's path, the user folder included
    listed = json.loads(run(["kernelspec", "list", "--json"], env, check=0).stdout)["kernelspecs"]
    assert listed["spark-4.1-iceberg"]["resource_dir"] == str(
        home / ".local/share/jupyter/kernels/spark-4.1-iceberg")
    rendered = json.loads(run(["render", "spark-4.1-iceberg", "--json"], env, check=0).stdout)
    assert rendered["resource_dir"] == listed["spark-4.1-iceberg"]["resource_dir"]
    # JUPYTER_PATH comes first, as in Jupyter
    other = tmp_path / "other"
    run(["kernelspec", "install", "--prefix", str(other), "--spark", "4.1", "--variant",
         "iceberg", "--display-name", "Shadowing"], env, check=0)
    env2 = dict(env, JUPYTER_PATH=str(other / "share/jupyter"))
    listed = json.loads(run(["kernelspec", "list", "--json"], env2, check=0).stdout)["kernelspecs"]
    assert listed["spark-4.1-iceberg"]["display_name"] == "Shadowing"
    run(["kernelspec", "remove", "spark-4.1-iceberg"], env2, check=0)  # the first one found
    assert not (other / "share/jupyter/kernels/spark-4.1-iceberg").exists()
    assert (home / ".local/share/jupyter/kernels/spark-4.1-iceberg").exists()


def test_sys_prefix_lists_debian_location(env):
    """--sys-prefix is /usr/share/jupyter/kernels (Debian's python3); its python3 spec
    is not ours, so it is not listed."""
    listed = json.loads(run(["kernelspec", "list", "--sys-prefix", "--json"], env,
                            check=0).stdout)["kernelspecs"]
    assert all(v["resource_dir"].startswith("/usr/share/jupyter/kernels/")
               for v in listed.values())
    assert "python3" not in listed


def test_options_reach_the_spec(tmp_path, env):
    prefix = tmp_path / "p"
    run(["kernelspec", "install", "--prefix", str(prefix), "--spark", "3.5", "--variant",
         "gpu-iceberg", "--runtime", "kubernetes", "--name", "team-gpu", "--display-name",
         "Team GPU", "--registry", "reg.example.com:5000/team", "--executor-memory", "4096m",
         "--executor-cores", "2", "--executor-instances", "3", "--driver-memory", "1g",
         "--iceberg-name", "lake", "--iceberg-type", "rest", "--iceberg-uri",
         "http://catalog:8181", "--iceberg-warehouse", "s3a://bucket/wh", "--namespace", "spark",
         "--s3-endpoint", "http://minio.storage:9000", "--s3-region", "eu-west-1",
         "--s3-path-style-access", "true", "--s3-credentials-secret", "lake-keys",
         "--rapids-mode", "explainOnly", "--spark-warehouse", "hdfs://nn:8020/warehouse",
         "--conf", "spark.sql.shuffle.partitions=64", "--conf", "spark.x.path=C:\\dir",
         "--python", str(env_python("3.5"))], env, check=0)
    spec = json.loads((prefix / "share/jupyter/kernels/team-gpu/kernel.json").read_text())
    assert spec["display_name"] == "Team GPU"
    meta = spec["metadata"]["spark_k8s"]
    assert meta["runtime"] == "kubernetes"
    assert meta["images"]["executor"].startswith("reg.example.com:5000/team/spark-k8s-runtime:3.5-")
    assert meta["images"]["driver"].startswith("reg.example.com:5000/team/spark-k8s-jupyter:3.5-")
    assert meta["resources"] == {"driver_cores": 1, "driver_memory": "1g", "executor_cores": 2,
                                 "executor_memory": "4096m", "executor_instances": 3,
                                 "driver_gpus": 0}  # executor GPUs: by RAPIDS' mode
    assert meta["s3"] == {"endpoint": "http://minio.storage:9000", "region": "eu-west-1",
                          "path_style_access": True, "credentials_secret": "lake-keys"}
    assert meta["rapids"] == {"mode": "explainOnly"}
    assert meta["spark_warehouse"] == {"dir": "hdfs://nn:8020/warehouse"}
    assert meta["iceberg"] == {"name": "lake", "type": "rest", "uri": "http://catalog:8181",
                               "warehouse": "s3a://bucket/wh"}
    assert meta["kubernetes"] == {"namespace": "spark"}
    assert meta["spark_conf"] == {"spark.sql.shuffle.partitions": "64",
                                  "spark.x.path": "C:\\dir"}
    assert meta["runtime_command"][0] == str(env_python("3.5"))


REFUSALS = [
    (["--spark", "4.1", "--variant", "tpu"], "'tpu'"),
    (["--spark", "2.4"], "'2.4'"),
    (["--all", "--spark", "9.9"], "'9.9'"),
    (["--all", "--variant", "fpga"], "'fpga'"),
    (["--spark", "4.1", "--executor-memory", "4gb"], "'4gb'"),
    (["--spark", "4.1", "--driver-memory", "lots"], "'lots'"),
    (["--spark", "4.1", "--executor-image", "my registry/img:1"], "'my registry/img:1'"),
    (["--spark", "4.1", "--driver-image", "img :1"], "'img :1'"),
    (["--spark", "4.1", "--registry", "a b"], "'a b'"),
    (["--spark", "4.1", "--runtime", "yarn"], "'yarn'"),
    (["--spark", "4.1", "--executor-cores", "0"], "'0'"),
    (["--spark", "4.1", "--executor-instances", "-1"], "'-1'"),
    (["--spark", "4.1", "--variant", "gpu", "--executor-gpus", "2"], "'2'"),
    (["--spark", "4.1", "--executor-gpus", "1"], "'1'"),  # baseline has no GPU
    (["--spark", "4.1", "--variant", "iceberg", "--iceberg-type", "glue"], "'glue'"),
    (["--spark", "4.1", "--variant", "iceberg", "--iceberg-type", "rest"], "iceberg.uri"),
    (["--spark", "4.1", "--name", "Bad Name"], "'Bad Name'"),
    (["--spark", "4.1", "--conf", "spark.master=yarn"], "spark.master"),
    (["--spark", "4.1", "--conf", "spark.x=a\nspark.master=yarn"], "spark.x"),
    (["--spark", "4.1", "--conf", "notspark=1"], "'notspark'"),
    (["--spark", "4.1", "--namespace", "Team_A"], "'Team_A'"),
    (["--spark", "4.1", "--executable", "relative/spark-k8s"], "'relative/spark-k8s'"),
    (["--all", "--name", "x"], "--name"),
    (["--spark", "4.1", "--bogus"], "'--bogus'"),
    ([], "--spark"),
    (["--user", "--spark", "4.1"], "only one of"),
]


@pytest.mark.parametrize("args,needle", REFUSALS)
def test_refusals(tmp_path, env, args, needle):
    prefix = tmp_path / "p"
    out = run(["kernelspec", "install", "--prefix", str(prefix), *args], env, check=2)
    assert needle in out.stderr, out.stderr
    assert not prefix.exists() or leftovers(prefix) in ([], ["share", "share/jupyter",
                                                            "share/jupyter/kernels"])


def test_existing_needs_replace(tmp_path, env):
    prefix = tmp_path / "p"
    args = ["kernelspec", "install", "--prefix", str(prefix), "--spark", "4.1"]
    run(args, env, check=0)
    again = run(args + ["--display-name", "New"], env, check=1)
    assert "--replace" in again.stderr
    kernels = prefix / "share/jupyter/kernels"
    assert os.listdir(kernels) == ["spark-4.1-baseline"]
    run(args + ["--display-name", "New", "--replace"], env, check=0)
    assert json.loads((kernels / "spark-4.1-baseline/kernel.json").read_text())[
        "display_name"] == "New"
    assert os.listdir(kernels) == ["spark-4.1-baseline"]  # no temporary folder left


def test_replace_swaps_a_file_for_the_spec_whole(tmp_path, env):
    """--replace over a file where the spec's folder would go: the install swaps the new
    folder in with one renameat2(RENAME_EXCHANGE), as over an old folder, and the file goes;
    no temporary name is left, and Jupyter reads the spec."""
    kernels = tmp_path / "p/share/jupyter/kernels"
    kernels.mkdir(parents=True)
    (kernels / "spark-4.1-gpu").write_text("a file where the folder would go")
    out = run(["kernelspec", "install", "--prefix", str(tmp_path / "p"), "--all", "--replace"],
              env, check=0)
    assert "installed spark-4.1-gpu in %s\n" % (kernels / "spark-4.1-gpu") in out.stdout, out.stdout
    assert sorted(os.listdir(kernels)) == sorted(NAMES)  # no temporary folder or file left
    assert (kernels / "spark-4.1-gpu").is_dir()
    assert json.loads((kernels / "spark-4.1-gpu/kernel.json").read_text())[
        "metadata"]["spark_k8s"], "not our spec"
    assert "spark-4.1-gpu" in jupyter_list(tmp_path / "p", env)
