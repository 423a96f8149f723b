"""test_images.py — the image build subsystem without building: the plan (16 images,
both tags, bases, build arguments, order), refusals of matrices the compatibility
facts rule out, the bake file, `images build` without an engine, with buildah
(a stand-in buildah on PATH records what it is asked and reports sizes), build
argument substitution, static checks of the Dockerfiles (dockerfile-utils lint plus
our own rules), the runtime image's entrypoint, shellcheck of every shell script,
the README table, and smoke.sh reporting itself skipped."""
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SPARK_K8S_BUILD", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "spark-k8s")
MATRIX_PATH = os.path.join(ROOT, "images", "matrix.json")
DOCKERFILES = {
    "runtime": os.path.join(ROOT, "images", "runtime.Dockerfile"),
    "jupyter": os.path.join(ROOT, "images", "jupyter.Dockerfile"),
}
LINT = os.path.join(ROOT, "tests", "images", "node_modules", ".bin", "dockerfile-utils")
REVISION = "0123456789abcdef0123456789abcdef01234567"


def load_matrix():
    with open(MATRIX_PATH) as f:
        return json.load(f)


def spark_k8s_version():
    out = subprocess.run([BIN, "version"], capture_output=True, text=True, check=True).stdout
    return out.split()[-1]


def jar_pins(component):
    """The objects of COMPONENT that pin a jar: each classifier's, or its own."""
    return list(component["classifiers"].values()) if component.get("classifiers") else [component]


def pinned(matrix):
    """The matrix with every checksum filled (fake values of the right shape)."""
    m = copy.deepcopy(matrix)
    for s in m["spark"]:
        for c in ("iceberg", "iceberg_aws_bundle", "rapids"):
            for pin in jar_pins(s[c]):
                pin["sha256"] = "ab" * 32
                pin["sha1"] = "cd" * 20
    return m


@pytest.fixture
def tmp():
    """A private directory removed after the test (pytest's tmp_path would be kept)."""
    with tempfile.TemporaryDirectory(prefix="spark-k8s-images-") as d:
        yield d


def run_images(args, matrix=None, tmp=None, env_extra=None, cwd=ROOT):
    env = dict(os.environ)
    env.pop("IMAGES", None)
    env.pop("REGISTRY", None)
    env.pop("PUSH", None)
    env.pop("GPU_PYTHON", None)
    env["SPARK_K8S_REVISION"] = REVISION
    if matrix is not None:
        path = os.path.join(str(tmp), "matrix.json")
        with open(path, "w") as f:
            json.dump(matrix, f)
        env["SPARK_K8S_MATRIX"] = path
    else:
        env.pop("SPARK_K8S_MATRIX", None)
    env.update(env_extra or {})
    return subprocess.run([BIN, "images"] + args, capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60)


def plan_json(tmp, matrix=None, args=(), env_extra=None):
    r = run_images(["plan", "--json"] + list(args), matrix=matrix, tmp=tmp, env_extra=env_extra)
    assert r.stdout, r.stderr
    return r, json.loads(r.stdout)


# ---- the plan ----

def test_plan_has_the_16_images_in_order(tmp):
    m = pinned(load_matrix())
    ver = spark_k8s_version()
    r, plan = plan_json(tmp, m)
    assert r.returncode == 0, r.stderr
    assert plan["buildable"] is True
    images = plan["images"]
    lines = [s["line"] for s in m["spark"]]
    variants = m["variants"]
    assert len(images) == 2 * len(lines) * len(variants) == 16
    expected = [(k, l, v) for k in ("runtime", "jupyter") for l in lines for v in variants]
    assert [(i["kind"], i["line"], i["variant"]) for i in images] == expected
    assert [i["order"] for i in images] == list(range(1, 17))
    names = {i["name"]: i for i in images}
    for i in images:
        s = next(x for x in m["spark"] if x["line"] == i["line"])
        repo = m["project"]["%s_image" % i["kind"]]
        tag = "%s-%s-%s" % (i["line"], s["version"], i["variant"])
        assert i["tag"] == tag
        assert i["image"] == "%s:%s" % (repo, tag)
        # the immutable tag adds spark-k8s's version; kernelspecs name that one
        assert i["version_tag"] == "%s-%s" % (tag, ver)
        assert i["version_image"] == "%s:%s-%s" % (repo, tag, ver)
        assert i["tags"] == [i["image"], i["version_image"]]
        assert i["spark_version"] == s["version"]
        assert i["dockerfile"] == "images/%s.Dockerfile" % i["kind"]
        assert i["budget_mb"] == m["budgets_mb"][i["kind"]][i["variant"]]
        a = i["args"]
        assert a["SPARK_VERSION"] == s["version"]
        assert a["SPARK_LINE"] == s["line"]
        assert a["SCALA_VERSION"] == s["scala"]
        assert a["VARIANT"] == i["variant"]
        assert a["SPARK_K8S_VERSION"] == ver
        assert a["VCS_REF"] == REVISION
        gpu = "gpu" in i["variant"].split("-")
        ice = "iceberg" in i["variant"].split("-")
        assert ("RAPIDS_VERSION" in a) == gpu
        assert ("ICEBERG_VERSION" in a) == ice
        if gpu:
            assert a["RAPIDS_VERSION"] == s["rapids"]["version"]
        if ice:
            assert a["ICEBERG_VERSION"] == s["iceberg"]["version"]
        # Spark and the Python packages come from the locks, never as arguments
        assert not {"SPARK_URL", "SPARK_SHA256", "PYTHON_PACKAGES"} & set(a)
        python = m["images"]["debian_packages"]["python"]
        assert a["PYTHON_PACKAGE"] == "%s=%s" % (python["name"], python["version"])
        assert a["DEBIAN_SNAPSHOT"] == m["images"]["debian_snapshot"]
        if i["kind"] == "runtime":
            assert i["base"] == m["images"]["base"] == a["BASE_IMAGE"]
            assert i["depends_on"] is None
            assert ("RAPIDS_JARS" in a) == gpu and "RAPIDS_URL" not in a
            assert ("ICEBERG_URL" in a) == ice
            if gpu:
                # every build of the release, one word each; rapids-jar.sh picks one
                art = s["rapids"]["artifact"].split(":")[1]
                v = s["rapids"]["version"]
                words = a["RAPIDS_JARS"].split(" ")
                assert len(words) == len(s["rapids"]["classifiers"])
                for word, (name, k) in zip(words, s["rapids"]["classifiers"].items()):
                    assert word.split("|") == [name, k["arch"], str(k["cuda"]), k["sha256"],
                                               k["sha1"], word.split("|")[5]]
                    assert word.split("|")[5].endswith("/%s/%s/%s-%s-%s.jar" % (art, v, art, v, name))
                default = s["rapids"]["classifiers"][s["rapids"]["default_classifier"]]
                assert a["RAPIDS_CUDA"] == str(default["cuda"])
                assert a["RAPIDS_CLASSIFIER"] == ""
            if ice:
                art = s["iceberg"]["artifact"].split(":")[1]
                assert a["ICEBERG_URL"].endswith("/%s-%s.jar" % (art, s["iceberg"]["version"]))
                assert a["ICEBERG_SHA256"] == s["iceberg"]["sha256"]
                assert a["ICEBERG_AWS_SHA256"] == s["iceberg_aws_bundle"]["sha256"]
            java = m["images"]["debian_packages"]["java" + s["java"]]
            assert a["JAVA_PACKAGE"] == "%s=%s" % (java["name"], java["version"])
        else:
            runtime = names["runtime-%s-%s" % (i["line"], i["variant"])]
            assert i["base"] == runtime["image"] == a["RUNTIME_IMAGE"]
            assert i["depends_on"] == runtime["name"]
            assert runtime["order"] < i["order"]
            assert ("GPU_PYTHON" in a) == gpu
            if gpu:
                assert a["GPU_PYTHON"] == "0"
                assert a["GPU_PYTHON_PACKAGES"] == " ".join(
                    "%s==%s" % kv for kv in m["images"]["python_packages"]["jupyter_gpu"].items())


def test_plan_text_lists_every_image_with_its_base(tmp):
    r = run_images(["plan"], matrix=pinned(load_matrix()), tmp=tmp)
    assert r.returncode == 0, r.stderr
    _, plan = plan_json(tmp, pinned(load_matrix()))
    rows = [l for l in r.stdout.splitlines() if re.match(r"^\s*\d+ \S+:\S+ ", l)]
    assert len(rows) == 16
    for row, img in zip(rows, plan["images"]):
        order, ref = row.split()[:2]
        assert int(order) == img["order"] and ref == img["image"]
        assert "FROM " + img["base"] in row
    assert r.stdout.count("also tagged ") == 16
    for img in plan["images"]:
        assert "also tagged %s\n" % img["version_tag"] in r.stdout


def test_plan_shows_but_build_refuses_while_a_checksum_is_missing(tmp):
    m = pinned(load_matrix())
    m["spark"][1]["rapids"]["classifiers"]["cuda13"]["sha256"] = ""
    r, plan = plan_json(tmp, m)
    assert r.returncode == 0, r.stderr  # a plan is only a plan
    assert plan["buildable"] is False
    assert "spark[1] (%s) rapids.classifiers.cuda13.sha256" % m["spark"][1]["version"] \
        in plan["refusal"]
    assert "no checksum" in r.stderr and "not buildable yet" in r.stderr
    assert len(plan["images"]) == 16
    b = run_images(["build"], matrix=m, tmp=tmp)
    assert b.returncode == 2
    assert "no checksum" in b.stderr and "refusing to build" in b.stderr
    # images that download no RAPIDS jar do not need its checksum
    for sel in ("jupyter-4.1-iceberg", "runtime-4.1-baseline,runtime-3.5-gpu"):
        r, plan = plan_json(tmp, m, env_extra={"IMAGES": sel})
        assert plan["buildable"] is True, plan.get("refusal")
    r, plan = plan_json(tmp, m, env_extra={"IMAGES": "jupyter-4.1-gpu-iceberg"})
    assert plan["buildable"] is False


def test_the_committed_matrix_builds_baseline_images_without_any_checksum(tmp):
    """Baseline images download nothing but the locked environments (hashes in the
    locks): buildable from the matrix as committed, jar checksums or not."""
    r, plan = plan_json(tmp, None, env_extra={"IMAGES": "jupyter-*-baseline"})
    assert r.returncode == 0 and plan["buildable"] is True, r.stderr


def test_registry_and_gpu_python(tmp):
    _, plan = plan_json(tmp, pinned(load_matrix()), args=["--registry", "ghcr.io/acme/"],
                        env_extra={"GPU_PYTHON": "1"})
    for i in plan["images"]:
        assert i["image"].startswith("ghcr.io/acme/spark-k8s-")
        if i["kind"] == "jupyter":
            assert i["base"].startswith("ghcr.io/acme/spark-k8s-runtime:")
            if "gpu" in i["variant"]:
                assert i["args"]["GPU_PYTHON"] == "1"
    _, plan = plan_json(tmp, pinned(load_matrix()), env_extra={"REGISTRY": "reg.example:5000"})
    assert all(i["image"].startswith("reg.example:5000/") for i in plan["images"])


def test_images_selection_brings_the_runtime_base(tmp):
    _, plan = plan_json(tmp, pinned(load_matrix()), env_extra={"IMAGES": "jupyter-4.1-gpu"})
    assert [(i["order"], i["name"]) for i in plan["images"]] == [
        (1, "runtime-4.1-gpu"), (2, "jupyter-4.1-gpu")]
    assert plan["images"][1]["depends_on"] == "runtime-4.1-gpu"
    _, plan = plan_json(tmp, pinned(load_matrix()), args=["--images", "runtime-*-iceberg,runtime-3_5-gpu"])
    assert [i["name"] for i in plan["images"]] == [
        "runtime-3.5-gpu", "runtime-3.5-iceberg", "runtime-3.5-gpu-iceberg",
        "runtime-4.1-iceberg", "runtime-4.1-gpu-iceberg"]
    r = run_images(["plan"], matrix=pinned(load_matrix()), tmp=tmp, env_extra={"IMAGES": "runtime-9.9-gpu"})
    assert r.returncode == 2
    assert "'runtime-9.9-gpu' selects no image" in r.stderr
    assert r.stdout == ""


# ---- refusals: combinations the compatibility facts rule out ----

def refusal(tmp, mutate):
    m = pinned(load_matrix())
    mutate(m)
    r = run_images(["plan"], matrix=m, tmp=tmp)
    assert r.returncode == 2, r.stdout
    assert r.stdout == "", "a refused matrix must not print a plan"
    for action in ("bake", "build"):
        b = run_images([action, "--bake-file", os.path.join(str(tmp), "bake.json")], matrix=m, tmp=tmp)
        assert b.returncode == 2 and "refused" in b.stderr
        assert not os.path.exists(os.path.join(str(tmp), "bake.json"))
    return r.stderr


def test_refuses_spark_4_1_0_with_rapids(tmp):
    def f(m):
        m["spark"][1]["version"] = "4.1.0"
    err = refusal(tmp, f)
    assert "no RAPIDS release" in err and "Spark 4.1.0" in err


def test_refuses_iceberg_without_a_spark_module(tmp):
    def f(m):
        m["spark"][1]["iceberg"]["version"] = "1.10.0"
        m["spark"][1]["iceberg_aws_bundle"]["version"] = "1.10.0"
    err = refusal(tmp, f)
    assert "Iceberg 1.10.0 has no Spark 4.1 module" in err


def test_refuses_rapids_that_does_not_list_the_spark_version(tmp):
    def f(m):  # a 3.5 patch release RAPIDS 25.04.0 has no shim for
        m["spark"][0]["version"] = "3.5.7"
        m["spark"][0]["rapids"]["supported_spark"].append("3.5.7")
    err = refusal(tmp, f)
    assert "RAPIDS %s does not support Spark 3.5.7" % load_matrix()["spark"][0]["rapids"]["version"] \
        in err


def test_refuses_a_rapids_default_classifier_it_lacks(tmp):
    def f(m):
        m["spark"][1]["rapids"]["default_classifier"] = "cuda11"
    err = refusal(tmp, f)
    assert "rapids.default_classifier: 'cuda11' is not one of its classifiers" in err


def test_refuses_fields_the_locks_own(tmp):
    """An old matrix with pandas/pyarrow/distribution is refused, saying where they went."""
    m = pinned(load_matrix())
    m["spark"][1]["pandas"] = "2.2.3"
    r = run_images(["plan"], matrix=m, tmp=tmp)
    assert r.returncode == 2 and r.stdout == ""
    assert "spark[1].pandas: no longer part of the matrix" in r.stderr
    assert "kernelspecs/envs/spark-4.1.lock" in r.stderr


def test_refuses_scala_mismatches(tmp):
    def f(m):
        m["spark"][1]["rapids"]["artifact"] = "com.nvidia:rapids-4-spark_2.12"
    assert "built for Scala 2.12" in refusal(tmp, f)

    def g(m):
        m["spark"][0]["iceberg"]["artifact"] = "org.apache.iceberg:iceberg-spark-runtime-3.5_2.13"
    assert "Scala mismatch" in refusal(tmp, g)


# ---- bake file and build ----

def test_bake_file_matches_the_plan(tmp):
    m = pinned(load_matrix())
    out = os.path.join(str(tmp), "sub", "docker-bake.json")
    r = run_images(["bake", "--bake-file", out], matrix=m, tmp=tmp)
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        bake = json.load(f)
    _, plan = plan_json(tmp, m)
    targets = bake["target"]
    assert bake["group"]["default"]["targets"] == [i["target"] for i in plan["images"]]
    assert len(targets) == 16
    for i in plan["images"]:
        t = targets[i["target"]]
        assert re.fullmatch(r"[A-Za-z0-9_-]+", i["target"])
        assert t["tags"] == [i["image"], i["version_image"]]
        assert t["args"] == i["args"]
        assert t["context"] == "."
        assert os.path.exists(os.path.join(ROOT, t["dockerfile"]))
        if i["kind"] == "jupyter":
            dep = next(x for x in plan["images"] if x["name"] == i["depends_on"])
            assert t["contexts"] == {i["base"]: "target:" + dep["target"]}
        else:
            assert "contexts" not in t


def test_bake_refuses_unverified_downloads(tmp):
    out = os.path.join(str(tmp), "docker-bake.json")
    m = pinned(load_matrix())
    m["spark"][0]["rapids"]["classifiers"]["cuda12-arm64"]["sha256"] = ""
    r = run_images(["bake", "--bake-file", out], matrix=m, tmp=tmp)
    assert r.returncode == 2
    assert "rapids.classifiers.cuda12-arm64.sha256" in r.stderr and "no checksum" in r.stderr
    assert not os.path.exists(out)


def test_build_dry_run_plain_docker_in_order(tmp):
    m = pinned(load_matrix())
    r = run_images(["build", "--dry-run", "--builder", "docker"], matrix=m, tmp=tmp,
                   env_extra={"PUSH": "1", "IMAGES": "jupyter-3.5-iceberg"})
    assert r.returncode == 0, r.stderr
    cmds = [l[2:].split() for l in r.stdout.splitlines() if l.startswith("+ ")]
    builds = [c for c in cmds if c[:2] == ["docker", "build"]]
    spark, ver = m["spark"][0]["version"], spark_k8s_version()
    assert [[c[k + 1] for k in range(len(c)) if c[k] == "--tag"] for c in builds] == [
        ["spark-k8s-runtime:3.5-%s-iceberg" % spark, "spark-k8s-runtime:3.5-%s-iceberg-%s" % (spark, ver)],
        ["spark-k8s-jupyter:3.5-%s-iceberg" % spark, "spark-k8s-jupyter:3.5-%s-iceberg-%s" % (spark, ver)]]
    assert builds[0][builds[0].index("--file") + 1] == "./images/runtime.Dockerfile"
    assert "ICEBERG_VERSION=%s" % m["spark"][0]["iceberg"]["version"] in builds[0]
    assert builds[0][-1] == "."
    kinds = [c[1] for c in cmds]
    # build, build, then size report (inspect), then push (both tags): nothing pushed before it is sized
    assert kinds == ["build", "build", "image", "image", "push", "push", "push", "push"]


def test_build_dry_run_bake(tmp):
    m = pinned(load_matrix())
    out = os.path.join(str(tmp), "bake.json")
    r = run_images(["build", "--dry-run", "--builder", "bake", "--bake-file", out], matrix=m, tmp=tmp)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0].split()
    assert first[:6] == ["+", "docker", "buildx", "bake", "--file", out]
    assert "--load" in first and len(first) == 7 + 16
    assert os.path.exists(out)


def test_build_without_docker_client_says_so(tmp):
    empty = os.path.join(str(tmp), "empty-bin")
    os.mkdir(empty)
    r = run_images(["build", "--builder", "docker"], matrix=pinned(load_matrix()), tmp=tmp,
                   env_extra={"PATH": empty})
    assert r.returncode == 1
    assert "docker: not found on PATH" in r.stderr


def engine_reachable():
    if not shutil.which("docker"):
        return False
    r = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                       capture_output=True, timeout=30)
    return r.returncode == 0


def test_build_without_engine_fails_clearly(tmp):
    if not shutil.which("docker"):
        pytest.skip("no docker client here (the PATH test covers a missing client)")
    if engine_reachable():
        pytest.skip("a Docker engine is reachable here; this test is for machines without one")
    r = run_images(["build", "--builder", "docker"], matrix=pinned(load_matrix()), tmp=tmp)
    assert r.returncode == 1
    assert "no Docker engine is reachable" in r.stderr
    assert "+ docker build" not in r.stdout and "+ docker buildx" not in r.stdout


# ---- buildah, where no Docker engine runs (stand-ins on PATH) ----

FAKE_DOCKER = """#!/bin/sh
echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
exit 1
"""

# Records each call; `inspect` answers a manifest whose layers add up to the bytes
# FAKE_SIZES gives for the reference (JSON {ref: bytes}).
FAKE_BUILDAH = """#!%s
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:2] == ["inspect"]:
    size = json.loads(os.environ.get("FAKE_SIZES", "{}")).get(sys.argv[-1], 1000)
    print(json.dumps({"schemaVersion": 2, "layers": [{"size": size // 2}, {"size": size - size // 2}]}))
sys.exit(int(os.environ.get("FAKE_BUILD_RC", "0")) if sys.argv[1:2] == ["build"] else 0)
""" % sys.executable


def fake_tools(tmp, docker=True):
    bin_dir = os.path.join(str(tmp), "bin")
    os.makedirs(bin_dir, exist_ok=True)
    tools = {"buildah": FAKE_BUILDAH}
    if docker:
        tools["docker"] = FAKE_DOCKER
    for name, text in tools.items():
        path = os.path.join(bin_dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
    log = os.path.join(str(tmp), "calls.jsonl")
    return {"PATH": bin_dir, "FAKE_LOG": log}, log


def calls(log):
    with open(log) as f:
        return [json.loads(l) for l in f]


def test_build_uses_buildah_where_no_docker_engine_runs(tmp):
    m = pinned(load_matrix())
    env, log = fake_tools(tmp)
    _, plan = plan_json(tmp, m, env_extra={"IMAGES": "jupyter-4.1-baseline"})
    runtime, jupyter = plan["images"]
    env.update(IMAGES="jupyter-4.1-baseline",
               FAKE_SIZES=json.dumps({runtime["image"]: 1000 * 10**6, jupyter["image"]: 1500 * 10**6}))
    r = run_images(["build", "--build-arg", "BASE_IMAGE=localhost/base:1",
                    "--builder-arg", "--volume=/a:/b:ro"], matrix=m, tmp=tmp, env_extra=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no Docker engine (Cannot connect to the Docker daemon" in r.stderr
    assert "building with buildah" in r.stderr
    assert ("substituted for this run: BASE_IMAGE=localhost/base:1 in 1 image (the matrix says %s)"
            % m["images"]["base"]) in r.stderr
    c = calls(log)
    assert [x[0] for x in c] == ["version", "build", "build", "inspect", "inspect"]
    for argv, img in zip(c[1:3], plan["images"]):
        # HEALTHCHECK kept, layers cached, no working container left by a failure
        assert argv[:5] == ["build", "--format", "docker", "--layers", "--force-rm"]
        assert argv[argv.index("--file") + 1] == "./" + img["dockerfile"]
        assert [argv[k + 1] for k in range(len(argv)) if argv[k] == "--tag"] == img["tags"]
        assert argv[-2:] == ["--volume=/a:/b:ro", "."]
        args = dict(argv[k + 1].split("=", 1) for k in range(len(argv)) if argv[k] == "--build-arg")
        want = dict(img["args"])
        if img["kind"] == "runtime":
            want["BASE_IMAGE"] = "localhost/base:1"
        assert args == want
    assert c[3][-1] == runtime["image"] and c[4][-1] == jupyter["image"]
    rows = {l.split()[0]: l.split()[1:] for l in r.stdout.splitlines() if l.startswith("spark-k8s-")}
    assert rows[runtime["image"]] == ["1000", str(runtime["budget_mb"]), "ok"]
    assert rows[jupyter["image"]] == ["1500", str(jupyter["budget_mb"]), "ok"]


def test_buildah_over_budget_fails_and_pushes_nothing(tmp):
    m = pinned(load_matrix())
    env, log = fake_tools(tmp)
    _, plan = plan_json(tmp, m, env_extra={"IMAGES": "runtime-3.5-iceberg"})
    ref = plan["images"][0]["image"]
    env.update(IMAGES="runtime-3.5-iceberg", PUSH="1",
               FAKE_SIZES=json.dumps({ref: (plan["images"][0]["budget_mb"] + 1) * 10**6}))
    r = run_images(["build", "--builder", "buildah"], matrix=m, tmp=tmp, env_extra=env)
    assert r.returncode == 1
    assert "OVER BUDGET" in r.stdout and "not pushing" in r.stderr
    assert "push" not in [x[0] for x in calls(log)]


def test_buildah_pushes_both_tags_after_the_size_check(tmp):
    m = pinned(load_matrix())
    env, log = fake_tools(tmp)
    env.update(IMAGES="runtime-4.1-gpu", PUSH="1")
    r = run_images(["build", "--builder", "buildah", "--registry", "reg.example/team"], matrix=m,
                   tmp=tmp, env_extra=env)
    assert r.returncode == 0, r.stderr
    c = calls(log)
    assert [x[0] for x in c] == ["version", "build", "inspect", "push", "push"]
    _, plan = plan_json(tmp, m, args=["--registry", "reg.example/team"],
                        env_extra={"IMAGES": "runtime-4.1-gpu"})
    assert [x[1] for x in c[3:]] == plan["images"][0]["tags"]
    assert all(t.startswith("reg.example/team/") for t in plan["images"][0]["tags"])


def test_buildah_build_failure_stops_the_build(tmp):
    env, log = fake_tools(tmp)
    env.update(IMAGES="jupyter-3.5-baseline", FAKE_BUILD_RC="3")
    r = run_images(["build", "--builder", "buildah"], matrix=pinned(load_matrix()), tmp=tmp,
                   env_extra=env)
    assert r.returncode == 1 and "`buildah build` failed (exit status 3)" in r.stderr
    assert [x[0] for x in calls(log)] == ["version", "build"]


def test_no_docker_and_no_buildah_says_both(tmp):
    env, log = fake_tools(tmp)
    os.unlink(os.path.join(env["PATH"], "buildah"))
    r = run_images(["build"], matrix=pinned(load_matrix()), tmp=tmp, env_extra=env)
    assert r.returncode == 1
    assert "no Docker engine is reachable" in r.stderr and "buildah is not there either" in r.stderr


def test_build_arg_substitution_and_its_refusals(tmp):
    m = pinned(load_matrix())
    r = run_images(["plan", "--build-arg", "BASE_IMAGE=localhost/base:1", "--build-arg",
                    "DEBIAN_SNAPSHOT="], matrix=m, tmp=tmp)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("FROM localhost/base:1") == 8  # the runtime images
    assert "DEBIAN_SNAPSHOT=(empty)" in r.stdout
    assert "substituted for this run: DEBIAN_SNAPSHOT= in 16 images" in r.stderr
    for bad, why in ((["--build-arg", "NO_SUCH=1"], "NO_SUCH: no image of the plan takes it"),
                     (["--build-arg", "=1"], "is not NAME=VALUE"),
                     (["--build-arg", "NOEQUALS"], "is not NAME=VALUE")):
        r = run_images(["plan"] + bad, matrix=m, tmp=tmp)
        assert r.returncode == 2 and why in r.stderr and r.stdout == "", r.stderr
    r = run_images(["build", "--dry-run", "--builder", "bake", "--builder-arg", "--network=host"],
                   matrix=m, tmp=tmp)
    assert r.returncode == 2 and "not to bake" in r.stderr
    r = run_images(["plan", "--builder-arg", "--network=host"], matrix=m, tmp=tmp)
    assert r.returncode == 2 and "option of 'build'" in r.stderr


# ---- the runtime image's entrypoint (the parts that need no image) ----

ENTRYPOINT = os.path.join(ROOT, "images", "entrypoint.sh")


def test_entrypoint_executor_names_what_spark_did_not_set(tmp):
    env = {"PATH": os.environ["PATH"], "SPARK_HOME": str(tmp), "JAVA_HOME": str(tmp)}
    r = subprocess.run([ENTRYPOINT, "executor"], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 2 and "SPARK_DRIVER_URL is not set" in r.stderr
    env.update(SPARK_DRIVER_URL="spark://CoarseGrainedScheduler@h:1", SPARK_EXECUTOR_ID="1",
               SPARK_EXECUTOR_CORES="1", SPARK_APPLICATION_ID="a", SPARK_EXECUTOR_POD_IP="10.0.0.1")
    r = subprocess.run([ENTRYPOINT, "executor"], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 2 and "SPARK_EXECUTOR_MEMORY is not set" in r.stderr


def test_entrypoint_passes_other_commands_through(tmp):
    marker = os.path.join(str(tmp), "it ran")
    r = subprocess.run([ENTRYPOINT, "touch", marker], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and os.path.exists(marker), r.stderr


# ---- Dockerfiles ----

def dockerfile_lines(path):
    """Logical instructions (continuations joined), comments dropped: [(lineno, text)]."""
    out, cur, start = [], "", 0
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not cur and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if cur and line.lstrip().startswith("#"):
                continue
            if not cur:
                start = n
            if line.endswith("\\"):
                cur += line[:-1] + " "
                continue
            cur += line
            out.append((start, cur.strip()))
            cur = ""
    return out


def stages(path):
    result, current = [], None
    for n, text in dockerfile_lines(path):
        word = text.split()[0].upper()
        if word == "FROM":
            current = {"from": text, "lines": []}
            result.append(current)
        elif current is not None:
            current["lines"].append((n, text))
    return result


def global_args(path):
    names = []
    for _, text in dockerfile_lines(path):
        if text.split()[0].upper() == "FROM":
            break
        if text.split()[0].upper() == "ARG":
            names.append(text.split()[1].split("=")[0])
    return names


@pytest.mark.parametrize("kind", ["runtime", "jupyter"])
def test_dockerfile_utils_lint(kind):
    if not os.path.exists(LINT):
        pytest.fail("dockerfile-utils is not installed: run `make deps` (npm ci in tests/images)")
    r = subprocess.run([LINT, "lint", DOCKERFILES[kind]], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout + r.stderr


def test_dockerfile_utils_lint_can_fail(tmp):
    if not os.path.exists(LINT):
        pytest.fail("dockerfile-utils is not installed: run `make deps`")
    bad = os.path.join(str(tmp), "bad.Dockerfile")
    with open(bad, "w") as f:
        f.write("FROM scratch\nEXPOSE eighty\n")
    r = subprocess.run([LINT, "lint", bad], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "EXPOSE" in r.stdout


@pytest.mark.parametrize("kind", ["runtime", "jupyter"])
def test_no_version_numbers_in_dockerfiles(kind):
    for n, text in dockerfile_lines(DOCKERFILES[kind]):
        text = re.sub(r"\b\d+\.\d+\.\d+\.\d+\b", "IP", text)  # 127.0.0.1 is no version
        assert not re.search(r"(?<![\w.-])\d+\.\d+", text), "line %d names a version: %s" % (n, text)
        assert not re.search(r"(?i)\blatest\b", text), "line %d uses latest" % n


@pytest.mark.parametrize("kind", ["runtime", "jupyter"])
def test_dockerfile_args_come_from_the_plan(tmp, kind):
    """Each ARG without a default is given by the plan to every image of that kind, every
    plan argument is an ARG of the Dockerfile, and ARG defaults hold no versions."""
    _, plan = plan_json(tmp, pinned(load_matrix()))
    declared, required = set(), set()
    for _, text in dockerfile_lines(DOCKERFILES[kind]):
        parts = text.split(None, 1)
        if parts[0].upper() != "ARG":
            continue
        name, _, default = parts[1].partition("=")
        declared.add(name)
        if "=" not in parts[1]:
            required.add(name)
        else:
            assert default in ('""', "0"), "ARG %s has a default value %s" % (name, default)
    for img in (i for i in plan["images"] if i["kind"] == kind):
        args = set(img["args"])
        assert required <= args, "%s lacks %s" % (img["name"], required - args)
        assert args <= declared, "%s passes undeclared %s" % (img["name"], args - declared)


def final_stage_env(path):
    """ENV names the final stage of PATH sets: what an image FROM it inherits."""
    names = set()
    for _, text in stages(path)[-1]["lines"]:
        if text.split()[0].upper() == "ENV":
            names.update(re.findall(r"(\w+)=", text))
    return names


@pytest.mark.parametrize("kind", ["runtime", "jupyter"])
def test_each_stage_declares_the_args_it_uses(kind):
    path = DOCKERFILES[kind]
    glob = set(global_args(path))
    for st in stages(path):
        for ref in re.findall(r"\$\{(\w+)", st["from"]):
            assert ref in glob, "%s uses ${%s} not declared before FROM" % (st["from"], ref)
        declared = set()
        if st["from"] == "FROM ${RUNTIME_IMAGE}" or st["from"].startswith("FROM ${RUNTIME_IMAGE} "):
            declared |= final_stage_env(DOCKERFILES["runtime"])  # inherited from the runtime image
        for n, text in st["lines"]:
            word = text.split()[0].upper()
            if word == "ARG":
                declared.add(text.split()[1].split("=")[0])
            elif word == "ENV":
                declared.update(re.findall(r"(\w+)=", text))
            elif word in ("RUN", "LABEL", "USER", "COPY", "WORKDIR"):
                # ${X} expanded by Docker (LABEL/USER/COPY/WORKDIR) or by the shell from ARG/ENV
                for ref in re.findall(r"\$\{(\w+)", text):
                    if word == "RUN" and ref in ("site",):
                        continue  # a shell variable set in the same RUN
                    assert ref in declared, "line %d: ${%s} is not an ARG/ENV of this stage" % (n, ref)


@pytest.mark.parametrize("kind", ["runtime", "jupyter"])
def test_downloads_are_checksum_verified(kind):
    for n, text in dockerfile_lines(DOCKERFILES[kind]):
        word = text.split()[0].upper()
        assert not (word == "ADD" and re.search(r"https?://", text)), "line %d: ADD of a URL" % n
        if word == "RUN":
            # the one downloader is fetch-verified.sh, which requires a checksum
            stripped = re.sub(r"fetch-verified\.sh \"\$\{\w+\}\" \S+ \"\$\{\w+\}\"( \"\$\{\w+\}\")?", "", text)
            assert not re.search(r"\b(curl|wget)\b(?! ca-certificates)", stripped.replace(
                "install -y --no-install-recommends curl", "")), "line %d downloads unverified" % n
            for m in re.finditer(r"fetch-verified\.sh (\S+) (\S+) (\S+)", text):
                assert "SHA" in m.group(3), "line %d: fetch without a checksum: %s" % (n, m.group(0))


def test_fetch_verified_refuses_without_checksum(tmp):
    script = os.path.join(ROOT, "images", "fetch-verified.sh")
    dest = os.path.join(str(tmp), "x.jar")
    r = subprocess.run([script, "https://repo1.maven.org/maven2/x.jar", dest, "", ""],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "refusing an unverified download" in r.stderr
    assert not os.path.exists(dest)


def test_fetch_verified_wants_a_sha256_not_a_sha1_alone(tmp):
    script = os.path.join(ROOT, "images", "fetch-verified.sh")
    dest = os.path.join(str(tmp), "x.jar")
    r = subprocess.run([script, "https://repo1.maven.org/maven2/x.jar", dest, "", "cd" * 20],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "no sha256" in r.stderr and "images pin" in r.stderr
    assert not os.path.exists(dest)


def rapids_jar(tmp, args, arch="amd64"):
    script = os.path.join(ROOT, "images", "rapids-jar.sh")
    env = dict(os.environ, RAPIDS_JAR_DRY_RUN="1", RAPIDS_JAR_ARCH=arch)
    return subprocess.run([script, os.path.join(str(tmp), "jars")] + args, capture_output=True,
                          text=True, env=env, timeout=30)


def test_rapids_jar_picks_the_image_build(tmp):
    """rapids-jar.sh takes the plan's RAPIDS_JARS and fetches one build, verified: the
    image's architecture (Docker's amd64/arm64) with RAPIDS_CUDA, or RAPIDS_CLASSIFIER;
    a build the release lacks is refused, naming those it has."""
    m = load_matrix()
    _, plan = plan_json(tmp, m, env_extra={"IMAGES": "runtime-4.1-gpu"})
    a = plan["images"][0]["args"]
    r4 = m["spark"][1]["rapids"]
    cases = [(["12", ""], "amd64", "cuda12"), (["13", ""], "amd64", "cuda13"),
             (["12", ""], "arm64", "cuda12-arm64"), (["13", ""], "aarch64", "cuda13-arm64"),
             (["12", "cuda13-arm64"], "amd64", "cuda13-arm64")]
    for args, arch, want in cases:
        r = rapids_jar(tmp, [a["RAPIDS_JARS"]] + args, arch=arch)
        assert r.returncode == 0, r.stderr
        k = r4["classifiers"][want]
        line = [l for l in r.stdout.splitlines() if l.startswith("fetch-verified.sh ")]
        assert len(line) == 1, r.stdout
        url, dest, sha256, sha1 = line[0].split()[1:]
        assert url.endswith("-%s.jar" % want) and dest.endswith("/jars/" + url.rsplit("/", 1)[1])
        assert (sha256, sha1) == (k["sha256"], k["sha1"])
        assert r.stdout.startswith("rapids-jar: %s (%s, CUDA %d: " % (want, k["arch"], k["cuda"]))
    r = rapids_jar(tmp, [a["RAPIDS_JARS"], "11", ""])
    assert r.returncode == 2 and "no build for x86_64 with CUDA 11" in r.stderr
    assert "cuda13-arm64 (aarch64, CUDA 13)" in r.stderr
    r = rapids_jar(tmp, [a["RAPIDS_JARS"], "12", "cuda12-ppc64le"])
    assert r.returncode == 2 and "no build 'cuda12-ppc64le'" in r.stderr
    # a build without a sha256 reaches fetch-verified.sh, which refuses it
    table = a["RAPIDS_JARS"].replace(r4["classifiers"]["cuda12"]["sha256"], "")
    env = dict(os.environ, RAPIDS_JAR_ARCH="amd64")
    r = subprocess.run([os.path.join(ROOT, "images", "rapids-jar.sh"),
                        os.path.join(str(tmp), "jars"), table, "12"], capture_output=True,
                       text=True, env=env, timeout=30)
    assert r.returncode == 2 and "refusing an unverified download" in r.stderr


def test_rapids_jar_downloads_only_through_fetch_verified():
    with open(os.path.join(ROOT, "images", "rapids-jar.sh")) as f:
        code = [l for l in f.read().splitlines() if not l.lstrip().startswith("#")]
    assert not [l for l in code if re.search(r"\b(curl|wget)\b", l)]
    assert any("fetch-verified.sh" in l and "$sha256" in l for l in code if "exec" in l)
    runtime = [t for _, t in dockerfile_lines(DOCKERFILES["runtime"])]
    assert any('rapids-jar.sh /jars "${RAPIDS_JARS}" "${RAPIDS_CUDA}" "${RAPIDS_CLASSIFIER}"' in t
               for t in runtime)


@pytest.mark.parametrize("kind", ["runtime", "jupyter"])
def test_final_stage_is_non_root_labelled_and_toolless(tmp, kind):
    st = stages(DOCKERFILES[kind])
    final = st[-1]
    users = [t.split()[1] for _, t in final["lines"] if t.split()[0].upper() == "USER"]
    assert users and users[-1] == "${SPARK_UID}", users
    _, plan = plan_json(tmp, pinned(load_matrix()))
    assert all(i["args"]["SPARK_UID"] not in ("0", "root") for i in plan["images"])
    labels = " ".join(t for _, t in final["lines"] if t.split()[0].upper() == "LABEL")
    for label in ("org.opencontainers.image.version", "org.opencontainers.image.revision",
                  "org.opencontainers.image.source", "io.spark-k8s.spark.version",
                  "io.spark-k8s.rapids.version", "io.spark-k8s.iceberg.version"):
        assert label + "=" in labels, label
    for n, text in final["lines"]:
        if "apt-get install" in text:
            assert "--no-install-recommends" in text
            assert "rm -rf /var/lib/apt/lists/*" in text
            pkgs = text.split("--no-install-recommends", 1)[1]
            assert not re.search(r"\b(gcc|make|curl|wget|git)\b|-dev\b", pkgs.split("&&")[0]), \
                "line %d: a build tool in the final stage" % n
    for n, text in final["lines"]:
        word = text.split()[0].upper()
        if word in ("ARG", "ENV"):
            assert not re.search(r"(?i)(password|passwd|secret|token|api_?key|credential|private)",
                                 text), "line %d may carry a secret" % n


def test_runtime_is_multi_stage_and_jupyter_is_from_runtime():
    rt = stages(DOCKERFILES["runtime"])
    assert len(rt) >= 3
    assert rt[-1]["from"] == "FROM ${BASE_IMAGE}"
    copies = [t for _, t in rt[-1]["lines"] if t.startswith("COPY --from=")]
    assert len(copies) >= 3
    jp = stages(DOCKERFILES["jupyter"])
    assert jp[-1]["from"] == "FROM ${RUNTIME_IMAGE}"
    text = "\n".join(t for _, t in jp[-1]["lines"])
    assert "EXPOSE 8888" in text
    assert "HEALTHCHECK" in text
    assert 'ENTRYPOINT ["/usr/bin/tini", "-g", "--"]' in text
    assert re.search(r'CMD \["/usr/local/lib/spark-k8s/envs/jupyter/bin/jupyter", "lab"', text)
    assert "spark-k8s kernelspec install --spark" in text
    rtext = "\n".join(t for _, t in rt[-1]["lines"])
    assert 'ENTRYPOINT ["/opt/entrypoint.sh"]' in rtext
    assert "COPY images/entrypoint.sh images/decom.sh /opt/" in rtext


# a Python package installer called by a RUN instruction itself
DIRECT_INSTALL = re.compile(r"(^|[\s/;&|(])(pip3?|python3?\s+-m\s+pip|\S*/python3?\s+-m\s+pip|uv|conda|mamba|micromamba)\s+install\b"
                            r"|-m\s+pip\s+install\b|\beasy_install\b")


def installs_outside_the_locks(lines):
    """[(lineno, text)] of the RUN instructions that install Python packages without
    kernelspecs/envs/install.py (which installs only hash-checked locks)."""
    return [(n, t) for n, t in lines
            if t.split()[0].upper() == "RUN" and DIRECT_INSTALL.search(t)]


@pytest.mark.parametrize("kind", ["runtime", "jupyter"])
def test_environments_come_from_the_locks(kind):
    """Every Python package of an image comes through kernelspecs/envs/install.py from a
    hash-checked lock: no RUN installs with pip (or uv, conda) itself, the on-request GPU
    layer included (it adds spark-LINE-gpu.lock, test_gpu_python_comes_from_its_lock)."""
    outside = installs_outside_the_locks(dockerfile_lines(DOCKERFILES[kind]))
    assert not outside, "a pip install outside the locks: %s" % outside
    text = "\n".join(t for _, t in dockerfile_lines(DOCKERFILES[kind]))
    env = "jupyter" if kind == "jupyter" else '"spark-${SPARK_LINE}"'
    assert "/src/envs/install.py %s" % env in text


# what jupyter.Dockerfile's GPU_PYTHON=1 branch did before the GPU stack had a lock
UNLOCKED_GPU_RUN = """\
RUN if [ "${GPU_PYTHON}" = 1 ]; then \\
      "${SPARK_K8S_ENV}/bin/python" -m pip freeze >/tmp/locked.txt \\
      && "${SPARK_K8S_ENV}/bin/python" -m pip install --no-cache-dir --only-binary=:all: \\
           --constraint /tmp/locked.txt ${GPU_PYTHON_PACKAGES}; \\
    fi
"""


def test_an_install_outside_the_locks_is_caught(tmp_path):
    """The check above sees a GPU install that bypasses the lock (constraints are no hashes)."""
    for run in (UNLOCKED_GPU_RUN, "RUN pip install cudf-cu12==26.4.0\n",
                "RUN /opt/env/bin/pip3 install --require-hashes -r x.txt\n",
                "RUN uv pip install cupy-cuda12x\n"):
        path = tmp_path / "Dockerfile"
        path.write_text("FROM scratch\n" + run)
        assert installs_outside_the_locks(dockerfile_lines(str(path))), run
    path.write_text("FROM scratch\nRUN /usr/bin/python3 /src/envs/install.py jupyter /opt/j\n")
    assert not installs_outside_the_locks(dockerfile_lines(str(path)))


def test_gpu_python_comes_from_its_lock():
    """GPU_PYTHON=1 adds the line's GPU lock (kernelspecs/envs/spark-LINE-gpu.lock:
    cudf, cuml, cupy and what they need, hash-pinned, every kernel environment version
    kept) to the kernel environment with install.py --over, which refuses a lock that
    moves the kernel environment or lacks the matrix's GPU packages (--expect): the
    build args name the packages only for that check, never for pip."""
    final = stages(DOCKERFILES["jupyter"])[-1]["lines"]
    runs = [(n, t) for n, t in final if t.split()[0].upper() == "RUN" and "GPU_PYTHON" in t]
    assert len(runs) == 1, runs
    n, text = runs[0]
    text = " ".join(text.split())
    assert re.search(r'/usr/bin/python3 /src/envs/install\.py "spark-\$\{SPARK_LINE\}-gpu" '
                     r'"\$\{SPARK_K8S_ENV\}" --over "spark-\$\{SPARK_LINE\}" '
                     r'--expect "\$\{GPU_PYTHON_PACKAGES\}"', text), "line %d: %s" % (n, text)
    assert text.count("${GPU_PYTHON_PACKAGES}") == 1, "line %d: GPU packages used otherwise" % n
    for pkg in ("cudf", "cuml", "cupy", "--constraint", "pip "):
        assert pkg not in text, "line %d names %r: %s" % (n, pkg, text)
    before = [t for m, t in final if m < n]
    assert "COPY kernelspecs/envs /src/envs" in before  # the locks and install.py
    assert "rm -rf /src/envs" in text
    # a lock for every line, beside its kernel environment's
    for s in load_matrix()["spark"]:
        assert os.path.exists(os.path.join(ROOT, "kernelspecs", "envs",
                                           "spark-%s-gpu.lock" % s["line"])), s["line"]


def test_dockerignore_keeps_what_the_dockerfiles_copy():
    with open(os.path.join(ROOT, ".dockerignore")) as f:
        keep = [l[1:].rstrip("/") for l in f.read().split() if l.startswith("!")]
    for kind, path in DOCKERFILES.items():
        for _, text in dockerfile_lines(path):
            if text.startswith("COPY ") and "--from=" not in text:
                for src in text.split()[1:-1]:
                    assert any(src == k or src.startswith(k + "/") for k in keep), (kind, src)


# ---- shell scripts ----

def shell_scripts():
    found = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in (".git", "build", "node_modules", "__pycache__")]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if name.endswith((".sh", ".bash")):
                found.append(path)
                continue
            try:
                with open(path, "rb") as f:
                    head = f.readline(100)
            except OSError:
                continue
            if re.match(rb"#!\s*(/usr)?/bin/(env\s+)?(ba|da)?sh\b", head):
                found.append(path)
    return sorted(set(found))


def test_every_shell_script_passes_shellcheck():
    scripts = shell_scripts()
    assert os.path.join(ROOT, "tests", "images", "smoke.sh") in scripts
    assert os.path.join(ROOT, "images", "fetch-verified.sh") in scripts
    r = subprocess.run(["shellcheck", "--severity=style"] + scripts, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_shellcheck_can_fail(tmp):
    bad = os.path.join(str(tmp), "bad.sh")
    with open(bad, "w") as f:
        f.write("#!/bin/sh\nrm -rf $1/*\n")
    r = subprocess.run(["shellcheck", bad], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0


# ---- README and smoke ----

def test_readme_table_is_generated_from_the_matrix():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    m = re.search(r"<!-- images-table:begin -->\n(.*?)<!-- images-table:end -->", readme, re.S)
    assert m, "README.md lacks the images table markers"
    env = dict(os.environ)
    env.pop("SPARK_K8S_MATRIX", None)
    env.pop("REGISTRY", None)
    env.pop("IMAGES", None)
    r = subprocess.run([BIN, "images", "plan", "--markdown"], capture_output=True, text=True, env=env)
    assert r.stdout and r.stdout == m.group(1), \
        "README's table differs from `spark-k8s images plan --markdown`: regenerate it"


def test_smoke():
    """smoke.sh runs the built images where an engine is; here it must say SKIPPED (77)."""
    env = dict(os.environ, SPARK_K8S=BIN)
    r = subprocess.run([os.path.join(ROOT, "tests", "images", "smoke.sh")], capture_output=True,
                       text=True, env=env, timeout=3600)
    if r.returncode == 77:
        assert r.stdout.startswith("SKIPPED")
        pytest.skip("smoke.sh: " + r.stdout.strip())
    assert r.returncode == 0, r.stdout + r.stderr


def test_smoke_skips_without_engine(tmp):
    """With no docker at all on PATH, smoke.sh skips (77) rather than pass."""
    empty = os.path.join(str(tmp), "empty-bin")
    os.mkdir(empty)
    bash = shutil.which("bash")
    env = dict(os.environ, SPARK_K8S=BIN, PATH=empty)
    r = subprocess.run([bash, os.path.join(ROOT, "tests", "images", "smoke.sh")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 77 and r.stdout.startswith("SKIPPED"), r.stdout + r.stderr
