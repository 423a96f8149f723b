"""test_lakehouse_servers.py — the lakehouse servers and their jars on their own: the object
store serves what S3FileIO uses (objects, ranges, HEAD, DeleteObjects, multipart uploads,
ListObjectsV2 pages, path-style URLs); the REST catalog answers with its warehouse in the
bucket and runs with no credentials among its properties; both stop leaving nothing, and
die with the process that started them even when it is SIGKILLed; jars.lock matches its
inputs, and a fetch verifies what it downloads, refuses a mismatch naming both sums, and
downloads nothing the second time."""
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from lakehouse import jars
from lakehouse.fixtures import unique_namespace
from lakehouse.objectstore import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from support.maven import MavenRepo

HERE = Path(__file__).resolve().parent


def test_store_serves_what_s3fileio_uses(lakehouse_store):
    c = lakehouse_store.client()
    bucket, base = lakehouse_store.bucket, unique_namespace("s3ops") + "/"
    body = os.urandom(1000)
    c.put_object(Bucket=bucket, Key=base + "one", Body=body)
    assert c.head_object(Bucket=bucket, Key=base + "one")["ContentLength"] == 1000
    got = c.get_object(Bucket=bucket, Key=base + "one", Range="bytes=10-19")
    assert got["Body"].read() == body[10:20]
    # path-style: http://HOST:PORT/BUCKET/KEY (signed: anonymous reads of private objects
    # are refused, 403)
    url = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": base + "one"})
    assert url.startswith("%s/%s/%sone?" % (lakehouse_store.endpoint, bucket, base))
    with urllib.request.urlopen(url) as r:
        assert r.read() == body

    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    up = c.create_multipart_upload(Bucket=bucket, Key=base + "big")
    done = [{"PartNumber": n, "ETag": c.upload_part(Bucket=bucket, Key=base + "big", PartNumber=n,
                                                    UploadId=up["UploadId"], Body=p)["ETag"]}
            for n, p in enumerate(parts, 1)]
    c.complete_multipart_upload(Bucket=bucket, Key=base + "big", UploadId=up["UploadId"],
                                MultipartUpload={"Parts": done})
    assert c.get_object(Bucket=bucket, Key=base + "big")["Body"].read() == b"".join(parts)

    for n in range(3):
        c.put_object(Bucket=bucket, Key=base + "many/%d" % n, Body=b"x")
    page = c.list_objects_v2(Bucket=bucket, Prefix=base + "many/", MaxKeys=2)
    assert page["IsTruncated"] and page["KeyCount"] == 2
    rest = c.list_objects_v2(Bucket=bucket, Prefix=base + "many/",
                             ContinuationToken=page["NextContinuationToken"])
    assert [o["Key"] for o in page["Contents"] + rest["Contents"]] == \
        [base + "many/%d" % n for n in range(3)]

    gone = c.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": k} for k in lakehouse_store.keys(base)]})
    assert len(gone["Deleted"]) == 5
    assert lakehouse_store.keys(base) == []


def test_catalog_answers_with_its_warehouse_in_the_bucket(lakehouse_catalog, lakehouse_store):
    assert "defaults" in lakehouse_catalog.get("v1/config")
    props = lakehouse_catalog.server_properties()
    assert props["warehouse"] == "s3://%s/warehouse" % lakehouse_store.bucket
    assert props["io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert props["s3.endpoint"] == lakehouse_store.endpoint
    # the credentials reach the server through its environment alone
    env = lakehouse_catalog.environment()
    assert env["AWS_ACCESS_KEY_ID"] == ACCESS_KEY_ID
    assert not any(SECRET_ACCESS_KEY in v for v in props.values())
    assert not any("access-key" in k or "secret" in k for k in props)
    catalog_env = {k for k in env if k.startswith("CATALOG_")}
    assert not any("SECRET" in k or "ACCESS_KEY" in k for k in catalog_env)


def test_servers_stop_leaving_nothing(tmp_path):
    from lakehouse.objectstore import ObjectStore
    from lakehouse.restcatalog import RestCatalog
    with ObjectStore(tmp_path) as store:
        catalog = RestCatalog(store, tmp_path).start()
        pids = [store.server.pid, catalog.server.pid]
        ports = [store.port, catalog.port]
        assert catalog.stop() == []
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    listening = {c.laddr.port for c in psutil.net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN}
    assert not listening & set(ports)


CHILD = """
import json, sys, time
sys.path.insert(0, %r)
from lakehouse.objectstore import ObjectStore
from lakehouse.restcatalog import RestCatalog
store = ObjectStore(%r).start()
catalog = RestCatalog(store, %r).start()
print(json.dumps([store.server.pid, catalog.server.pid]), flush=True)
time.sleep(600)
"""


def test_servers_die_with_a_killed_parent(tmp_path):
    """The test process killed by SIGKILL (no teardown runs): the servers go with it."""
    child = subprocess.Popen([sys.executable, "-c", CHILD % (str(HERE.parent), str(tmp_path),
                                                             str(tmp_path))],
                             stdout=subprocess.PIPE, text=True)
    try:
        pids = json.loads(child.stdout.readline() or "null")
        assert pids, "the child started no servers; logs in %s" % tmp_path
        procs = [psutil.Process(p) for p in pids]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    gone, alive = psutil.wait_procs(procs, timeout=15)
    assert alive == [], "left running after their parent's SIGKILL: %s" % alive


# ---- the jars ------------------------------------------------------------------------

def test_jars_lock_matches_the_pom():
    assert jars.check() == []


def test_a_missing_jar_names_the_command_that_fetches_it(tmp_path):
    with pytest.raises(jars.JarsError, match="make test-jars"):
        jars.classpath("rest-catalog", dest=tmp_path)


@pytest.fixture
def one_jar(tmp_path):
    """A lock of one small made-up jar, its bytes, and a repository serving them."""
    body = b"not really a jar, but bytes to verify " + os.urandom(2048)
    coords = "org.example:tiny:1.0"
    lock = tmp_path / "jars.lock"
    lock.write_text("# a test lock\nrest-catalog %s %s %s %s\n" % (
        coords, jars.file_name(coords), hashlib.sha256(body).hexdigest(),
        hashlib.sha1(body).hexdigest()))
    repo = MavenRepo({"org/example/tiny/1.0/tiny-1.0.jar": body})
    yield lock, body, repo
    repo.close()


def test_fetch_verifies_and_then_downloads_nothing(one_jar, tmp_path):
    lock, body, repo = one_jar
    dest = tmp_path / "cache"
    assert jars.fetch(dest, repo=repo.url, lock_path=lock, out=io.StringIO())[1] == 1
    assert (dest / "rest-catalog" / "tiny-1.0.jar").read_bytes() == body
    assert jars.fetch(dest, repo=repo.url, lock_path=lock, out=io.StringIO())[1] == 0
    assert len(repo.requests) == 1
    assert jars.classpath("rest-catalog", dest, lock) == [dest / "rest-catalog" / "tiny-1.0.jar"]


def test_fetch_refuses_a_mismatch_naming_both_sums(one_jar, tmp_path):
    lock, body, repo = one_jar
    bad = b"X" + body[1:]
    repo.files["org/example/tiny/1.0/tiny-1.0.jar"] = bad
    dest = tmp_path / "cache"
    with pytest.raises(jars.JarsError) as exc:
        jars.fetch(dest, repo=repo.url, lock_path=lock, out=io.StringIO())
    assert hashlib.sha256(bad).hexdigest() in str(exc.value)
    assert hashlib.sha256(body).hexdigest() in str(exc.value)
    assert list((dest / "rest-catalog").iterdir()) == []


def test_fetch_replaces_a_corrupted_cached_jar(one_jar, tmp_path):
    lock, body, repo = one_jar
    dest = tmp_path / "cache"
    (dest / "rest-catalog").mkdir(parents=True)
    (dest / "rest-catalog" / "tiny-1.0.jar").write_bytes(b"truncated")
    with pytest.raises(jars.JarsError, match="not as locked"):
        jars.classpath("rest-catalog", dest, lock)
    jars.fetch(dest, repo=repo.url, lock_path=lock, out=io.StringIO())
    assert (dest / "rest-catalog" / "tiny-1.0.jar").read_bytes() == body
