#!/usr/bin/python3
"""jars.py — the jars the lakehouse tests run, locked with their checksums as the Python
environments are (kernelspecs/envs), and fetched from Maven Central without Maven.

jars.lock lists each jar of each set: set, Maven coordinates, file name, sha256, and the
sha1 Maven Central publishes beside it. A set is a folder of the cache (build/test-jars):

  rest-catalog  Iceberg's REST catalog server (org.apache.iceberg.rest.RESTCatalogServer,
                iceberg-open-api's test fixtures) with its runtime dependencies, which
                Maven resolves from rest-catalog.pom.xml (the pom says why each is there)

(The kernels' own Iceberg and RAPIDS jars are the matrix's: `make jars`, build/jars.)

  jars.py fetch [--dest DIR] [SET ...]   what is missing or not as locked: download it
                                          (no mvn), verify its sha256, refuse a mismatch
  jars.py check                          offline: jars.lock is the lock of today's pom and matrix
  jars.py classpath SET [--dest DIR]     the class path of SET, verified (for a shell)
  jars.py lock                           maintainers: re-resolve and rewrite jars.lock; needs
                                          mvn and the network (mvn dependency:list on the
                                          pom, runtime scope; every file then downloaded
                                          from Maven Central and checked against its .sha1)

Only the standard library: `make deps` runs it with Debian's python3 (`make test-jars`).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LOCK = HERE / "jars.lock"
POM = HERE / "rest-catalog.pom.xml"
MATRIX = ROOT / "images" / "matrix.json"
HEADER = "# spark-k8s lock of tests/lakehouse jars; input sha256 {digest}"
FETCH_COMMAND = "make test-jars  (or: /usr/bin/python3 tests/lakehouse/jars.py fetch)"


class JarsError(Exception):
    """A jar that is missing, not as locked, or could not be fetched."""


def _matrix():
    with open(MATRIX, encoding="utf-8") as f:
        return json.load(f)


def maven_repository():
    return _matrix()["images"]["maven_repository"].rstrip("/")


def default_dest():
    """build/test-jars of this checkout, or of $SPARK_K8S_BUILD (what `make pytest` sets)."""
    build = os.environ.get("SPARK_K8S_BUILD") or str(ROOT / "build")
    return Path(build) / "test-jars"


def input_digest():
    """sha256 of what the lock is resolved from: the pom."""
    return hashlib.sha256(POM.read_bytes()).hexdigest()


# ---- coordinates ---------------------------------------------------------------------

def parse_coords(coords):
    """group:artifact:version[:classifier] -> (group, artifact, version, classifier)."""
    parts = coords.split(":")
    if len(parts) not in (3, 4) or not all(parts):
        raise ValueError("not group:artifact:version[:classifier]: %r" % coords)
    return parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else ""


def file_name(coords):
    _, artifact, version, classifier = parse_coords(coords)
    return "%s-%s%s.jar" % (artifact, version, "-" + classifier if classifier else "")


def url_of(coords, repo=None):
    group, artifact, version, _ = parse_coords(coords)
    return "%s/%s/%s/%s/%s" % (repo or maven_repository(), group.replace(".", "/"), artifact,
                               version, file_name(coords))


# ---- the lock file -------------------------------------------------------------------

class Entry:
    def __init__(self, jar_set, coords, name, sha256, sha1):
        self.set, self.coords, self.name = jar_set, coords, name
        self.sha256, self.sha1 = sha256, sha1

    def line(self):
        return " ".join((self.set, self.coords, self.name, self.sha256, self.sha1))


def read_lock(path=LOCK):
    """(header line, [Entry]) of jars.lock; ValueError naming the line when malformed."""
    lines = path.read_text(encoding="utf-8").splitlines()
    entries = []
    for n, raw in enumerate(lines, 1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        f = text.split()
        if (len(f) != 5 or not re.fullmatch(r"[0-9a-f]{64}", f[3])
                or not re.fullmatch(r"[0-9a-f]{40}", f[4])):
            raise ValueError("%s:%d: expected SET COORDINATES FILE SHA256 SHA1: %r"
                             % (path, n, raw))
        parse_coords(f[1])
        if f[2] != file_name(f[1]):
            raise ValueError("%s:%d: file %s is not %s's" % (path, n, f[2], f[1]))
        entries.append(Entry(*f))
    return (lines[0] if lines else ""), entries


def entries_of(jar_set, path=LOCK):
    found = [e for e in read_lock(path)[1] if e.set == jar_set]
    if not found:
        raise JarsError("%s has no jar set %r; run tests/lakehouse/jars.py lock" % (path, jar_set))
    return found


def check(path=LOCK):
    """Problems of jars.lock (offline): missing, malformed, or resolved from other inputs."""
    if not path.exists():
        return ["%s: missing; run tests/lakehouse/jars.py lock" % path]
    try:
        header, entries = read_lock(path)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    want = HEADER.format(digest=input_digest())
    if header != want:
        problems.append("%s: resolved from another rest-catalog.pom.xml than today's "
                        "(first line %r, expected %r); run tests/lakehouse/jars.py lock"
                        % (path, header, want))
    sets = {e.set for e in entries}
    if "rest-catalog" not in sets:
        problems.append("%s: no rest-catalog set" % path)
    unknown = sets - {"rest-catalog"}
    if unknown:
        problems.append("%s: sets of no input: %s" % (path, ", ".join(sorted(unknown))))
    return problems


# ---- hashing, downloading ------------------------------------------------------------

def file_digests(path):
    """(sha256, sha1) of PATH."""
    h256, h1 = hashlib.sha256(), hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h256.update(block)
            h1.update(block)
    return h256.hexdigest(), h1.hexdigest()


def _open(url, timeout):
    req = urllib.request.Request(url, headers={"User-Agent": "spark-k8s-tests/jars.py"})
    return urllib.request.urlopen(req, timeout=timeout)


def _retrying(what, fn, tries=3):
    for attempt in range(1, tries + 1):
        try:
            return fn()
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt == tries:
                raise JarsError("%s: HTTP %d %s" % (what, exc.code, exc.reason)) from None
        except (urllib.error.URLError, OSError) as exc:
            if attempt == tries:
                raise JarsError("%s: %s" % (what, exc)) from None
        time.sleep(attempt)


def download(url, dest, timeout=60):
    """URL into DEST (through DEST.part, renamed when complete); bytes written."""
    part = dest.with_name(dest.name + ".part")

    def get():
        with _open(url, timeout) as r, open(part, "wb") as out:
            shutil.copyfileobj(r, out, 1 << 20)
        return part.stat().st_size
    try:
        size = _retrying(url, get)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return size


def published_sha1(url, timeout=30):
    """The sha1 Maven Central publishes beside URL (URL.sha1: bare hex, or hex and a name)."""
    def get():
        with _open(url + ".sha1", timeout) as r:
            return r.read().decode("ascii", "replace")
    text = _retrying(url + ".sha1", get).strip().split()
    if not text or not re.fullmatch(r"[0-9a-fA-F]{40}", text[0]):
        raise JarsError("%s.sha1: not a sha1: %r" % (url, " ".join(text)[:80]))
    return text[0].lower()


_verified = {}


def verified(path, sha256):
    """PATH exists with SHA256 (remembered per size and mtime within this process)."""
    try:
        st = path.stat()
    except OSError:
        return False
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        _verified[key] = file_digests(path)[0]
    return _verified[key] == sha256


# ---- fetch, classpath ------------------------------------------------------------------

def fetch(dest=None, sets=None, repo=None, out=sys.stdout, lock_path=LOCK):
    """Bring DEST/<set>/ to what jars.lock says for SETS (default: all): download what is
    missing or differs (or hard-link it from another set that has the same file), verify
    sha256 (a mismatch raises JarsError naming both sums and leaves nothing), remove jars
    the lock no longer lists. Returns (jars verified, downloaded, bytes downloaded)."""
    dest = Path(dest or default_dest())
    _, entries = read_lock(lock_path)
    known = sorted({e.set for e in entries})
    sets = sets or known
    unknown = sorted(set(sets) - set(known))
    if unknown:
        raise JarsError("%s has no jar set %s; it has %s"
                        % (lock_path, ", ".join(unknown), ", ".join(known)))
    count = got = size = 0
    for jar_set in sets:
        folder = dest / jar_set
        folder.mkdir(parents=True, exist_ok=True)
        mine = [e for e in entries if e.set == jar_set]
        for e in mine:
            path = folder / e.name
            count += 1
            if verified(path, e.sha256):
                continue
            if path.exists():
                print("test jars: %s is not as locked (sha256 %s, jars.lock says %s); fetching it "
                      "again" % (path, file_digests(path)[0], e.sha256), file=out)
            twin = next((dest / o.set / o.name for o in entries if o.sha256 == e.sha256
                         and o.set != jar_set and verified(dest / o.set / o.name, o.sha256)), None)
            if twin:   # the same file in another set (the AWS bundle): link, not download
                _link_or_copy(twin, path)
                continue
            url = url_of(e.coords, repo)
            size += download(url, path)
            got += 1
            actual = file_digests(path)[0]
            if actual != e.sha256:
                path.unlink()
                raise JarsError("%s: sha256 %s, but %s says %s (%s); refused, nothing installed"
                                % (url, actual, lock_path, e.sha256, e.coords))
        names = {e.name for e in mine}
        for stale in folder.iterdir():
            if stale.name not in names:
                stale.unlink() if not stale.is_dir() else shutil.rmtree(stale)
    print("test jars: %d verified in %s%s" % (
        count, dest, ", %d downloaded (%.1f MB)" % (got, size / 1e6) if got else ""), file=out)
    return count, got, size


def _link_or_copy(src, dst):
    part = dst.with_name(dst.name + ".part")
    part.unlink(missing_ok=True)
    try:
        os.link(src, part)
    except OSError:
        shutil.copyfile(src, part)
    os.replace(part, dst)


def classpath(jar_set, dest=None, lock_path=LOCK):
    """The jars of JAR_SET in the cache, in lock order, each verified; JarsError naming the
    command that fetches them when one is missing or not as locked."""
    folder = Path(dest or default_dest()) / jar_set
    paths, bad = [], []
    for e in entries_of(jar_set, lock_path):
        path = folder / e.name
        paths.append(path)
        if not verified(path, e.sha256):
            bad.append(e.name)
    if bad:
        raise JarsError("%d jar(s) of set %s missing or not as locked in %s (%s%s); run: %s"
                        % (len(bad), jar_set, folder, ", ".join(bad[:3]),
                           ", ..." if len(bad) > 3 else "", FETCH_COMMAND))
    return paths


# ---- lock (maintainers) ----------------------------------------------------------------

def resolve_pom():
    """Coordinates of the pom's runtime class path, from mvn dependency:list."""
    mvn = shutil.which("mvn")
    if not mvn:
        raise JarsError("jars.py lock needs Maven (mvn); `make test-jars` does not")
    with tempfile.TemporaryDirectory(prefix="sk8s-jars-lock-") as tmp:
        listing = Path(tmp) / "list.txt"
        run = subprocess.run([mvn, "-B", "-q", "-Dstyle.color=never", "--strict-checksums",
                              "-f", str(POM),
                              "org.apache.maven.plugins:maven-dependency-plugin:3.11.0:list",
                              "-DincludeScope=runtime", "-DoutputFile=" + str(listing)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if run.returncode != 0:
            raise JarsError("mvn dependency:list failed (status %d):\n%s"
                            % (run.returncode, run.stdout[-4000:]))
        text = listing.read_text(encoding="utf-8")
    coords = []
    for raw in text.splitlines():
        line = raw.strip()
        # group:artifact:type[:classifier]:version:scope, with a module note on newer Maven
        m = re.match(r"^([\w.\-]+):([\w.\-]+):jar(?::([\w.\-]+))?:([\w.\-]+):"
                     r"(compile|runtime)\b", line)
        if m:
            g, a, classifier, v = m.group(1), m.group(2), m.group(3), m.group(4)
            coords.append("%s:%s:%s%s" % (g, a, v, ":" + classifier if classifier else ""))
    if not coords:
        raise JarsError("mvn dependency:list listed no jars:\n" + text)
    return sorted(set(coords))


def lock(dest=None, repo=None):
    dest = Path(dest or default_dest())
    wanted = [("rest-catalog", c) for c in resolve_pom()]
    entries = []
    for jar_set, coords in wanted:
        url = url_of(coords, repo)
        sha1 = published_sha1(url)
        path = dest / jar_set / file_name(coords)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or file_digests(path)[1] != sha1:
            twin = next((q for q in dest.glob("*/" + path.name)
                         if q != path and file_digests(q)[1] == sha1), None)
            if twin:
                _link_or_copy(twin, path)
            else:
                print("downloading", url, flush=True)
                download(url, path)
        sha256, got_sha1 = file_digests(path)
        if got_sha1 != sha1:
            path.unlink()
            raise JarsError("%s: sha1 %s, but Maven Central's %s.sha1 says %s"
                            % (url, got_sha1, url, sha1))
        entries.append(Entry(jar_set, coords, path.name, sha256, sha1))
    body = [HEADER.format(digest=input_digest()),
            "# generated by tests/lakehouse/jars.py lock from rest-catalog.pom.xml (mvn",
            "# dependency:list, runtime scope); set, coordinates",
            "# (group:artifact:version[:classifier]), file, sha256, Maven Central's sha1"]
    body += [e.line() for e in entries]
    LOCK.write_text("\n".join(body) + "\n", encoding="utf-8")
    sizes = {e.sha256: (dest / e.set / e.name).stat().st_size for e in entries}
    print("wrote %s: %d jars, %d distinct files, %.1f MB"
          % (LOCK.relative_to(ROOT), len(entries), len(sizes), sum(sizes.values()) / 1e6))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="download what is missing, verified against jars.lock")
    f.add_argument("sets", nargs="*", help="jar sets (default: all)")
    f.add_argument("--dest", help="the cache (default: build/test-jars)")
    f.add_argument("--repo", help="Maven repository URL (default: the matrix's)")
    sub.add_parser("check", help="offline: the lock matches the pom")
    c = sub.add_parser("classpath", help="print the verified class path of a set")
    c.add_argument("set")
    c.add_argument("--dest")
    lk = sub.add_parser("lock", help="maintainers: re-resolve (mvn, network), rewrite jars.lock")
    lk.add_argument("--dest")
    lk.add_argument("--repo")
    args = ap.parse_args(argv)
    try:
        if args.command == "fetch":
            fetch(args.dest, args.sets, args.repo)
        elif args.command == "check":
            problems = check()
            for p in problems:
                print(p, file=sys.stderr)
            return 1 if problems else 0
        elif args.command == "classpath":
            print(":".join(str(p) for p in classpath(args.set, args.dest)))
        else:
            lock(args.dest, args.repo)
    except (JarsError, ValueError, OSError) as exc:
        print("jars.py: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
