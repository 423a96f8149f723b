"""test_image_layout.py — the matrix's images.layout (where the kubernetes runtime and the
fake's images, fakekube/images.py, expect things inside the images) is what the Dockerfiles build:
the Python environment and its interpreter, Spark, Java, spark-k8s, tini, Spark's entrypoint,
the spark user's home and the runtime's working directory."""
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNTIME = (ROOT / "images" / "runtime.Dockerfile").read_text()
JUPYTER = (ROOT / "images" / "jupyter.Dockerfile").read_text()
MATRIX = json.loads((ROOT / "images" / "matrix.json").read_text())
LAYOUT = MATRIX["images"]["layout"]


def env_of(dockerfile):
    """The ENV assignments of a Dockerfile (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", dockerfile)
    out = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for key, value in re.findall(r"(\w+)=(\S+)", line[4:]):
                out[key] = value
    return out


def test_the_runtime_image_has_the_layout():
    env = env_of(RUNTIME)
    for line in (s["line"] for s in MATRIX["spark"]):
        at = {k: v.replace("{line}", line) for k, v in LAYOUT.items()}
        image_env = {k: v.replace("${SPARK_LINE}", line) for k, v in env.items()}
        image_env = {k: v.replace("${SPARK_K8S_ENV}", image_env["SPARK_K8S_ENV"]) for k, v in image_env.items()}
        assert image_env["SPARK_K8S_ENV"] == at["venv"]
        assert image_env["PYSPARK_PYTHON"] == image_env["PYSPARK_DRIVER_PYTHON"] == at["python"]
        assert at["python"].startswith(at["venv"] + "/bin/")
        assert image_env["PATH"].split(":")[:2] == [at["venv"] + "/bin", LAYOUT["spark_home"] + "/bin"]
    # the environment is installed from its lock where the layout says
    assert 'install.py "spark-${SPARK_LINE}" "/usr/local/lib/spark-k8s/envs/spark-${SPARK_LINE}"' in RUNTIME
    assert env["SPARK_HOME"] == LAYOUT["spark_home"] and env["JAVA_HOME"] == LAYOUT["java_home"]
    assert re.search(r"COPY --from=spark-k8s \S+ %s\n" % re.escape(LAYOUT["spark_k8s"]), RUNTIME)
    assert re.search(r"COPY images/entrypoint.sh .*%s" % re.escape(LAYOUT["entrypoint"].rsplit("/", 1)[0] + "/"), RUNTIME)
    assert f'ENTRYPOINT ["{LAYOUT["entrypoint"]}"]' in RUNTIME
    assert f"WORKDIR {LAYOUT['work_dir']}" in RUNTIME
    assert f"--home-dir {LAYOUT['home']}" in RUNTIME and "--uid \"${SPARK_UID}\"" in RUNTIME
    assert MATRIX["images"]["debian_packages"]["tini"]["name"] == "tini"  # Debian's: /usr/bin/tini
    assert LAYOUT["tini"] == "/usr/bin/tini"


def test_the_jupyter_image_runs_under_the_same_tini():
    assert f'ENTRYPOINT ["{LAYOUT["tini"]}", "-g", "--"]' in JUPYTER
    # the kernelspecs run the environment beside spark-k8s: the layout's python
    assert "spark-k8s kernelspec install --spark \"${SPARK_LINE}\"" in JUPYTER
    assert LAYOUT["spark_k8s"] == "/usr/local/bin/spark-k8s"
    assert LAYOUT["venv"].startswith("/usr/local/lib/spark-k8s/envs/")
