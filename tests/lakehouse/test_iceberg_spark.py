"""test_iceberg_spark.py — Iceberg end to end with real PySpark, per Spark line of the matrix
(3.5 with Iceberg 1.10.1, 4.1 with 1.11.0), from the line's locked kernel environment
(build/envs/spark-LINE) with the line's Iceberg runtime and AWS bundle on the driver's
class path (jars.lock, `make test-jars`): one SparkSession per line (scenario.py) runs the
same table scenario on two catalogs,

  iceberg   the REST catalog (Iceberg's RESTCatalogServer) with its tables on the S3
            store (moto), read and written by S3FileIO on both sides, the properties of
            catalogs.rest_catalog_properties
  local     a hadoop catalog on a local folder, catalogs.hadoop_catalog_properties

and the tests judge what it saw: rows read back exactly after INSERT, ADD COLUMN and
MERGE INTO, time travel to the first snapshot by id and by time, every file of the table
under its location (in the bucket, for REST), DROP TABLE and DROP TABLE PURGE (the
objects gone from the bucket), a multipart upload and a ListObjectsV2 by S3FileIO.
Nothing is skipped: a missing environment or jar fails, naming the command that makes it.
"""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from lakehouse import catalogs, jars
from lakehouse.fixtures import unique_namespace

ROOT = Path(__file__).resolve().parents[2]
MATRIX = json.loads((ROOT / "images" / "matrix.json").read_text())
LINES = {s["line"]: s for s in MATRIX["spark"]}
SCENARIO_S = 600   # one line's scenario on a loaded 2-core machine (about 1-2 minutes)

FIRST = [[1, "a"], [2, "b"], [3, "c"]]
EVOLVED = [[1, "a", None], [2, "b", None], [3, "c", None], [4, "d", 4.5]]
MERGED = [[1, "a", None], [2, "B", 2.5], [3, "c", None], [4, "d", 4.5], [5, "e", 5.5]]
BIG_ROWS = 150000                  # about 10 MB of parquet in one file: 3 parts
MULTIPART_PART = 5 * 1024 * 1024   # S3's least part size; S3FileIO goes multipart at 1.5 parts


def kernel_python(line):
    build = os.environ.get("SPARK_K8S_BUILD") or str(ROOT / "build")
    return Path(build) / "envs" / ("spark-" + line) / "bin" / "python"


class Run:
    """What scenario.py saw for one line, with what the tests need to judge it."""

    def __init__(self, line, result, namespace, hadoop_warehouse, log, seconds):
        self.line, self.result, self.namespace = line, result, namespace
        self.hadoop_warehouse, self.log, self.seconds = hadoop_warehouse, log, seconds

    def step(self, catalog, name):
        """The record of step NAME on CATALOG; the test fails with the scenario's error
        when the step did not run."""
        got = self.result["steps"].get(catalog, {}).get(name)
        if got is not None:
            return got
        errors = "\n".join("%s/%s:\n%s" % (e["catalog"], e["step"], e["traceback"][-6000:])
                           for e in self.result["errors"]) or "(no error recorded)"
        pytest.fail("Spark %s: step %s of catalog %s did not run; the scenario's errors:\n%s\n"
                    "its output (%s) ends:\n%s"
                    % (self.line, name, catalog, errors, self.log, tail(self.log)), pytrace=False)


def tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return "(%s)" % exc


@pytest.fixture(scope="module", params=sorted(LINES))
def run(request, lakehouse_store, lakehouse_catalog, tmp_path_factory):
    line = request.param
    python = kernel_python(line)
    if not python.exists():
        pytest.fail("no kernel environment for Spark %s at %s; run: make envs"
                    % (line, python.parent.parent), pytrace=False)
    try:
        classpath = catalogs.driver_classpath(line)
    except jars.JarsError as exc:
        pytest.fail(str(exc), pytrace=False)
    work = tmp_path_factory.mktemp("iceberg-spark-" + line)
    namespace = unique_namespace("lake_" + line.replace(".", "_"))
    warehouse = work / "hadoop-warehouse"
    conf = {
        "spark.driver.extraClassPath": classpath,
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.session.timeZone": "UTC",   # TIMESTAMP AS OF the commit time, to the ms
        "spark.driver.extraJavaOptions": "-XX:+UseSerialGC",
    }
    conf.update(catalogs.ICEBERG_EXTENSIONS)
    conf.update(catalogs.rest_catalog_properties(lakehouse_catalog, "iceberg"))
    conf.update(catalogs.rest_catalog_properties(lakehouse_catalog, "iceberg_mp"))
    conf["spark.sql.catalog.iceberg_mp.s3.multipart.part-size-bytes"] = str(MULTIPART_PART)
    conf.update(catalogs.hadoop_catalog_properties(warehouse, "local"))
    spec = {"master": "local[2]", "conf": conf, "catalogs": [
        {"name": "iceberg", "namespace": namespace, "multipart_catalog": "iceberg_mp",
         "multipart_rows": BIG_ROWS},
        {"name": "local", "namespace": namespace}]}
    (work / "spec.json").write_text(json.dumps(spec, indent=1))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(lakehouse_store.env())
    log = work / "scenario.log"
    start = time.monotonic()
    with open(log, "wb") as out:
        try:
            subprocess.run([str(python), str(Path(__file__).with_name("scenario.py")),
                            str(work / "spec.json"), str(work / "result.json")],
                           env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                           timeout=SCENARIO_S, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail("Spark %s: the scenario ran over %d s; its output (%s) ends:\n%s"
                        % (line, SCENARIO_S, log, tail(log)), pytrace=False)
    seconds = time.monotonic() - start
    try:
        result = json.loads((work / "result.json").read_text())
    except (OSError, ValueError) as exc:
        pytest.fail("Spark %s: the scenario recorded nothing (%s); its output (%s) ends:\n%s"
                    % (line, exc, log, tail(log)), pytrace=False)
    print("Spark %s: scenario %.1f s: %s" % (line, seconds, json.dumps(
        {c: {n: v.get("seconds") for n, v in s.items()} for c, s in result["steps"].items()})))
    return Run(line, result, namespace, warehouse, log, seconds)


def bucket_prefix(store, location):
    """The key prefix of the s3:// LOCATION in STORE's bucket, ending in '/'."""
    head = store.uri()
    assert location.startswith(head), "%s is not in bucket %s" % (location, store.bucket)
    return location[len(head):].rstrip("/") + "/"


def hadoop_path(uri):
    assert uri.startswith("file:"), uri
    return Path("/" + uri[len("file:"):].lstrip("/"))


CATALOGS = ["iceberg", "local"]


def test_the_session_is_the_lines_spark_with_its_iceberg_jars(run):
    s = run.step("spark", "session")
    assert s["spark"] == LINES[run.line]["version"]
    names = [Path(p).name for p in s["classpath"].split(":")]
    spec = LINES[run.line]
    want = [jars.file_name("%s:%s" % (spec[k]["artifact"], spec[k]["version"]))
            for k in ("iceberg", "iceberg_aws_bundle")]
    assert names == want


@pytest.mark.parametrize("catalog", CATALOGS)
def test_create_table_where_the_catalog_keeps_it(run, catalog, lakehouse_catalog):
    s = run.step(catalog, "create")
    assert s["tables"] == ["events"]
    assert s["columns"] == ["id", "name"]
    if catalog == "iceberg":   # under the server's warehouse: the client names none
        assert s["location"] == "%s/%s/events" % (lakehouse_catalog.warehouse, run.namespace)
    else:
        assert hadoop_path(s["location"]) == run.hadoop_warehouse / run.namespace / "events"


@pytest.mark.parametrize("catalog", CATALOGS)
def test_insert_and_read_back(run, catalog):
    s = run.step(catalog, "insert")
    assert s["rows"] == FIRST
    assert [x["operation"] for x in s["snapshots"]] == ["append"]


@pytest.mark.parametrize("catalog", CATALOGS)
def test_schema_evolution_add_column(run, catalog):
    s = run.step(catalog, "evolve")
    assert s["columns"] == ["id", "name", "score"]
    assert s["rows"] == EVOLVED


@pytest.mark.parametrize("catalog", CATALOGS)
def test_merge_into(run, catalog):
    s = run.step(catalog, "merge")
    assert s["rows"] == MERGED
    assert [x["operation"] for x in s["snapshots"]] == ["append", "append", "overwrite"]


@pytest.mark.parametrize("catalog", CATALOGS)
def test_time_travel_to_the_first_snapshot(run, catalog):
    s = run.step(catalog, "time_travel")
    first = run.step(catalog, "insert")["snapshots"][0]
    assert s["snapshot"]["id"] == first["id"]
    # the first snapshot's rows, in its schema (before ADD COLUMN)
    assert s["version_columns"] == ["id", "name"] and s["version_rows"] == FIRST
    assert s["timestamp_columns"] == ["id", "name"] and s["timestamp_rows"] == FIRST


def test_rest_tables_live_in_the_bucket(run, lakehouse_store):
    where = run.step("iceberg", "create")["location"]
    files = run.step("iceberg", "files")
    assert len(files["data"]) == 3 and files["manifests"] and len(files["metadata"]) >= 4
    for kind in ("data", "manifests", "metadata"):
        for p in files[kind]:
            assert p.startswith(where + "/"), "%s file %s is not under %s" % (kind, p, where)


def test_hadoop_tables_live_in_the_folder(run):
    where = hadoop_path(run.step("local", "create")["location"])
    files = run.step("local", "files")
    for kind in ("data", "manifests", "metadata"):
        for p in files[kind]:
            assert hadoop_path(p).is_relative_to(where), \
                "%s file %s is not under %s" % (kind, p, where)


def test_rest_drop_table_keeps_the_objects(run, lakehouse_store):
    """DROP TABLE without PURGE: gone from the catalog; its data and metadata stay in the
    bucket (the server's JdbcCatalog drops the entry; Spark purges only when asked)."""
    s = run.step("iceberg", "drop")
    assert s["tables"] == ["events"]
    prefix = bucket_prefix(lakehouse_store, s["location"])
    keys = lakehouse_store.keys(prefix)
    assert any(k.startswith(prefix + "data/") for k in keys), keys
    assert any(k.startswith(prefix + "metadata/") and k.endswith(".metadata.json")
               for k in keys), keys


def test_hadoop_drop_table_removes_the_folder(run):
    """A hadoop catalog deletes the table's folder on DROP TABLE, PURGE or not."""
    s = run.step("local", "drop")
    assert s["tables"] == ["events"]
    assert not hadoop_path(s["location"]).exists()


def test_rest_multipart_upload_and_listing(run, lakehouse_store):
    s = run.step("iceberg", "multipart")
    assert s["rows"] == [[BIG_ROWS, BIG_ROWS * (BIG_ROWS - 1) // 2, BIG_ROWS]]
    assert len(s["file_sizes"]) == 1 and s["file_sizes"][0] > 1.5 * MULTIPART_PART, s["file_sizes"]
    assert s["orphans"] == []
    prefix = bucket_prefix(lakehouse_store, s["location"])
    assert lakehouse_store.keys(prefix) == []   # purged
    # the store's log shows the multipart upload and the listing that S3FileIO made
    log = lakehouse_store.server.log.read_text(errors="replace")
    path = "/%s/%s" % (lakehouse_store.bucket, prefix)
    assert any("POST " + path in ln and "?uploads" in ln for ln in log.splitlines())
    assert any("PUT " + path in ln and "partNumber=2" in ln for ln in log.splitlines())
    assert any("list-type=2" in ln and run.namespace in ln for ln in log.splitlines())


@pytest.mark.parametrize("catalog", CATALOGS)
def test_drop_table_purge(run, catalog, lakehouse_store):
    where = run.step(catalog, "create")["location"]
    s = run.step(catalog, "purge")
    assert s["tables"] == []
    if catalog == "iceberg":
        assert lakehouse_store.keys(bucket_prefix(lakehouse_store, where)) == []
    else:
        assert not hadoop_path(where).exists()


@pytest.mark.parametrize("catalog", CATALOGS)
def test_drop_namespace(run, catalog, lakehouse_catalog):
    s = run.step(catalog, "drop_namespace")
    assert run.namespace not in s["namespaces"]
    if catalog == "iceberg":
        assert [run.namespace] not in lakehouse_catalog.get("v1/namespaces")["namespaces"]
