"""test_jars.py — the RAPIDS and Iceberg jars outside the images: `spark-k8s jars fetch`
against a local HTTP server standing in for Maven Central (verified against the
matrix's checksums, or the repository's own checksum file where the matrix has none;
a bad or missing file installs nothing), and kernels whose jar is missing: the first
cell names the jar and the command that fetches it, and Spark starts without that
feature instead of failing on a ClassNotFoundException. A kernel environment with
the jars gets them in spark.jars with the feature's properties."""
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

import spark_helpers as h

LINE = "4.1" if "4.1" in h.LINES else sorted(h.LINES)[-1]
SPEC = next(s for s in h.MATRIX["spark"] if s["line"] == LINE)


def maven_path(component):
    group, artifact = component["artifact"].split(":")
    v = component["version"]
    return f"{group.replace('.', '/')}/{artifact}/{v}/{artifact}-{v}.jar"


JARS = {name: maven_path(SPEC[name]) for name in ("rapids", "iceberg", "iceberg_aws_bundle")}
BODIES = {name: (f"not really {name}, but bytes to verify: ".encode() + os.urandom(4096))
          for name in JARS}


class Repo:
    """A local Maven repository over HTTP: FILES maps a path to bytes; requests logged."""

    def __init__(self, files):
        self.files = dict(files)
        self.requests = []
        repo = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                repo.requests.append(self.path)
                body = repo.files.get(self.path.lstrip("/").removeprefix("maven/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/maven"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def matrix_file(tmp_path):
    """A copy of the matrix whose line LINE pins the checksums of BODIES (sha1)."""
    def make(pins=True, override=None):
        m = json.loads(json.dumps(h.MATRIX))
        spec = next(s for s in m["spark"] if s["line"] == LINE)
        for name, body in BODIES.items():
            spec[name]["sha1"] = hashlib.sha1(body).hexdigest() if pins else ""
            spec[name]["sha512"] = ""
        for name, value in (override or {}).items():
            spec[name]["sha1"] = value
        path = tmp_path / "matrix.json"
        path.write_text(json.dumps(m))
        return path
    return make


def jars(prefix, home, *args, matrix=None):
    env = home.env(**({"SPARK_K8S_MATRIX": matrix} if matrix else {}))
    return subprocess.run([str(prefix.binary), "jars", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_fetch_verifies_against_the_matrix(prefix, home, tmp_path, matrix_file):
    repo = Repo({path: BODIES[name] for name, path in JARS.items()})
    dest = tmp_path / "jars"
    try:
        proc = jars(prefix, home, "fetch", "--dir", dest, "--spark", LINE, "--repository",
                    repo.url, matrix=matrix_file())
        assert proc.returncode == 0, proc
        for name, path in JARS.items():
            assert (dest / Path(path).name).read_bytes() == BODIES[name]
        assert proc.stdout.count("verified against the matrix") == 3, proc.stdout
        listed = jars(prefix, home, "list", "--dir", dest, "--spark", LINE, matrix=matrix_file())
        assert listed.returncode == 0 and listed.stdout.count("present ") == 3, listed
        # a second fetch has nothing to do
        again = jars(prefix, home, "fetch", "--dir", dest, "--spark", LINE, "--repository",
                     repo.url, matrix=matrix_file())
        assert again.returncode == 0 and "fetched" not in again.stdout, again
    finally:
        repo.close()


def test_a_checksum_mismatch_installs_nothing(prefix, home, tmp_path, matrix_file):
    repo = Repo({path: BODIES[name] for name, path in JARS.items()})
    dest = tmp_path / "jars"
    wrong = "0" * 40
    try:
        proc = jars(prefix, home, "fetch", "--dir", dest, "--spark", LINE, "--repository",
                    repo.url, matrix=matrix_file(override={"rapids": wrong}))
    finally:
        repo.close()
    assert proc.returncode == 1, proc
    rapids = Path(JARS["rapids"]).name
    assert f"{repo.url}/{JARS['rapids']}: its sha1 is {hashlib.sha1(BODIES['rapids']).hexdigest()}" \
        in proc.stderr, proc.stderr
    assert f"the matrix says {wrong}" in proc.stderr
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        Path(p).name for n, p in JARS.items() if n != "rapids"), "a bad jar or a temp file left"
    assert not (dest / rapids).exists()


def test_unpinned_jars_use_the_repositorys_checksum_file(prefix, home, tmp_path, matrix_file):
    files = {path: BODIES[name] for name, path in JARS.items()}
    files.update({path + ".sha1": hashlib.sha1(BODIES[name]).hexdigest().encode()
                  for name, path in JARS.items() if name != "iceberg_aws_bundle"})
    repo = Repo(files)
    dest = tmp_path / "jars"
    try:
        proc = jars(prefix, home, "fetch", "--dir", dest, "--spark", LINE, "--repository",
                    repo.url, matrix=matrix_file(pins=False))
    finally:
        repo.close()
    assert proc.returncode == 1, proc  # the AWS bundle has no checksum file: refused
    assert proc.stdout.count("the matrix has no checksum for it yet") == 2, proc.stdout
    assert "no checksum to verify" in proc.stderr and \
        Path(JARS["iceberg_aws_bundle"]).name in proc.stderr, proc.stderr
    assert not (dest / Path(JARS["iceberg_aws_bundle"]).name).exists()


def test_missing_jar_and_unreachable_repository(prefix, home, tmp_path, matrix_file):
    repo = Repo({})
    try:
        proc = jars(prefix, home, "fetch", "--dir", tmp_path / "a", "--spark", LINE,
                    "--repository", repo.url, matrix=matrix_file())
    finally:
        repo.close()
    assert proc.returncode == 1
    assert f"{repo.url}/{JARS['rapids']}: HTTP 404" in proc.stderr, proc.stderr
    # nothing listens there any more: one attempt, then the rest are not tried
    proc = jars(prefix, home, "fetch", "--dir", tmp_path / "b", "--spark", LINE,
                "--repository", repo.url, matrix=matrix_file())
    assert proc.returncode == 1
    assert proc.stderr.count("unreachable") == 1, proc.stderr
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").iterdir())


@pytest.mark.parametrize("variant,jar,feature,absent", [
    ("iceberg", "iceberg", "Iceberg", "spark.sql.extensions"),
    ("gpu", "rapids", "RAPIDS", "spark.plugins"),
])
def test_a_kernel_without_its_jar_says_so_and_spark_starts(prefix, home, variant, jar,
                                                           feature, absent):
    k = h.Kernel(f"spark-{LINE}-{variant}", prefix.kernels, home)
    try:
        cell = k.ok("spark.range(3).count()")
        assert cell.result == "3", cell  # Spark runs, without the feature
        name = Path(JARS[jar]).name
        assert f"needs {name} ({feature})" in cell.err, cell
        assert f"{feature} is off in this kernel" in cell.err
        assert f"spark-k8s jars fetch --python {prefix.python(LINE)}" in cell.err
        conf = dict(k.value("sorted(sc.getConf().getAll())"))
        assert absent not in conf, conf
        assert "ClassNotFound" not in cell.err
    finally:
        procs = k.processes()
        k.close()
    assert h.wait_gone(procs) == []


def env_view(real_python, where):
    """A kernel environment at WHERE that is the environment of REAL_PYTHON (its own
    share/ folder for jars): bin/python, pyvenv.cfg and a link to lib/."""
    real = Path(real_python).parent.parent
    (where / "bin").mkdir(parents=True)
    os.symlink(os.path.realpath(real / "bin" / "python"), where / "bin" / "python")
    shutil.copy(real / "pyvenv.cfg", where / "pyvenv.cfg")
    os.symlink(real / "lib", where / "lib")
    return where / "bin" / "python"


def test_jars_in_the_environment_reach_the_driver_class_path(prefix, home, tmp_path):
    python = env_view(prefix.python(LINE), tmp_path / "env")
    jar_dir = tmp_path / "env" / "share" / "spark-k8s" / "jars"
    jar_dir.mkdir(parents=True)
    for path in JARS.values():
        (jar_dir / Path(path).name).write_bytes(b"PK")
    h.install_kernelspec(prefix, home, "--spark", LINE, "--variant", "gpu-iceberg",
                         "--name", "with-jars", "--python", python)
    proc = subprocess.run([str(prefix.binary), "render", str(home.kernels / "with-jars")],
                          env=home.env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc
    props = {ln.split(" ", 1)[0]: ln.split(" ", 1)[1] for ln in proc.stdout.splitlines()
             if ln.startswith("spark.")}
    assert "spark.jars" not in props  # executors would fetch them again
    assert sorted(props["spark.driver.extraClassPath"].split(":")) == sorted(
        str(jar_dir / Path(p).name) for p in JARS.values()), props
    assert props["spark.plugins"] == "com.nvidia.spark.SQLPlugin"
    assert props["spark.sql.extensions"].endswith("IcebergSparkSessionExtensions")
    listed = jars(prefix, home, "list", "--python", python)
    assert listed.returncode == 0 and listed.stdout.count("present ") == 3, listed
