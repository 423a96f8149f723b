"""objectstore.py — an S3-protocol object store on loopback for the lakehouse tests: moto's
S3 server (moto[s3] with flask, from the Jupyter environment's lock) in a process of its
own on a free port of 127.0.0.1, with one bucket.

    store = ObjectStore(workdir).start()     # the bucket exists when start returns
    store.endpoint    http://127.0.0.1:PORT  (path-style: http://127.0.0.1:PORT/BUCKET/KEY)
    store.env()       AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION: test values, for
                      the environment of whatever talks to the store (never for catalog
                      properties)
    store.keys(prefix), store.client()       what the bucket holds, a boto3 client
    store.stop()      the processes left (none)

It serves what Iceberg's S3FileIO uses: PUT/GET (ranges)/HEAD/DELETE of objects,
DeleteObjects, multipart uploads, ListObjectsV2, path-style addressing. Objects live in
the server's memory: nothing is written to disk, and a stop forgets them. It verifies no
signatures and knows no users: any access key and secret will do (anonymous requests are
refused by the objects' private ACL), which is why the tests can hand it fixed ones.

`python objectstore.py serve` is the server process itself: it binds port 0 of the
address given and writes the port it got to stdout, so no port is guessed and raced for.
"""
import argparse
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if not __package__:  # python objectstore.py serve: the packages of tests/, as pytest.ini has them
    sys.path.insert(0, str(HERE.parent))
from lakehouse.servers import START_S, Server, ServerError, ServerProcess  # noqa: E402

HOST = "127.0.0.1"
REGION = "us-east-1"
ACCESS_KEY_ID = "lakehouse-test-access-key"
SECRET_ACCESS_KEY = "lakehouse-test-secret-key"
PORT_LINE = re.compile(r"^objectstore listening on [0-9.]+:(\d+)$", re.M)


class ObjectStore(Server):
    """moto's S3 server with BUCKET, its log in WORKDIR/objectstore.log; PYTHON must have
    moto[s3] and flask (default: this interpreter)."""

    label = "objectstore"

    def __init__(self, workdir, bucket="lakehouse", python=None):
        self.workdir = Path(workdir)
        self.bucket = bucket
        self.python = python or sys.executable
        self.region = REGION
        self.port = None
        self.server = None

    @property
    def endpoint(self):
        return "http://%s:%d" % (HOST, self.port)

    def env(self):
        """The credentials and region a client of the store needs, as environment variables."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "AWS_REGION": self.region}

    def start(self, timeout=START_S):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        env["PYTHONUNBUFFERED"] = "1"
        self.server = ServerProcess(
            "objectstore (moto S3 server)",
            [self.python, str(HERE / "objectstore.py"), "serve", "--host", HOST],
            env, self.workdir / "objectstore.log")
        try:
            def port():
                m = PORT_LINE.search(self.server.log.read_text(encoding="utf-8", errors="replace"))
                return int(m.group(1)) if m else None
            self.port = self.server.wait_for("its port", port, timeout)
            client = self.client()
            self.server.wait_for("an answer to ListBuckets", lambda: _answers(client), timeout)
            client.create_bucket(Bucket=self.bucket)
        except BaseException:
            self.stop()
            raise
        return self

    def client(self):
        """A boto3 S3 client of the store (path-style, the test credentials)."""
        import boto3
        from botocore.config import Config
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                          connect_timeout=5, read_timeout=60))

    def keys(self, prefix=""):
        """Every key of the bucket under PREFIX (ListObjectsV2, all pages), sorted."""
        pages = self.client().get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def uri(self, key=""):
        """s3://BUCKET/KEY."""
        return "s3://%s/%s" % (self.bucket, key)


def _answers(client):
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        client.list_buckets()
        return True
    except (BotoCoreError, ClientError):
        return False


def serve(host):
    """The server process: moto's S3 backend on HOST, port 0; the port goes to stdout."""
    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                               create_backend_app)
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, 0, app, threaded=True, request_handler=MotoRequestHandler)
    print("objectstore listening on %s:%d" % (host, server.server_port), flush=True)
    server.serve_forever()


def main(argv=None):
    ap = argparse.ArgumentParser(description="moto's S3 server on HOST, a free port")
    ap.add_argument("command", choices=["serve"])
    ap.add_argument("--host", default=HOST)
    args = ap.parse_args(argv)
    serve(args.host)


if __name__ == "__main__":
    main()
