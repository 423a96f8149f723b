"""restcatalog.py — an Iceberg REST catalog for the lakehouse tests: Apache Iceberg's own
REST catalog test fixture, org.apache.iceberg.rest.RESTCatalogServer (Iceberg 1.10.1, for
the clients of both Spark lines: rest-catalog.pom.xml says why not 1.11.0's; the jar set
"rest-catalog" of jars.lock), in a JVM of its own, whose tables live in an ObjectStore's
bucket, written and read by Iceberg's S3FileIO.

    catalog = RestCatalog(store, workdir).start()    # /v1/config answers when it returns
    catalog.uri         http://127.0.0.1:PORT/   (what a client's `uri` property takes)
    catalog.warehouse   s3://BUCKET/warehouse    (the server's; clients set none)
    catalog.get(path)   GET a REST path, JSON in return (e.g. "v1/namespaces")
    catalog.stop()      the processes left (none)

The fixture reads its configuration from environment variables: CATALOG_X_Y__Z is catalog
property x.y-z (RCKUtils.environmentCatalogConfig), and rest.port, its port, is one of them
(CATALOG_REST_PORT; the REST_PORT of Iceberg's Dockerfile configures nothing but the
image's health check). Here the backend is a JdbcCatalog on an SQLite file in WORKDIR (the
fixture's default, jdbc:sqlite::memory:, gives each pooled connection a database of its
own), io-impl S3FileIO with the store's endpoint, path-style access and region, and the
warehouse in the store's bucket. Credentials reach it only as the AWS SDK's environment
variables (store.env()), never as catalog properties. Port 0: Jetty binds a free port,
found from the JVM's listening socket.

What it is not: a server for anyone but the tests. It authenticates nobody (its /v1/config
even advertises a made-up OAuth endpoint), vends no credentials (include-credentials is
off), binds all interfaces (RESTCatalogServer has no host setting; clients use 127.0.0.1),
and keeps its catalog only until it stops.
"""
import json
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from . import jars
from .servers import START_S, Server, ServerError, ServerProcess

MAIN = "org.apache.iceberg.rest.RESTCatalogServer"
S3_FILE_IO = "org.apache.iceberg.aws.s3.S3FileIO"
JAR_SET = "rest-catalog"
# A small heap and a quick JIT: the server handles a few requests a second on a machine
# that also runs Spark.
JVM_OPTIONS = ["-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


def java_binary():
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    return shutil.which("java") or "/usr/bin/java"


class RestCatalog(Server):
    """The REST catalog server on STORE (an ObjectStore, started), logging to
    WORKDIR/restcatalog.log; CLASSPATH: its jars (default: the verified jar set)."""

    label = "restcatalog"

    def __init__(self, store, workdir, classpath=None, java=None, warehouse_prefix="warehouse"):
        self.store = store
        self.workdir = Path(workdir)
        self.classpath = classpath
        self.java = java or java_binary()
        self.warehouse = store.uri(warehouse_prefix)
        self.port = None
        self.server = None

    @property
    def uri(self):
        return "http://127.0.0.1:%d/" % self.port

    def server_properties(self):
        """The catalog properties the server runs with (no credentials among them)."""
        return {
            "catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
            "uri": "jdbc:sqlite:%s" % (self.workdir / "catalog.db"),
            "warehouse": self.warehouse,
            "io-impl": S3_FILE_IO,
            "s3.endpoint": self.store.endpoint,
            "s3.path-style-access": "true",
            "client.region": self.store.region,
            "rest.port": "0",
        }

    def environment(self):
        """This process's environment without CATALOG_* (each would become a catalog
        property) or AWS_* (a profile or endpoint of the caller's), plus the store's
        credentials and the server's properties as CATALOG_* variables."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "AWS_"))}
        env.update(self.store.env())
        for key, value in self.server_properties().items():
            env["CATALOG_" + key.replace("-", "__").replace(".", "_").upper()] = value
        return env

    def start(self, timeout=START_S):
        self.workdir.mkdir(parents=True, exist_ok=True)
        classpath = self.classpath or jars.classpath(JAR_SET)
        argv = [self.java, *JVM_OPTIONS, "-cp", ":".join(str(p) for p in classpath), MAIN]
        self.server = ServerProcess("restcatalog (Iceberg RESTCatalogServer)", argv,
                                    self.environment(), self.workdir / "restcatalog.log")
        try:
            ports = self.server.wait_for("a listening port", self.server.listening_ports, timeout)
            self.port = ports[0]
            self.server.wait_for("an answer to GET /v1/config", self._answers, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _answers(self):
        try:
            return "defaults" in self.get("v1/config", timeout=5)
        except (OSError, ValueError, ServerError):
            return False

    def get(self, path, timeout=30):
        """GET PATH of the REST API (e.g. "v1/namespaces"); its JSON."""
        try:
            with urllib.request.urlopen(self.uri + path.lstrip("/"), timeout=timeout) as r:
                return json.load(r)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")[:2000]
            raise ServerError("restcatalog: GET %s: HTTP %d: %s" % (path, exc.code, body)) from None
