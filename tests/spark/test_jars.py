"""test_jars.py — the RAPIDS and Iceberg jars outside the images.

`spark-k8s jars fetch|list` against a local HTTP server standing in for Maven Central
(a Maven layout with every jar of the line, RAPIDS in each of its classifiers) and a
copy of the matrix pinning those bytes: each jar verified against the matrix's sha256
and sha1, a jar whose bytes differ refused naming both sums and installing nothing, a
jar the matrix pins no sha256 for refused without a download; the RAPIDS build chosen
(the machine's architecture with CUDA 12 by default, --cuda, --arch,
--rapids-classifier; one per environment, a build the release lacks refused naming
those it has); a cache folder that installs by hard link; `jars list` telling
present, missing and different. Then the install: `make install` left every kernel
environment's jars there, verified, hard-linked from build/jars. And kernels: one
whose jar is missing says so in its first cell and Spark starts without that
feature; one whose environment holds the jars gets them on the driver's class path
(spark.driver.extraClassPath, never spark.jars) with the feature's properties."""
import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path

import pytest

from support.envs import env_view
from support.kernels import Kernel, install_kernelspec, wait_gone
from support.maven import MavenRepo
from support.paths import LINES, MATRIX, ROOT

LINE = "4.1" if "4.1" in LINES else sorted(LINES)[-1]
SPEC = next(s for s in MATRIX["spark"] if s["line"] == LINE)
RAPIDS = SPEC["rapids"]
ARCH = {"arm64": "aarch64"}.get(platform.machine(), platform.machine())


def maven_path(component, classifier=None):
    group, artifact = component["artifact"].split(":")
    v = component["version"]
    tail = "-" + classifier if classifier else ""
    return f"{group.replace('.', '/')}/{artifact}/{v}/{artifact}-{v}{tail}.jar"


def default_build():
    """The RAPIDS classifier this machine gets by default: its architecture, CUDA 12."""
    cuda = RAPIDS["classifiers"][RAPIDS["default_classifier"]]["cuda"]
    return next(n for n, k in RAPIDS["classifiers"].items()
                if k["arch"] == ARCH and k["cuda"] == cuda)


# every jar of the line: (object, classifier or None) -> its path in the repository
PATHS = {("iceberg", None): maven_path(SPEC["iceberg"]),
         ("iceberg_aws_bundle", None): maven_path(SPEC["iceberg_aws_bundle"])}
PATHS.update({("rapids", k): maven_path(RAPIDS, k) for k in RAPIDS["classifiers"]})
BODIES = {key: (f"not really {key}, but bytes to verify: ".encode() + os.urandom(4096))
          for key in PATHS}


def name(key):
    return Path(PATHS[key]).name


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sha1(data):
    return hashlib.sha1(data).hexdigest()


@pytest.fixture
def repo():
    r = MavenRepo({path: BODIES[key] for key, path in PATHS.items()})
    yield r
    r.close()


@pytest.fixture
def matrix_file(tmp_path):
    """A copy of the matrix whose line LINE pins BODIES (OVERRIDE: {(object, classifier,
    field): value} set after)."""
    def make(override=None):
        m = json.loads(json.dumps(MATRIX))
        spec = next(s for s in m["spark"] if s["line"] == LINE)

        def pin(obj, k):
            return spec[obj]["classifiers"][k] if k else spec[obj]
        for (obj, k), data in BODIES.items():
            pin(obj, k)["sha256"] = sha256(data)
            pin(obj, k)["sha1"] = sha1(data)
        for (obj, k, field), value in (override or {}).items():
            pin(obj, k)[field] = value
        path = tmp_path / "matrix.json"
        path.write_text(json.dumps(m))
        return path
    return make


def jars(prefix, home, *args, matrix=None):
    env = home.env(**({"SPARK_K8S_MATRIX": matrix} if matrix else {}))
    return subprocess.run([str(prefix.binary), "jars", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300)


def fetch(prefix, home, dest, repo, matrix, *args):
    return jars(prefix, home, "fetch", "--dir", dest, "--spark", LINE, "--repository", repo.url,
                *args, matrix=matrix)


def rapids_files(dest):
    return sorted(p.name for p in Path(dest).glob("rapids-4-spark_*.jar"))


def test_fetch_verifies_against_the_matrix(prefix, home, tmp_path, repo, matrix_file):
    dest = tmp_path / "jars"
    proc = fetch(prefix, home, dest, repo, matrix_file())
    assert proc.returncode == 0, proc
    build = default_build()
    k = RAPIDS["classifiers"][build]
    assert f"RAPIDS for Spark {LINE}: {build} ({ARCH}, CUDA {k['cuda']}: the default" in proc.stdout
    if LINE == "4.1" and ARCH == "x86_64":
        assert "RAPIDS for Spark 4.1: cuda12 (x86_64, CUDA 12: the default; --cuda 13 for R580+ " \
            "drivers)" in proc.stdout.splitlines()
    want = [("iceberg", None), ("iceberg_aws_bundle", None), ("rapids", build)]
    assert sorted(p.name for p in dest.iterdir()) == sorted(name(w) for w in want)
    for key in want:
        assert (dest / name(key)).read_bytes() == BODIES[key]
        assert f"sha256 {sha256(BODIES[key])} verified against the matrix" in proc.stdout
    assert proc.stdout.count("fetched ") == 3
    # the other builds were not downloaded
    assert [r for r in repo.requests if "rapids" in r] == [f"/maven/{PATHS[('rapids', build)]}"]
    listed = jars(prefix, home, "list", "--dir", dest, "--spark", LINE, matrix=matrix_file())
    assert listed.returncode == 0 and listed.stdout.count("present ") == 3, listed
    # a second fetch has nothing to do: the build present is kept
    again = fetch(prefix, home, dest, repo, matrix_file())
    assert again.returncode == 0 and "fetched" not in again.stdout, again
    assert f"{build} ({ARCH}, CUDA {k['cuda']}: the build already there" in again.stdout


def test_a_jar_whose_bytes_differ_is_refused_naming_both_sums(prefix, home, tmp_path, repo,
                                                              matrix_file):
    dest = tmp_path / "jars"
    key = ("iceberg", None)
    other = b"a jar somebody swapped"
    repo.files[PATHS[key]] = other
    proc = fetch(prefix, home, dest, repo, matrix_file())
    assert proc.returncode == 1, proc
    assert f"{repo.url}/{PATHS[key]}: sha256 is {sha256(other)}, the matrix says " \
        f"{sha256(BODIES[key])}; not installed" in proc.stderr, proc.stderr
    # the others are installed; no bad jar and no temp file left
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        [name(("iceberg_aws_bundle", None)), name(("rapids", default_build()))])


def test_a_sha1_that_differs_is_refused_too(prefix, home, tmp_path, repo, matrix_file):
    dest = tmp_path / "jars"
    key = ("iceberg_aws_bundle", None)
    proc = fetch(prefix, home, dest, repo,
                 matrix_file({("iceberg_aws_bundle", None, "sha1"): "0" * 40}))
    assert proc.returncode == 1, proc
    assert f"{repo.url}/{PATHS[key]}: sha1 is {sha1(BODIES[key])}, the matrix says {'0' * 40}; " \
        "not installed" in proc.stderr, proc.stderr
    assert not (dest / name(key)).exists()


def test_a_jar_the_matrix_pins_no_sha256_for_is_refused(prefix, home, tmp_path, repo,
                                                        matrix_file):
    dest = tmp_path / "jars"
    key = ("iceberg", None)
    proc = fetch(prefix, home, dest, repo, matrix_file({("iceberg", None, "sha256"): ""}))
    assert proc.returncode == 1, proc
    assert f"{name(key)}: " in proc.stderr and "pins no sha256 for" in proc.stderr
    assert "spark-k8s images pin" in proc.stderr
    assert repo.asked(name(key)) == []  # nothing downloaded that could not be verified
    assert not (dest / name(key)).exists()
    assert (dest / name(("iceberg_aws_bundle", None))).exists()


def test_the_rapids_build_is_chosen_and_one_is_kept(prefix, home, tmp_path, repo, matrix_file):
    dest = tmp_path / "jars"
    m = matrix_file()
    if LINE != "4.1":
        pytest.skip("the builds named here are RAPIDS 26.08's (Spark 4.1)")
    # --cuda 13 on this machine's architecture
    proc = fetch(prefix, home, dest, repo, m, "--variant", "gpu", "--cuda", "13", "--arch",
                 "x86_64")
    assert proc.returncode == 0, proc
    assert "RAPIDS for Spark 4.1: cuda13 (x86_64, CUDA 13: --cuda and --arch)" in proc.stdout
    assert rapids_files(dest) == [name(("rapids", "cuda13"))]
    # another build replaces it: an environment holds one
    proc = fetch(prefix, home, dest, repo, m, "--variant", "gpu", "--rapids-classifier",
                 "cuda12-arm64")
    assert proc.returncode == 0, proc
    assert "RAPIDS for Spark 4.1: cuda12-arm64 (aarch64, CUDA 12: --rapids-classifier " \
        "cuda12-arm64)" in proc.stdout
    assert f"removed {dest / name(('rapids', 'cuda13'))} (another RAPIDS build" in proc.stdout
    assert rapids_files(dest) == [name(("rapids", "cuda12-arm64"))]
    assert (dest / name(("rapids", "cuda12-arm64"))).read_bytes() == \
        BODIES[("rapids", "cuda12-arm64")]
    # without an option the build present stays, said so; nothing is downloaded
    repo.requests.clear()
    proc = fetch(prefix, home, dest, repo, m, "--variant", "gpu")
    assert proc.returncode == 0, proc
    assert "cuda12-arm64 (aarch64, CUDA 12: the build already there; --cuda, --arch or " \
        "--rapids-classifier to change it)" in proc.stdout
    assert repo.requests == []
    # --arch alone: that architecture with the default CUDA major (12)
    proc = fetch(prefix, home, dest, repo, m, "--variant", "gpu", "--arch", "x86_64")
    assert proc.returncode == 0 and rapids_files(dest) == [name(("rapids", "cuda12"))], proc
    assert "cuda12 (x86_64, CUDA 12: --arch, with the default CUDA major)" in proc.stdout
    proc = fetch(prefix, home, dest, repo, m, "--variant", "gpu", "--arch", "aarch64", "--cuda",
                 "13")
    assert proc.returncode == 0 and rapids_files(dest) == [name(("rapids", "cuda13-arm64"))]
    # a build the release lacks: refused, naming what it has; nothing changes
    for args, why in ((["--cuda", "11"], "has no build for %s with CUDA 11" % ARCH),
                      (["--rapids-classifier", "cuda14"],
                       "--rapids-classifier cuda14: RAPIDS %s (%s, Spark 4.1) has no such build"
                       % (RAPIDS["version"], RAPIDS["artifact"]))):
        proc = fetch(prefix, home, dest, repo, m, "--variant", "gpu", *args)
        assert proc.returncode == 2, proc
        assert why in proc.stderr, proc.stderr
        assert "it has cuda12 (x86_64, CUDA 12), cuda12-arm64 (aarch64, CUDA 12), cuda13 " \
            "(x86_64, CUDA 13), cuda13-arm64 (aarch64, CUDA 13)" in proc.stderr
        assert rapids_files(dest) == [name(("rapids", "cuda13-arm64"))]
    # options that contradict each other, or an unknown architecture
    for args in (["--rapids-classifier", "cuda12", "--cuda", "12"], ["--arch", "ppc64le"],
                 ["--cuda", "twelve"]):
        proc = fetch(prefix, home, dest, repo, m, *args)
        assert proc.returncode == 2 and "usage" not in proc.stdout, proc
        assert "--help" in proc.stderr


def test_a_cache_installs_by_hard_link(prefix, home, tmp_path, repo, matrix_file):
    cache, env_a, env_b = tmp_path / "cache", tmp_path / "a", tmp_path / "b"
    m = matrix_file()
    args = ["--spark", LINE, "--repository", repo.url, "--cache", cache]
    proc = jars(prefix, home, "fetch", "--dir", env_a, *args, matrix=m)
    assert proc.returncode == 0, proc
    assert proc.stdout.count(f"fetched {cache}/") == 3 and proc.stdout.count("a hard link to") == 3
    n = len(repo.requests)
    proc = jars(prefix, home, "fetch", "--dir", env_b, *args, matrix=m)
    assert proc.returncode == 0, proc
    assert len(repo.requests) == n, "the cache had them: nothing downloaded"
    for f in cache.iterdir():
        assert os.stat(f).st_ino == os.stat(env_a / f.name).st_ino == os.stat(env_b / f.name).st_ino
    # a cache file that changed is fetched again (into a new file: the links keep theirs)
    key = ("iceberg", None)
    (env_b / name(key)).unlink()
    (cache / name(key)).unlink()
    (cache / name(key)).write_bytes(b"rotten")
    proc = jars(prefix, home, "fetch", "--dir", env_b, *args, matrix=m)
    assert proc.returncode == 0, proc
    assert f"cache: {cache / name(key)} has sha256 {sha256(b'rotten')}, the matrix says " \
        f"{sha256(BODIES[key])}; fetching it again" in proc.stdout
    assert (env_b / name(key)).read_bytes() == BODIES[key] == (env_a / name(key)).read_bytes()


def test_list_tells_present_missing_and_different(prefix, home, tmp_path, repo, matrix_file):
    dest = tmp_path / "jars"
    m = matrix_file()
    assert fetch(prefix, home, dest, repo, m, "--variant", "iceberg").returncode == 0
    aws = ("iceberg_aws_bundle", None)
    (dest / name(aws)).write_bytes(b"changed")
    proc = jars(prefix, home, "list", "--dir", dest, "--spark", LINE, matrix=m)
    assert proc.returncode == 1, proc
    out = proc.stdout.splitlines()
    assert f"present {dest / name(('iceberg', None))} (Iceberg, Spark {LINE}; sha256 verified)" \
        in out
    assert f"differs {dest / name(aws)} (Iceberg AWS bundle, Spark {LINE}): sha256 is " \
        f"{sha256(b'changed')}, the matrix says {sha256(BODIES[aws])}; fetch it again with " \
        "spark-k8s jars fetch" in out
    assert f"missing {dest / name(('rapids', default_build()))} (RAPIDS, Spark {LINE}): fetch " \
        "it with spark-k8s jars fetch" in out
    # fetch repairs the different one
    proc = fetch(prefix, home, dest, repo, m)
    assert proc.returncode == 0 and (dest / name(aws)).read_bytes() == BODIES[aws], proc


def test_missing_jar_and_unreachable_repository(prefix, home, tmp_path, matrix_file):
    repo = MavenRepo({})
    try:
        proc = fetch(prefix, home, tmp_path / "a", repo, matrix_file())
    finally:
        repo.close()
    assert proc.returncode == 1
    assert f"{repo.url}/{PATHS[('rapids', default_build())]}: HTTP 404" in proc.stderr, proc.stderr
    # nothing listens there any more: one attempt, then the rest are not tried
    proc = fetch(prefix, home, tmp_path / "b", repo, matrix_file())
    assert proc.returncode == 1
    assert proc.stderr.count("unreachable") == 1, proc.stderr
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").iterdir())


def test_make_install_leaves_the_jars_in_each_env_verified(prefix, home):
    """`make install` (the prefix the tests run on) put every jar of every line into its
    kernel environment, verified against the committed matrix; from build/jars, by
    hard link where that is on the same file system."""
    proc = jars(prefix, home, "list")
    assert proc.returncode == 0, proc
    assert proc.stdout.count("present ") == 3 * len(LINES), proc.stdout
    cache = Path(os.environ.get("SPARK_K8S_BUILD", ROOT / "build")) / "jars"
    for line in LINES:
        folder = prefix.python(line).parent.parent / "share" / "spark-k8s" / "jars"
        files = sorted(folder.iterdir())
        assert len(files) == 3, files
        assert len([f for f in files if f.name.startswith("rapids-4-spark_")]) == 1
        for f in files:
            cached = cache / f.name
            if cached.exists() and os.stat(cached).st_dev == os.stat(f).st_dev:
                assert os.stat(cached).st_ino == os.stat(f).st_ino, f"{f} is a copy"


@pytest.mark.parametrize("variant,jar,feature,absent", [
    ("iceberg", "iceberg", "Iceberg", "spark.sql.extensions"),
    ("gpu", "rapids", "RAPIDS", "spark.plugins"),
])
def test_a_kernel_without_its_jar_says_so_and_spark_starts(prefix, home, tmp_path, variant, jar,
                                                           feature, absent):
    # the installed environments hold the jars: a view of one without them
    python = env_view(prefix.python(LINE), tmp_path / "env")
    install_kernelspec(prefix, home, "--spark", LINE, "--variant", variant, "--name",
                         f"no-jars-{variant}", "--python", python)
    k = Kernel(f"no-jars-{variant}", home.kernels, home)
    try:
        cell = k.ok("spark.range(3).count()")
        assert cell.result == "3", cell  # Spark runs, without the feature
        file = name(("rapids", default_build())) if jar == "rapids" else name((jar, None))
        assert f"needs {file} ({feature})" in cell.err, cell
        assert f"{feature} is off in this kernel" in cell.err
        assert f"spark-k8s jars fetch --python {python}" in cell.err
        conf = dict(k.value("sorted(sc.getConf().getAll())"))
        assert absent not in conf, conf
        assert "ClassNotFound" not in cell.err
    finally:
        procs = k.processes()
        k.close()
    assert wait_gone(procs) == []


def installed_jars(prefix, line):
    return prefix.python(line).parent.parent / "share" / "spark-k8s" / "jars"


def render(prefix, home, kernel):
    proc = subprocess.run([str(prefix.binary), "render", str(home.kernels / kernel)],
                          env=home.env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc
    return {ln.split(" ", 1)[0]: ln.split(" ", 1)[1] for ln in proc.stdout.splitlines()
            if ln.startswith("spark.")}


def test_jars_in_the_environment_reach_the_driver_class_path(prefix, home, tmp_path):
    python = env_view(prefix.python(LINE), tmp_path / "env")
    jar_dir = tmp_path / "env" / "share" / "spark-k8s" / "jars"
    for f in installed_jars(prefix, LINE).iterdir():  # the real, verified jars
        os.link(f, jar_dir / f.name)
    install_kernelspec(prefix, home, "--spark", LINE, "--variant", "gpu-iceberg",
                         "--name", "with-jars", "--python", python)
    props = render(prefix, home, "with-jars")
    assert "spark.jars" not in props  # executors would fetch them again
    assert sorted(props["spark.driver.extraClassPath"].split(":")) == sorted(
        str(p) for p in jar_dir.iterdir()), props
    assert props["spark.plugins"] == "com.nvidia.spark.SQLPlugin"
    assert props["spark.sql.extensions"].endswith("IcebergSparkSessionExtensions")
    listed = jars(prefix, home, "list", "--python", python)
    assert listed.returncode == 0 and listed.stdout.count("present ") == 3, listed


def test_a_kernel_with_another_rapids_build_finds_it(prefix, home, tmp_path):
    """An environment holding another RAPIDS build (fetched with --cuda 13, say): the
    kernel's first cell does not call it missing."""
    python = env_view(prefix.python(LINE), tmp_path / "env")
    jar_dir = tmp_path / "env" / "share" / "spark-k8s" / "jars"
    other = next(k for k in RAPIDS["classifiers"] if k != default_build())
    (jar_dir / name(("rapids", other))).write_bytes(b"PK")
    install_kernelspec(prefix, home, "--spark", LINE, "--variant", "gpu", "--name",
                         "other-build", "--python", python)
    k = Kernel("other-build", home.kernels, home)
    try:
        cell = k.execute("1 + 1")
        assert "RAPIDS is off" not in cell.err and "needs rapids" not in cell.err, cell
    finally:
        k.close()


def test_render_names_the_rapids_build_the_environment_holds(prefix, home, tmp_path):
    python = env_view(prefix.python(LINE), tmp_path / "env")
    jar_dir = tmp_path / "env" / "share" / "spark-k8s" / "jars"
    other = next(k for k in RAPIDS["classifiers"] if k != default_build())
    (jar_dir / name(("rapids", other))).write_bytes(b"PK")
    install_kernelspec(prefix, home, "--spark", LINE, "--variant", "gpu", "--name",
                         "other-render", "--python", python)
    props = render(prefix, home, "other-render")
    assert props.get("spark.driver.extraClassPath") == str(jar_dir / name(("rapids", other))), props
    assert props.get("spark.plugins") == "com.nvidia.spark.SQLPlugin", props
