"""fakekube.images: the images of the matrix (images/matrix.json) as fakekube runs them.

An image is its filesystem and its ENTRYPOINT.  The runtime and Jupyter images hold, at the
paths the matrix's images.layout names (and the Dockerfiles use): the Python environment
with ipykernel and pyspark (images.layout.venv), Spark (spark_home), Java (java_home),
spark-k8s (spark_k8s, also as the GPU discovery script), tini, Spark's Kubernetes entrypoint
(entrypoint), the user spark (uid images.uid) with its home, and writable work directories.
Here each of those paths is a bind mount of what stands in for it on this machine: the kernel
environment of the same Spark line (what `make install` puts in PREFIX/lib/spark-k8s/envs),
the pyspark package inside it (it carries Spark's jars and bin/), the JVM of `java`, the
spark-k8s binary under test, /usr/bin/tini, and image_entrypoint.py in place of Spark's
entrypoint.sh.  Each variant is an image of its own: its <venv>/share/spark-k8s/jars holds
that variant's jars only (RAPIDS for gpu, Iceberg and its AWS bundle for iceberg), linked
from the environment's, as the Dockerfiles put them there.  The ENV of the Dockerfiles (JAVA_HOME, SPARK_HOME, PATH, PYSPARK_PYTHON ...) is
the image's env.

    images(state_dir) -> {image glob: image} for FakeKube(images=...)
"""

import glob
import json
import os
import pathlib
import shutil

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
ENTRYPOINT = HERE / "image_entrypoint.py"


def matrix():
    return json.loads((REPO / "images" / "matrix.json").read_text())


def spark_k8s_binary():
    prefix = os.environ.get("SPARK_K8S_PREFIX")
    if prefix and os.path.exists(os.path.join(prefix, "bin", "spark-k8s")):
        return os.path.join(prefix, "bin", "spark-k8s")
    return str(pathlib.Path(os.environ.get("SPARK_K8S_BUILD", REPO / "build")) / "spark-k8s")


def kernel_env(line):
    """The kernel environment of a Spark line on this machine (installed, else built)."""
    candidates = []
    prefix = os.environ.get("SPARK_K8S_PREFIX")
    if prefix:
        candidates.append(os.path.join(prefix, "lib", "spark-k8s", "envs", "spark-" + line))
    candidates.append(str(pathlib.Path(os.environ.get("SPARK_K8S_BUILD", REPO / "build")) / "envs" / ("spark-" + line)))
    for c in candidates:
        if os.path.exists(os.path.join(c, "bin", "python3")):
            return c
    raise AssertionError("no kernel environment for Spark %s in %s (make envs)" % (line, candidates))


def java_home():
    java = shutil.which("java")
    assert java, "java is not installed (openjdk-17-jre-headless)"
    return str(pathlib.Path(os.path.realpath(java)).parent.parent)


def _passwd(state_dir, uid, home):
    """/etc/passwd and /etc/group of the images: the host's, plus the user spark."""
    out = {}
    for name, line in (("passwd", "spark:x:%s:%s::%s:/bin/bash\n" % (uid, uid, home)),
                       ("group", "spark:x:%s:\n" % uid)):
        text = pathlib.Path("/etc", name).read_text()
        if not any(row.split(":")[2:3] == [str(uid)] for row in text.splitlines() if row):
            text += line
        path = os.path.join(state_dir, "image-" + name)
        pathlib.Path(path).write_text(text)
        os.chmod(path, 0o644)
        out["/etc/" + name] = path
    return out


# Which of a kernel environment's jars (share/spark-k8s/jars) each variant's images hold.
VARIANT_JARS = {"gpu": ("rapids-4-spark_",), "iceberg": ("iceberg-spark-runtime-", "iceberg-aws-bundle-")}


def variant_jars(state_dir, env_dir, line, variant):
    """A folder holding (as hard links) the jars of VARIANT from ENV_DIR's jars folder: what the
    variant's image has at <venv>/share/spark-k8s/jars, and nothing of the other variants."""
    source = os.path.join(env_dir, "share", "spark-k8s", "jars")
    folder = os.path.join(state_dir, "image-jars", "%s-%s" % (line, variant))
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o755)
    prefixes = tuple(p for feature, ps in VARIANT_JARS.items() if feature in variant.split("-") for p in ps)
    for name in sorted(os.listdir(source)) if os.path.isdir(source) else []:
        target = os.path.join(folder, name)
        if name.endswith(".jar") and name.startswith(prefixes) and not os.path.lexists(target):
            # a hard link: a symbolic one into a build under /tmp would point into the pod's
            # own /tmp (an emptyDir) and find nothing there
            try:
                os.link(os.path.realpath(os.path.join(source, name)), target)
            except OSError:
                os.symlink(os.path.realpath(os.path.join(source, name)), target)
    return folder


def images(state_dir):
    m = matrix()
    layout, uid = m["images"]["layout"], m["images"]["uid"]
    out = {}
    tini = shutil.which("tini") or "/usr/bin/tini"
    # the most specific tag first: the first glob that matches names the image
    variants = sorted(m["variants"], key=lambda v: -len(v.split("-")))
    for line in m["spark"]:
        env_dir = kernel_env(line["line"])
        layout = {k: v.replace("{line}", line["line"]) for k, v in m["images"]["layout"].items()}
        pyspark = glob.glob(os.path.join(env_dir, "lib", "python3*", "site-packages", "pyspark"))
        assert pyspark, "no pyspark in %s" % env_dir
        files = {layout["venv"]: env_dir, layout["spark_home"]: pyspark[0], layout["java_home"]: java_home(),
                 layout["spark_k8s"]: spark_k8s_binary(),
                 os.path.join(os.path.dirname(layout["spark_k8s"]), "spark-k8s-gpu-discovery"): spark_k8s_binary(),
                 layout["tini"]: tini, layout["entrypoint"]: str(ENTRYPOINT)}
        files.update(_passwd(state_dir, uid, layout["home"]))
        env = {"JAVA_HOME": layout["java_home"], "SPARK_HOME": layout["spark_home"],
               "SPARK_K8S_ENV": layout["venv"],
               "PATH": "%s/bin:%s/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                       % (layout["venv"], layout["spark_home"]),
               "PYSPARK_PYTHON": layout["python"], "PYSPARK_DRIVER_PYTHON": layout["python"]}
        has_jars = os.path.isdir(os.path.join(env_dir, "share", "spark-k8s", "jars"))
        for variant in variants:
            vfiles = dict(files)
            if has_jars:
                vfiles[layout["venv"] + "/share/spark-k8s/jars"] = variant_jars(state_dir, env_dir, line["line"],
                                                                                variant)
            runtime = {"entrypoint": [layout["entrypoint"]], "env": env, "workingDir": layout["work_dir"],
                       "files": vfiles, "writable": [layout["work_dir"], layout["home"]]}
            jupyter = {"entrypoint": [layout["tini"], "-g", "--"],
                       "cmd": ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser"],
                       "env": dict(env, HOME=layout["home"]), "workingDir": layout["home"] + "/work",
                       "files": vfiles,
                       "writable": [layout["work_dir"], layout["home"], layout["home"] + "/work"]}
            for kind, image in ((m["project"]["runtime_image"], runtime), (m["project"]["jupyter_image"], jupyter)):
                # <line>-<spark version>-<variant>, and the immutable tag after it
                out["*%s:%s-*-%s" % (kind, line["line"], variant)] = image
                out["*%s:%s-*-%s-[0-9]*" % (kind, line["line"], variant)] = image
    for line in m["spark"]:  # any other tag of a line: its baseline image
        for kind in (m["project"]["runtime_image"], m["project"]["jupyter_image"]):
            out["*%s:%s-*" % (kind, line["line"])] = out["*%s:%s-*-baseline" % (kind, line["line"])]
    return out
