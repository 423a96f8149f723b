"""test_image_layout.py — the matrix's images.layout (where the kubernetes runtime and the
fake's images, fakeimages.py, expect things inside the images) is what the Dockerfiles build:
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
    assert env["PYSPARK_PYTHON"] == env["PYSPARK_DRIVER_PYTHON"] == LAYOUT["python"]
    assert LAYOUT["python"].startswith(LAYOUT["venv"] + "/bin/")
    assert env["SPARK_HOME"] == LAYOUT["spark_home"] and env["JAVA_HOME"] == LAYOUT["java_home"]
    assert env["PATH"].split(":")[:2] == [LAYOUT["venv"] + "/bin", LAYOUT["spark_home"] + "/bin"]
    assert f"-m venv {LAYOUT['venv']}" in RUNTIME
    assert re.search(r"COPY --from=spark-k8s \S+ %s\n" % re.escape(LAYOUT["spark_k8s"]), RUNTIME)
    assert f"entrypoint.sh {LAYOUT['entrypoint']}" in RUNTIME
    assert f'ENTRYPOINT ["{LAYOUT["entrypoint"]}"]' in RUNTIME
    assert f"WORKDIR {LAYOUT['work_dir']}" in RUNTIME
    assert f"--home-dir {LAYOUT['home']}" in RUNTIME and "--uid \"${SPARK_UID}\"" in RUNTIME
    assert MATRIX["images"]["debian_packages"]["tini"]["name"] == "tini"  # Debian's: /usr/bin/tini
    assert LAYOUT["tini"] == "/usr/bin/tini"


def test_the_jupyter_image_runs_under_the_same_tini():
    assert f'ENTRYPOINT ["{LAYOUT["tini"]}", "-g", "--"]' in JUPYTER
    assert f"--python {LAYOUT['python']}" in JUPYTER
