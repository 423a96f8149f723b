"""fakekube.images: the images of the matrix (images/matrix.json) as fakekube runs them.

An image is its filesystem and its ENTRYPOINT.  The runtime and Jupyter images hold, at the
paths the matrix's images.layout names (and the Dockerfiles use): the Python environment
with ipykernel and pyspark (images.layout.venv), Spark (spark_home), Java (java_home),
spark-k8s (spark_k8s, also as the GPU discovery script), tini, Spark's Kubernetes entrypoint
(entrypoint), the user spark (uid images.uid) with its home, and writable work directories;
the Jupyter images also the Jupyter environment (JUPYTER_ENV), whose JupyterLab is their CMD.
Here each of those paths is a bind mount of what stands in for it on this machine: the kernel
environment of the same Spark line (what `make install` puts in PREFIX/lib/spark-k8s/envs),
the pyspark package inside it (it carries Spark's jars and bin/), the JVM of `java`, the
spark-k8s binary under test, /usr/bin/tini, image_entrypoint.py in place of Spark's
entrypoint.sh, and the Jupyter environment this Python runs in (else the build's).  Each variant is an image of its own: its <venv>/share/spark-k8s/jars holds
that variant's jars only (RAPIDS for gpu, Iceberg and its AWS bundle for iceberg), linked
from the environment's, as the Dockerfiles put them there.  The ENV of the Dockerfiles (JAVA_HOME, SPARK_HOME, PATH, PYSPARK_PYTHON ...) is
the image's env.

    images(state_dir) -> {image glob: image} for FakeKube(images=...)

A built image runs as itself instead (BuiltImage: tests/kubernetes/test_real_images.py): a
working container of an image in buildah's storage, mounted (`buildah from` + `buildah
mount`), is the image's root filesystem, and its configuration (`buildah inspect`) gives the
ENTRYPOINT, CMD, ENV, WORKDIR and USER.  pod_exec.py runs a pod of it inside that root (an
overlay with a writable layer per container), so the process runs the image's own Java,
Python, Spark, tini, entrypoint and spark-k8s; nothing of this machine but the pod's volumes.

    missing(ref) -> why REF cannot run here (no buildah, not root, not built), or None
    with BuiltImage(ref) as built:       # the working container is removed on exit
        FakeKube(..., images={ref: built.image()})
    user_ids(rootfs, user), home_of(rootfs, uid)   what the image's USER and passwd say
    path_in(rootfs, path) -> the host path of PATH inside the image (its symlinks followed there)
"""

import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys
import uuid

HERE = pathlib.Path(__file__).resolve().parent
JUPYTER_ENV = "/usr/local/lib/spark-k8s/envs/jupyter"   # jupyter.Dockerfile's
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


def jupyter_env():
    """The Jupyter environment on this machine (what the Jupyter images have at JUPYTER_ENV):
    the one this Python runs in when it is one, else the build's; None when neither is."""
    for c in (os.path.dirname(os.path.dirname(os.path.abspath(sys.executable))),
              str(pathlib.Path(os.environ.get("SPARK_K8S_BUILD", REPO / "build")) / "envs" / "jupyter")):
        if os.path.exists(os.path.join(c, "bin", "jupyter")):
            return c
    return None


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
            jfiles = dict(vfiles)
            if jupyter_env():
                jfiles[JUPYTER_ENV] = jupyter_env()
            jupyter = {"entrypoint": [layout["tini"], "-g", "--"],
                       "cmd": [JUPYTER_ENV + "/bin/jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser",
                               "--ServerApp.root_dir=%s/work" % layout["home"]],
                       # the kernel environment first, the Jupyter environment's commands last
                       "env": dict(env, HOME=layout["home"], JUPYTER_PORT="8888",
                                   PATH="%s/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:%s/bin"
                                        % (layout["venv"], JUPYTER_ENV)),
                       "workingDir": layout["home"] + "/work",
                       "files": jfiles,
                       "writable": [layout["work_dir"], layout["home"], layout["home"] + "/work"]}
            for kind, image in ((m["project"]["runtime_image"], runtime), (m["project"]["jupyter_image"], jupyter)):
                # <line>-<spark version>-<variant>, and the immutable tag after it
                out["*%s:%s-*-%s" % (kind, line["line"], variant)] = image
                out["*%s:%s-*-%s-[0-9]*" % (kind, line["line"], variant)] = image
    for line in m["spark"]:  # any other tag of a line: its baseline image
        for kind in (m["project"]["runtime_image"], m["project"]["jupyter_image"]):
            out["*%s:%s-*" % (kind, line["line"])] = out["*%s:%s-*-baseline" % (kind, line["line"])]
    return out


# ---- built images (buildah) ----------------------------------------------------------------

def _buildah(*args, timeout=300):
    return subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=timeout)


def missing(ref):
    """Why the built image REF cannot be run here (no buildah, not root, not in buildah's
    storage), or None."""
    if not shutil.which("buildah"):
        return "buildah is not installed (make images-deps)"
    if os.geteuid() != 0:
        return "buildah's storage and the pods' mounts need root"
    r = _buildah("inspect", "--type", "image", ref)
    if r.returncode != 0:
        return "image %s is not built in buildah's storage (%s): %s" % (
            ref, os.environ.get("CONTAINERS_STORAGE_CONF", "buildah's default storage"),
            (r.stderr.strip().splitlines() or ["no such image"])[-1])
    return None


def _passwd_rows(rootfs, name):
    path = os.path.join(rootfs, "etc", name)
    if not os.path.exists(path):
        return []
    return [row.split(":") for row in pathlib.Path(path).read_text().splitlines() if row.count(":") >= 3]


def user_ids(rootfs, user):
    """(uid, gid) of an image's USER ("name", "uid", "name:group", "uid:gid"), looked up in the
    image's own /etc/passwd and /etc/group as a container runtime does."""
    name, _, group = str(user).partition(":")
    rows = _passwd_rows(rootfs, "passwd")
    row = next((r for r in rows if r[0] == name or r[2] == name), None)
    if row is None and not name.isdigit():
        raise AssertionError("USER %s of the image is not in its /etc/passwd" % user)
    uid = int(row[2]) if row else int(name)
    gid = int(row[3]) if row else uid
    if group:
        grow = next((r for r in _passwd_rows(rootfs, "group") if r[0] == group or r[2] == group), None)
        if grow is None and not group.isdigit():
            raise AssertionError("USER %s of the image: no group %s in its /etc/group" % (user, group))
        gid = int(grow[2]) if grow else int(group)
    return uid, gid


def home_of(rootfs, uid):
    """HOME as a container runtime sets it: the user's home in the image's /etc/passwd, else /."""
    row = next((r for r in _passwd_rows(rootfs, "passwd") if r[2] == str(uid)), None)
    return row[5] if row and len(row) > 5 and row[5] else "/"


def path_in(rootfs, path):
    """Where PATH (absolute, inside the image) is on this machine: each symbolic link of the
    image followed inside ROOTFS (an absolute target is the image's, not the host's); None
    when the image has nothing there."""
    parts, done, links = [p for p in path.split("/") if p], [], 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            done = done[:-1]
            continue
        host = os.path.join(rootfs, *done, part)
        if os.path.islink(host):
            links += 1
            if links > 40:
                return None
            target = os.readlink(host)
            parts = [p for p in target.split("/") if p] + parts
            if target.startswith("/"):
                done = []
            continue
        if not os.path.lexists(host):
            return None
        done.append(part)
    return os.path.join(rootfs, *done)


class BuiltImage:
    """An image in buildah's storage as a fake pod runs it (see the module docstring): a
    working container of it, mounted, for as long as this is open; removed on close."""

    def __init__(self, ref):
        self.ref = ref
        self.container = None
        self.rootfs = None
        self.config = None

    def open(self):
        r = _buildah("inspect", "--type", "image", self.ref)
        assert r.returncode == 0, "buildah inspect %s: %s" % (self.ref, r.stderr.strip())
        self.config = json.loads(r.stdout)["OCIv1"].get("config") or {}
        r = _buildah("from", "--pull=never", "--name", "fakekube-" + uuid.uuid4().hex[:12], self.ref)
        assert r.returncode == 0, "buildah from %s: %s" % (self.ref, r.stderr.strip())
        self.container = r.stdout.strip().splitlines()[-1]
        r = _buildah("mount", self.container)
        assert r.returncode == 0, "buildah mount %s (%s): %s" % (self.container, self.ref, r.stderr.strip())
        self.rootfs = r.stdout.strip().splitlines()[-1]
        return self

    def image(self):
        """The image for FakeKube(images=...): its root filesystem and configuration."""
        cfg = self.config
        return {"rootfs": self.rootfs, "entrypoint": list(cfg.get("Entrypoint") or []),
                "cmd": list(cfg.get("Cmd") or []),
                "env": dict(e.split("=", 1) for e in cfg.get("Env") or [] if "=" in e),
                "workingDir": cfg.get("WorkingDir") or "/", "user": cfg.get("User") or ""}

    def close(self):
        """Unmount and remove the working container (never the image)."""
        if self.container:
            problems = [r.stderr.strip() for r in (_buildah("umount", self.container),
                                                   _buildah("rm", self.container)) if r.returncode != 0]
            self.container = None
            assert not problems, "buildah: removing the working container of %s: %s" % (self.ref, problems)

    def __enter__(self):
        try:
            return self.open()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()
