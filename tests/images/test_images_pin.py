"""test_images_pin.py — `spark-k8s images pin` against a local HTTP server (a thread
on 127.0.0.1 serving a Maven layout from a private directory: jars with their .sha1,
and a .sha256 where the test publishes one) and a copy of images/matrix.json whose
repository is that server: every jar the variants download (Iceberg, the AWS bundle,
each RAPIDS classifier; Spark itself comes hash-locked from PyPI) is downloaded
through the digests, its sha1 checked against the repository's .sha1 (bare or
named) and its sha256 against a published .sha256, and both written into the
matrix in place; filled fields are checked (a mismatch refused) unless --force;
byte-identical no-ops; refusals that change nothing (a download whose sha1 or
sha256 disagrees with the repository's, no .sha1, a malformed one, HTTP errors,
non-http URLs, an https server whose certificate no CA vouches for, a matrix still
holding sha512); --if-missing making no request when everything is pinned; and
`images plan`/`images build --dry-run` accepting the pinned matrix."""
import hashlib
import http.server
import json
import os
import re
import ssl
import subprocess
import tempfile
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SPARK_K8S_BUILD", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "spark-k8s")
MATRIX_PATH = os.path.join(ROOT, "images", "matrix.json")
JARS = ("iceberg", "iceberg_aws_bundle", "rapids")


class Server:
    """Files under ROOT at http://127.0.0.1:PORT/, every request path recorded."""

    def __init__(self, root, tls=None):
        self.root = root
        self.requests = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=root, **kw)

            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:  # (certfile, keyfile)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def put(self, url, content):
        assert url.startswith(self.url + "/")
        path = os.path.join(self.root, url[len(self.url) + 1:])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)

    def remove(self, url):
        os.unlink(os.path.join(self.root, url[len(self.url) + 1:]))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def env():
    """A private directory (removed after the test) holding the served files and the
    matrix copy, and the server; yields a dict."""
    with tempfile.TemporaryDirectory(prefix="spark-k8s-pin-") as d:
        served = os.path.join(d, "served")
        work = os.path.join(d, "work")
        os.mkdir(served)
        os.mkdir(work)
        srv = Server(served)
        try:
            yield {"dir": work, "server": srv, "matrix": os.path.join(work, "matrix.json")}
        finally:
            srv.close()


def jar_url(m, c, classifier=None):
    k = c["classifiers"][classifier] if classifier else c
    if k.get("url"):
        return k["url"]
    group, art = c["artifact"].split(":")
    v = c["version"]
    return "%s/%s/%s/%s/%s-%s%s.jar" % (m["images"]["maven_repository"].rstrip("/"),
                                        group.replace(".", "/"), art, v, art, v,
                                        "-" + classifier if classifier else "")


def pins(m):
    """Every jar the matrix M pins: [(line index, object, classifier or None, url)]."""
    out = []
    for i, s in enumerate(m["spark"]):
        for c in JARS:
            for k in (list(s[c]["classifiers"]) if s[c].get("classifiers") else [None]):
                out.append((i, c, k, jar_url(m, s[c], k)))
    return out


def label(m, i, obj, k, field):
    where = "%s.classifiers.%s" % (obj, k) if k else obj
    return "spark[%d] (%s) %s.%s" % (i, m["spark"][i]["version"], where, field)


SUM = re.compile(r'("sha(?:1|256)": )"[0-9a-fA-F]*"')


def write_matrix(env, fill=None):
    """The repository's matrix, formatting kept, with every checksum emptied (then FILL,
    {(line index, object, classifier or None, field): hex}, filled) and its repository
    the local server. Returns the parsed copy."""
    with open(MATRIX_PATH) as f:
        text = f.read()
    text = SUM.sub(r'\1""', text)
    m = json.loads(text)
    repo = m["images"]["maven_repository"]
    assert json.dumps(repo) in text
    text = text.replace(json.dumps(repo), json.dumps(env["server"].url + "/maven2"))
    m = json.loads(text)
    for (i, obj, k, field), value in (fill or {}).items():
        text = set_in_text(text, i, obj, k, field, value)
    with open(env["matrix"], "w") as f:
        f.write(text)
    m = json.loads(text)
    for (i, obj, k, field), value in (fill or {}).items():
        pin = m["spark"][i][obj]["classifiers"][k] if k else m["spark"][i][obj]
        assert pin[field] == value
    return m


def set_in_text(text, i, obj, k, field, value):
    """TEXT with line I's OBJ (classifier K) FIELD set to VALUE: the first such field
    after the object's (and the classifier's) key."""
    pos = text.index('"spark": [')
    for _ in range(i + 1):
        pos = text.index('"line": ', pos + 1)
    pos = text.index('"%s": {' % obj, pos)
    if k:
        pos = text.index('"%s": {' % k, pos)
    f = re.compile(r'"%s": "[0-9a-fA-F]*"' % field).search(text, pos)
    return text[:f.start()] + '"%s": "%s"' % (field, value) + text[f.end():]


def body(url):
    """The bytes the server has for the jar at URL: small, and different per jar."""
    return ("jar bytes of %s\n" % url).encode() * 3


def serve_all(env, m, sha256_for=("iceberg",), named=("rapids",)):
    """Publish every jar of M with its .sha1 (named "hex  name" for the objects in
    NAMED, else Maven's bare hex) and, for the objects in SHA256_FOR, a .sha256.
    Returns {(i, obj, classifier, field): hex} of what a pin must write."""
    srv = env["server"]
    want = {}
    for i, obj, k, url in pins(m):
        data = body(url)
        name = url.rsplit("/", 1)[1]
        srv.put(url, data)
        h1 = hashlib.sha1(data).hexdigest()
        h256 = hashlib.sha256(data).hexdigest()
        srv.put(url + ".sha1", ("%s  %s\n" % (h1, name)) if obj in named else h1)
        if obj in sha256_for:
            srv.put(url + ".sha256", "%s  %s\n" % (h256, name))
        want[(i, obj, k, "sha256")] = h256
        want[(i, obj, k, "sha1")] = h1
    return want


def read(path):
    with open(path, "rb") as f:
        return f.read()


def run(args, env, extra=None, matrix_arg=True):
    e = dict(os.environ)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
              "ALL_PROXY", "SPARK_K8S_MATRIX", "IMAGES", "REGISTRY", "PUSH", "GPU_PYTHON"):
        e.pop(k, None)
    e["NO_PROXY"] = e["no_proxy"] = "127.0.0.1"
    e["SPARK_K8S_REVISION"] = "0123456789abcdef0123456789abcdef01234567"
    e.update(extra or {})
    if args[:1] == ["pin"] and matrix_arg:
        args = args + ["--matrix", env["matrix"]]
    return subprocess.run([BIN, "images"] + args, capture_output=True, text=True, env=e,
                          cwd=ROOT, timeout=120)


def strip_sums(text):
    """TEXT with its checksum values emptied: what pinning must leave alone."""
    return SUM.sub(r'\1""', text)


def test_pins_every_jar_from_its_download(env):
    m = write_matrix(env)
    before = read(env["matrix"]).decode()
    want = serve_all(env, m)
    r = run(["pin"], env)
    assert r.returncode == 0, r.stderr
    after = read(env["matrix"]).decode()
    got = json.loads(after)
    for i, obj, k, url in pins(m):
        pin = got["spark"][i][obj]["classifiers"][k] if k else got["spark"][i][obj]
        h256, h1 = want[(i, obj, k, "sha256")], want[(i, obj, k, "sha1")]
        assert (pin["sha256"], pin["sha1"]) == (h256, h1)
        lines = r.stdout.splitlines()
        assert "%s = %s (%d bytes from %s%s)" % (
            label(m, i, obj, k, "sha256"), h256, len(body(url)), url,
            "; matches its .sha256" if obj == "iceberg" else "") in lines, r.stdout
        assert "%s = %s (matches %s.sha1)" % (label(m, i, obj, k, "sha1"), h1, url) in lines
    assert len(r.stdout.splitlines()) == len(want) == 2 * len(pins(m))
    assert len(pins(m)) == 4 + sum(len(s["rapids"]["classifiers"]) for s in m["spark"])
    # every jar was read whole, after its .sha1 (before a large download) was asked for
    reqs = env["server"].requests
    for _, _, _, url in pins(m):
        path = url[len(env["server"].url):]
        assert reqs.index(path + ".sha1") < reqs.index(path)
    # everything else kept byte for byte: key order, inline objects, indentation
    assert strip_sums(after) == before
    assert "review and commit" in r.stderr and env["matrix"] in r.stderr
    assert os.listdir(env["dir"]) == ["matrix.json"]  # no temp file, no jar on disk


def test_noop_runs_leave_the_file_byte_identical(env):
    m = write_matrix(env)
    serve_all(env, m)
    assert run(["pin"], env).returncode == 0
    pinned = read(env["matrix"])
    ino = os.stat(env["matrix"]).st_ino
    r = run(["pin"], env)  # downloads every jar again, checks every pin, changes nothing
    assert r.returncode == 0, r.stderr
    assert "nothing changed" in r.stderr
    assert r.stdout.count("(pinned; matches the download)") == 2 * len(pins(m))
    assert read(env["matrix"]) == pinned and os.stat(env["matrix"]).st_ino == ino
    env["server"].requests.clear()
    r = run(["pin", "--if-missing"], env)
    assert r.returncode == 0, r.stderr
    assert "nothing fetched" in r.stderr
    assert read(env["matrix"]) == pinned and os.stat(env["matrix"]).st_ino == ino
    assert env["server"].requests == []
    r = run(["pin", "--force"], env)  # same values: nothing to write either
    assert r.returncode == 0, r.stderr
    assert read(env["matrix"]) == pinned and os.stat(env["matrix"]).st_ino == ino


def test_filled_fields_are_checked_unless_force(env):
    wrong = "ab" * 32
    m = write_matrix(env, fill={(1, "rapids", "cuda13", "sha256"): wrong})
    want = serve_all(env, m)
    before = read(env["matrix"])
    # default and --if-missing (its sha1 is empty, so it is fetched): refused
    for mode in ([], ["--if-missing"]):
        r = run(["pin"] + mode, env)
        assert r.returncode == 1, (mode, r.stderr)
        assert "%s is '%s', but the jar at %s has %s" % (
            label(m, 1, "rapids", "cuda13", "sha256"), wrong,
            jar_url(m, m["spark"][1]["rapids"], "cuda13"), want[(1, "rapids", "cuda13", "sha256")]) \
            in r.stderr
        assert "--force" in r.stderr and "left unchanged" in r.stderr
        assert read(env["matrix"]) == before
    # --if-missing leaves a jar with both fields filled alone: not even fetched
    m = write_matrix(env, fill={(1, "rapids", "cuda13", "sha256"): wrong,
                                (1, "rapids", "cuda13", "sha1"): "cd" * 20})
    env["server"].requests.clear()
    r = run(["pin", "--if-missing"], env)
    assert r.returncode == 0, r.stderr
    got = json.loads(read(env["matrix"]))
    assert got["spark"][1]["rapids"]["classifiers"]["cuda13"]["sha256"] == wrong
    assert got["spark"][1]["rapids"]["classifiers"]["cuda12"]["sha256"] == \
        want[(1, "rapids", "cuda12", "sha256")]
    cuda13 = jar_url(m, m["spark"][1]["rapids"], "cuda13")[len(env["server"].url):]
    assert not [p for p in env["server"].requests if p.startswith(cuda13)]
    # --force: the download's values replace them
    r = run(["pin", "--force"], env)
    assert r.returncode == 0, r.stderr
    got = json.loads(read(env["matrix"]))
    k = got["spark"][1]["rapids"]["classifiers"]["cuda13"]
    assert (k["sha256"], k["sha1"]) == (want[(1, "rapids", "cuda13", "sha256")],
                                        want[(1, "rapids", "cuda13", "sha1")])


def refused(env, r, before, *words):
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "refused" in r.stderr and "left unchanged" in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    assert read(env["matrix"]) == before
    assert os.listdir(env["dir"]) == ["matrix.json"]
    assert r.stdout == ""


def test_a_download_that_is_not_what_the_repository_published_is_refused(env):
    """The jar's bytes against the repository's own .sha1 (and .sha256): a mirror or
    proxy that serves other bytes pins nothing, naming both sums."""
    m = write_matrix(env)
    serve_all(env, m)
    before = read(env["matrix"])
    srv = env["server"]
    url = jar_url(m, m["spark"][1]["rapids"], "cuda12-arm64")
    other = b"other bytes"
    srv.put(url, other)
    refused(env, run(["pin"], env), before,
            "%s: its sha1 is %s, but %s.sha1 says %s" % (
                url, hashlib.sha1(other).hexdigest(), url, hashlib.sha1(body(url)).hexdigest()))
    srv.put(url, body(url))
    # a published .sha256 that disagrees with the bytes (whose sha1 agrees)
    ice = jar_url(m, m["spark"][0]["iceberg"])
    srv.put(ice + ".sha256", "%s  %s\n" % ("0" * 64, ice.rsplit("/", 1)[1]))
    refused(env, run(["pin"], env), before,
            "%s: its sha256 is %s, but %s.sha256 says %s" % (
                ice, hashlib.sha256(body(ice)).hexdigest(), ice, "0" * 64))


def test_a_jar_without_a_published_sha1_is_refused(env):
    m = write_matrix(env)
    serve_all(env, m)
    before = read(env["matrix"])
    url = jar_url(m, m["spark"][1]["iceberg_aws_bundle"])
    env["server"].remove(url + ".sha1")
    refused(env, run(["pin"], env), before, url + ".sha1: HTTP 404",
            "cannot be cross-checked")
    # no large download was started for it
    assert url[len(env["server"].url):] not in env["server"].requests


def test_a_missing_jar_is_refused(env):
    m = write_matrix(env)
    serve_all(env, m)
    before = read(env["matrix"])
    url = jar_url(m, m["spark"][0]["rapids"], "cuda11")
    env["server"].remove(url)
    refused(env, run(["pin"], env), before, url + ": HTTP 404")


@pytest.mark.parametrize("body_text,why", [
    ("a" * 41, "41 hex digits, not 40"),
    ("%s  {name}\n" % ("g" * 40), "not a checksum file"),
    ("%s  {name}\nzz  other.jar\n" % ("a" * 40), "line 2: 'zz' is not a hex checksum"),
    ("%s  other.jar\n" % ("a" * 40), "names 'other.jar'"),
    ("<!DOCTYPE html>\n<html><body>moved</body></html>\n", "not a checksum file"),
    ("", "is empty"),
])
def test_malformed_sha1_files_are_refused(env, body_text, why):
    m = write_matrix(env)
    serve_all(env, m)
    url = jar_url(m, m["spark"][1]["iceberg"]) + ".sha1"
    env["server"].put(url, body_text.replace("{name}", url.rsplit("/", 1)[1][:-5]))
    before = read(env["matrix"])
    refused(env, run(["pin"], env), before, url, why)


def test_non_http_urls_are_refused(env):
    write_matrix(env)
    text = read(env["matrix"]).decode()
    m = json.loads(text)
    text = text.replace('"artifact": "%s",' % m["spark"][0]["iceberg"]["artifact"],
                        '"artifact": "%s", "url": "file:///etc/iceberg.jar",'
                        % m["spark"][0]["iceberg"]["artifact"], 1)
    with open(env["matrix"], "w") as f:
        f.write(text)
    assert json.loads(text)["spark"][0]["iceberg"]["url"] == "file:///etc/iceberg.jar"
    before = read(env["matrix"])
    r = run(["pin"], env)
    refused(env, r, before, "file:///etc/iceberg.jar.sha1: not an http(s) URL")
    assert env["server"].requests == []


def test_a_matrix_with_sha512_is_refused(env):
    write_matrix(env)
    text = read(env["matrix"]).decode().replace('"sha256": ""', '"sha512": "", "sha256": ""', 1)
    with open(env["matrix"], "w") as f:
        f.write(text)
    r = run(["pin"], env)
    assert r.returncode == 2
    assert "iceberg.sha512: no longer read" in r.stderr and "sha256" in r.stderr
    assert read(env["matrix"]).decode() == text


def test_if_missing_with_everything_pinned_makes_no_request(env):
    m = write_matrix(env)
    fill = {}
    for i, obj, k, _ in pins(m):
        fill[(i, obj, k, "sha256")] = "ab" * 32
        fill[(i, obj, k, "sha1")] = "cd" * 20
    write_matrix(env, fill=fill)
    before = read(env["matrix"])
    # the matrix named by $SPARK_K8S_MATRIX, as `make images` does
    r = run(["pin", "--if-missing"], env, extra={"SPARK_K8S_MATRIX": env["matrix"]},
            matrix_arg=False)
    assert r.returncode == 0, r.stderr
    assert "nothing fetched" in r.stderr
    assert env["server"].requests == []
    assert read(env["matrix"]) == before


def test_usage_errors():
    r = subprocess.run([BIN, "images", "pin", "--force", "--if-missing"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "exclude each other" in r.stderr
    r = subprocess.run([BIN, "images", "pin", "--matrix", "/nonexistent/matrix.json"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "/nonexistent/matrix.json: cannot open" in r.stderr


def test_pinned_matrix_is_buildable(env):
    m = write_matrix(env)
    want = serve_all(env, m)
    extra = {"SPARK_K8S_MATRIX": env["matrix"], "PATH": "/usr/bin:/bin"}
    r = run(["plan"], env, extra=extra)
    assert r.returncode == 0 and "not buildable yet" in r.stderr and "sha256" in r.stderr
    r = run(["build", "--dry-run", "--builder", "docker"], env, extra=extra)
    assert r.returncode == 2 and "refusing to build" in r.stderr and "no checksum" in r.stderr
    assert run(["pin"], env).returncode == 0
    r = run(["plan"], env, extra=extra)
    assert r.returncode == 0, r.stderr
    assert "not buildable yet" not in r.stderr
    r = run(["build", "--dry-run", "--builder", "docker"], env, extra=extra)
    assert r.returncode == 0, r.stderr
    assert "refusing to build" not in r.stderr
    builds = [l.split() for l in r.stdout.splitlines() if l.startswith("+ docker build ")]
    assert len(builds) == 16
    cuda12 = "|".join(["cuda12", "x86_64", "12", want[(0, "rapids", "cuda12", "sha256")],
                       want[(0, "rapids", "cuda12", "sha1")]])
    assert any(cuda12 in " ".join(b) for b in builds)
    ice = "ICEBERG_SHA256=" + want[(1, "iceberg", None, "sha256")]
    assert any(ice in b for b in builds)
    # without --dry-run it gets past the pins and stops at the missing Docker CLI
    r = run(["build", "--builder", "docker"], env, extra=extra)
    assert r.returncode == 1 and "docker: not found on PATH" in r.stderr
    assert "refusing to build" not in r.stderr


def self_signed(d):
    """A self-signed certificate for 127.0.0.1 (no CA trusts it): (certfile, keyfile)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cf, kf = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    with open(cf, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kf, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cf, kf


def test_https_certificates_are_verified(env):
    """A repository served over https by a certificate no CA vouches for is refused."""
    m = write_matrix(env)
    serve_all(env, m)
    certdir = os.path.join(os.path.dirname(env["dir"]), "tls")
    os.mkdir(certdir)
    tls = Server(env["server"].root, tls=self_signed(certdir))
    try:
        text = read(env["matrix"]).decode()
        repo = m["images"]["maven_repository"]
        text = text.replace(json.dumps(repo), json.dumps(tls.url + repo[len(env["server"].url):]))
        with open(env["matrix"], "w") as f:
            f.write(text)
        before = read(env["matrix"])
        r = run(["pin"], env)
        refused(env, r, before, tls.url + "/maven2/", "certificate")
        assert tls.requests == []  # no request got past the handshake
    finally:
        tls.close()
