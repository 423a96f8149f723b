"""test_images_pin.py — `spark-k8s images pin` against a local HTTP server (a
thread on 127.0.0.1 serving checksum files from a private directory) and a copy of
images/matrix.json whose URLs point at it: the checksums of the jars the variants
download (Spark itself comes hash-locked from PyPI), in Maven's bare and named
.sha512/.sha1 forms (with the .sha1 fallback on 404) and Apache's GPG form (a jar
with its own url, e.g. an Apache mirror), filling only empty fields unless --force,
byte-identical no-ops, refusals that change nothing (name mismatch, malformed hex,
HTTP errors, non-http URLs, an https server whose certificate no CA vouches for),
--if-missing making no request when everything is pinned, and `images plan`/
`images build --dry-run` accepting the pinned matrix."""
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


def digest(algo, what):
    return hashlib.new(algo, what.encode()).hexdigest()


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
        with open(path, "w") as f:
            f.write(content)

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


def jar_url(m, c):
    if c.get("url"):
        return c["url"]
    group, art = c["artifact"].split(":")
    v = c["version"]
    return "%s/%s/%s/%s/%s-%s.jar" % (m["images"]["maven_repository"].rstrip("/"),
                                      group.replace(".", "/"), art, v, art, v)


def write_matrix(env, pins=None):
    """The repository's matrix, formatting kept, with every checksum emptied (then PINS,
    {(line index, object, field): hex}, filled) and its URLs on the local server.
    Returns the parsed copy."""
    with open(MATRIX_PATH) as f:
        text = f.read()
    text = re.sub(r'("sha(?:1|512)": )"[0-9a-fA-F]*"', r'\1""', text)
    m = json.loads(text)
    url = env["server"].url
    repl = {m["images"]["maven_repository"]: url + "/maven2"}
    for s in m["spark"]:
        for c in JARS:
            if s[c].get("url"):
                repl[s[c]["url"]] = url + "/jars/" + s[c]["url"].rsplit("/", 1)[1]
    for old, new in repl.items():
        assert json.dumps(old) in text
        text = text.replace(json.dumps(old), json.dumps(new))
    for (i, obj, field), value in (pins or {}).items():
        # the obj's own field: the first such field after the obj's key in line i
        start = nth_spark_start(text, i)
        k = text.index('"%s": {' % obj, start)
        f = text.index('"%s": ""' % field, k)
        text = text[:f] + '"%s": "%s"' % (field, value) + text[f + len('"%s": ""' % field):]
    with open(env["matrix"], "w") as f:
        f.write(text)
    m = json.loads(text)
    for (i, obj, field), value in (pins or {}).items():
        assert m["spark"][i][obj][field] == value
    return m


def nth_spark_start(text, i):
    pos = text.index('"spark": [')
    for _ in range(i + 1):
        pos = text.index('"line": ', pos + 1)
    return pos


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


def gpg_style(h, name):
    """Apache's GPG form: "NAME: AAAA BBBB ..." uppercase, wrapped under the name."""
    groups = [h[k:k + 8].upper() for k in range(0, 128, 8)]
    body = name + ": " + " ".join(groups[:6]) + "\n"
    pad = " " * (len(name) + 2)
    for k in range(6, 16, 6):
        body += pad + " ".join(groups[k:k + 6]) + "\n"
    return body


def serve_all(env, m, jar_sha512=("iceberg",), named=("rapids",), gpg=()):
    """Publish a checksum file for every download of M; returns {(i, obj, field): hex}.
    Jars in JAR_SHA512 get a .sha512 (named form "hex  name", or Apache's GPG form for
    those in GPG); the others only a .sha1, named ("hex  name") for those in NAMED,
    else bare."""
    srv = env["server"]
    want = {}
    for i, s in enumerate(m["spark"]):
        for c in JARS:
            url = jar_url(m, s[c])
            name = url.rsplit("/", 1)[1]
            if c in jar_sha512:
                h = digest("sha512", url)
                srv.put(url + ".sha512", gpg_style(h, name) if c in gpg else "%s  %s\n" % (h, name))
                want[(i, c, "sha512")] = h
            else:
                h = digest("sha1", url)
                srv.put(url + ".sha1", ("%s  %s\n" % (h, name)) if c in named else h)
                want[(i, c, "sha1")] = h
    return want


def strip_sums(text):
    """TEXT without its checksum lines: what pinning must leave alone."""
    return [l for l in text.splitlines() if not re.match(r'^\s*"sha(1|512)": "[0-9a-f]*",?$', l)]


def test_pins_every_empty_field_from_the_publishers_files(env):
    m = write_matrix(env)
    before = read(env["matrix"]).decode()
    want = serve_all(env, m)
    r = run(["pin"], env)
    assert r.returncode == 0, r.stderr
    after = read(env["matrix"]).decode()
    got = json.loads(after)
    for (i, obj, field), h in want.items():
        assert got["spark"][i][obj][field] == h
        url = jar_url(m, m["spark"][i][obj])
        line = "spark[%d] (%s) %s.%s = %s (from %s.%s)" % (
            i, m["spark"][i]["version"], obj, field, h, url, field)
        assert line in r.stdout.splitlines(), r.stdout
    assert len(r.stdout.splitlines()) == len(want) == 6
    # jars without a .sha512: the .sha512 was asked for first, then the .sha1
    aws = jar_url(m, m["spark"][0]["iceberg_aws_bundle"])[len(env["server"].url):]
    assert env["server"].requests.index(aws + ".sha512") < env["server"].requests.index(aws + ".sha1")
    # everything else kept byte for byte: key order, inline arrays, indentation
    assert strip_sums(after) == strip_sums(before)
    expected = json.loads(json.dumps(m))
    for (i, obj, field), h in want.items():
        expected["spark"][i][obj][field] = h
    assert got == expected  # nothing but the checksums changed
    assert "review and commit" in r.stderr and env["matrix"] in r.stderr
    assert os.listdir(env["dir"]) == ["matrix.json"]  # no temp file left


def test_gpg_style_is_normalised_to_lowercase(env):
    m = write_matrix(env)
    want = serve_all(env, m, gpg=("iceberg",))
    r = run(["pin"], env)
    assert r.returncode == 0, r.stderr
    got = json.loads(read(env["matrix"]))
    for i in range(len(m["spark"])):
        assert got["spark"][i]["iceberg"]["sha512"] == want[(i, "iceberg", "sha512")]
        assert re.fullmatch("[0-9a-f]{128}", got["spark"][i]["iceberg"]["sha512"])


def test_noop_runs_leave_the_file_byte_identical(env):
    m = write_matrix(env)
    serve_all(env, m)
    assert run(["pin"], env).returncode == 0
    pinned = read(env["matrix"])
    ino = os.stat(env["matrix"]).st_ino
    r = run(["pin"], env)  # checks every pin against its publisher, changes nothing
    assert r.returncode == 0, r.stderr
    assert "matches its publisher" in r.stderr and "(pinned; matches" in r.stdout
    assert read(env["matrix"]) == pinned and os.stat(env["matrix"]).st_ino == ino
    env["server"].requests.clear()
    r = run(["pin", "--if-missing"], env)
    assert r.returncode == 0, r.stderr
    assert read(env["matrix"]) == pinned and os.stat(env["matrix"]).st_ino == ino
    assert env["server"].requests == []
    r = run(["pin", "--force"], env)  # same values: nothing to write either
    assert r.returncode == 0, r.stderr
    assert read(env["matrix"]) == pinned and os.stat(env["matrix"]).st_ino == ino


def test_only_empty_fields_unless_force(env):
    other1 = "cd" * 20
    m = write_matrix(env, pins={(1, "rapids", "sha1"): other1})
    want = serve_all(env, m)  # rapids: a named .sha1 on the server
    before = read(env["matrix"])
    # default: a filled field that disagrees with its publisher is refused
    r = run(["pin"], env)
    assert r.returncode == 1
    assert other1 in r.stderr and want[(1, "rapids", "sha1")] in r.stderr
    assert "--force" in r.stderr and "left unchanged" in r.stderr
    assert read(env["matrix"]) == before
    # --if-missing: the filled one is kept and not even fetched
    env["server"].requests.clear()
    r = run(["pin", "--if-missing"], env)
    assert r.returncode == 0, r.stderr
    got = json.loads(read(env["matrix"]))
    assert got["spark"][1]["rapids"]["sha1"] == other1
    assert got["spark"][0]["rapids"]["sha1"] == want[(0, "rapids", "sha1")]
    rapids1 = jar_url(m, m["spark"][1]["rapids"])[len(env["server"].url):]
    assert not [p for p in env["server"].requests if p.startswith(rapids1)]
    assert "rapids.sha1 = " not in "".join(
        l for l in r.stdout.splitlines() if l.startswith("spark[1]"))
    # --force: the publisher's values replace them; a jar whose publisher has a
    # .sha512 keeps only that
    m = write_matrix(env, pins={(1, "rapids", "sha1"): other1, (0, "iceberg", "sha1"): other1})
    r = run(["pin", "--force"], env)
    assert r.returncode == 0, r.stderr
    got = json.loads(read(env["matrix"]))
    assert got["spark"][1]["rapids"]["sha1"] == want[(1, "rapids", "sha1")]
    assert got["spark"][0]["iceberg"]["sha512"] == want[(0, "iceberg", "sha512")]
    assert got["spark"][0]["iceberg"]["sha1"] == ""
    assert "spark[0] (%s) iceberg.sha1 = \"\" (cleared" % m["spark"][0]["version"] in r.stdout


def refused(env, r, before, *words):
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "refused" in r.stderr and "left unchanged" in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    assert read(env["matrix"]) == before
    assert os.listdir(env["dir"]) == ["matrix.json"]
    assert r.stdout == ""


def test_name_mismatch_is_refused(env):
    m = write_matrix(env)
    serve_all(env, m)
    url = jar_url(m, m["spark"][1]["iceberg"])
    env["server"].put(url + ".sha512", "%s  iceberg-spark-runtime-9.9_2.13-9.9.9.jar\n" % ("0" * 128))
    before = read(env["matrix"])
    r = run(["pin"], env)
    refused(env, r, before, url + ".sha512",
            "names 'iceberg-spark-runtime-9.9_2.13-9.9.9.jar', not '%s'" % url.rsplit("/", 1)[1])


def test_gpg_name_mismatch_is_refused(env):
    m = write_matrix(env)
    serve_all(env, m)
    url = jar_url(m, m["spark"][0]["iceberg"])
    h = digest("sha512", url).upper()
    env["server"].put(url + ".sha512", "other.jar: " + " ".join(h[k:k + 8] for k in range(0, 128, 8)))
    before = read(env["matrix"])
    refused(env, run(["pin"], env), before, url + ".sha512", "names 'other.jar'")


@pytest.mark.parametrize("which,body,why", [
    ("sha512", "%s  {name}\n" % ("a" * 127), "127 hex digits, not 128"),
    ("sha512", "{name}: " + " ".join(["ABCDEF01"] * 15) + " ABCDEFZZ\n", "expected groups of hex"),
    ("sha512", "{name}: " + " ".join(["ABCDEF01"] * 15) + "\n", "make 120 digits, not 128"),
    ("sha512", "<!DOCTYPE html>\n<html><body>moved</body></html>\n", "not a checksum file"),
    ("sha512", "", "is empty"),
    ("jar", "a" * 41, "41 hex digits, not 40"),
    ("jar", "%s  {name}\n" % ("g" * 40), "not a checksum file"),
    ("jar", "%s  {name}\nzz  other.jar\n" % ("a" * 40), "line 2: 'zz' is not a hex checksum"),
    ("jar", "%s  other.jar\n" % ("a" * 40), "names 'other.jar'"),
])
def test_malformed_files_are_refused(env, which, body, why):
    m = write_matrix(env)
    serve_all(env, m, jar_sha512=("iceberg",))
    url = (jar_url(m, m["spark"][1]["iceberg"]) + ".sha512" if which == "sha512"
           else jar_url(m, m["spark"][1]["rapids"]) + ".sha1")
    name = url.rsplit("/", 1)[1].rsplit(".", 1)[0]
    env["server"].put(url, body.replace("{name}", name))
    before = read(env["matrix"])
    refused(env, run(["pin"], env), before, url, why)


def test_404_everywhere_is_refused(env):
    m = write_matrix(env)
    before = read(env["matrix"])
    r = run(["pin"], env)
    ice = jar_url(m, m["spark"][0]["iceberg"])
    refused(env, r, before, ice + ".sha1: HTTP 404", ice + ".sha512: HTTP 404")
    # a jar with neither file: both URLs named
    serve_all(env, m)
    rapids = jar_url(m, m["spark"][1]["rapids"])
    os.unlink(os.path.join(env["server"].root, rapids[len(env["server"].url) + 1:] + ".sha1"))
    r = run(["pin"], env)
    refused(env, r, before, rapids + ".sha1: HTTP 404", rapids + ".sha512: HTTP 404")


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
    refused(env, r, before, "file:///etc/iceberg.jar.sha512: not an http(s) URL")
    assert env["server"].requests == []


def test_if_missing_with_everything_pinned_makes_no_request(env):
    m = write_matrix(env)
    pins = {}
    for i, s in enumerate(m["spark"]):
        for c in JARS:
            pins[(i, c, "sha1")] = "cd" * 20
    write_matrix(env, pins=pins)
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
    assert r.returncode == 0 and "not buildable yet" in r.stderr
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
    sha = "RAPIDS_SHA1=" + want[(0, "rapids", "sha1")]
    assert any(sha in b for b in builds)
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
    """A checksum served over https by a certificate no CA vouches for is refused."""
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
