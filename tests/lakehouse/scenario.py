"""scenario.py — the Iceberg table scenario of test_iceberg_spark.py, run by a kernel
environment's Python (real PySpark, one SparkSession) as `python scenario.py SPEC OUT`.
SPEC (JSON) gives the Spark properties and the catalogs, each with a namespace. For each
catalog, on table `events` of its namespace: CREATE TABLE, INSERT, read back, ALTER TABLE
ADD COLUMN + INSERT + read, MERGE INTO, time travel to the first snapshot (VERSION AS OF,
TIMESTAMP AS OF), the table's files; a second table `kept` dropped with DROP TABLE; where
the catalog names a multipart_catalog, a table `big` of multipart_rows rows written
through it in a multipart upload, its prefix listed and purged; then DROP TABLE events
PURGE and DROP NAMESPACE. It asserts nothing: OUT (JSON) records what each step saw
(rows, columns, snapshots, file locations, table listings, seconds taken) and each error
with the step it ended (the other catalogs still run), for the test to judge. Needs
pyspark alone."""
import json
import sys
import time
import traceback

SCHEMA = ["id", "name"]
FIRST_ROWS = "(1, 'a'), (2, 'b'), (3, 'c')"
MERGE_SOURCE = "SELECT * FROM VALUES (2, 'B', 2.5), (5, 'e', 5.5) AS s(id, name, score)"


def rows(df):
    return [list(r) for r in df.collect()]


def table_names(spark, namespace):
    return sorted(r["tableName"] for r in spark.sql("SHOW TABLES IN %s" % namespace).collect())


def location(spark, table):
    for r in spark.sql("DESCRIBE TABLE EXTENDED %s" % table).collect():
        if r["col_name"] == "Location":
            return r["data_type"]
    return None


def snapshots(spark, table):
    return [{"id": r["snapshot_id"], "at": r["at"], "operation": r["operation"]}
            for r in spark.sql(
                "SELECT snapshot_id, operation, date_format(committed_at, "
                "'yyyy-MM-dd HH:mm:ss.SSS') AS at FROM %s.snapshots ORDER BY committed_at, "
                "snapshot_id" % table).collect()]


def table_scenario(spark, spec, record):
    catalog, namespace = spec["name"], spec["namespace"]
    multipart_catalog = spec.get("multipart_catalog")
    ns = "%s.%s" % (catalog, namespace)
    t = ns + ".events"

    def create():
        spark.sql("CREATE NAMESPACE IF NOT EXISTS %s" % ns)
        spark.sql("CREATE TABLE %s (id BIGINT, name STRING) USING iceberg" % t)
        return {"tables": table_names(spark, ns), "location": location(spark, t),
                "columns": spark.table(t).columns}

    def insert():
        spark.sql("INSERT INTO %s VALUES %s" % (t, FIRST_ROWS))
        return {"rows": rows(spark.sql("SELECT * FROM %s ORDER BY id" % t)),
                "snapshots": snapshots(spark, t)}

    def evolve():
        spark.sql("ALTER TABLE %s ADD COLUMN score DOUBLE" % t)
        spark.sql("INSERT INTO %s VALUES (4, 'd', 4.5)" % t)
        return {"columns": spark.table(t).columns,
                "rows": rows(spark.sql("SELECT * FROM %s ORDER BY id" % t))}

    def merge():
        spark.sql("MERGE INTO %s t USING (%s) s ON t.id = s.id "
                  "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
                  % (t, MERGE_SOURCE))
        return {"rows": rows(spark.sql("SELECT * FROM %s ORDER BY id" % t)),
                "snapshots": snapshots(spark, t)}

    def time_travel():
        first = snapshots(spark, t)[0]
        by_version = spark.sql("SELECT * FROM %s VERSION AS OF %d ORDER BY id" % (t, first["id"]))
        by_time = spark.sql("SELECT * FROM %s TIMESTAMP AS OF '%s' ORDER BY id" % (t, first["at"]))
        return {"snapshot": first, "version_columns": by_version.columns,
                "version_rows": rows(by_version), "timestamp_columns": by_time.columns,
                "timestamp_rows": rows(by_time)}

    def files():
        return {
            "data": [r[0] for r in spark.sql("SELECT file_path FROM %s.files" % t).collect()],
            "manifests": [r[0] for r in spark.sql("SELECT path FROM %s.manifests" % t).collect()],
            "metadata": [r[0] for r in spark.sql(
                "SELECT file FROM %s.metadata_log_entries" % t).collect()],
        }

    def drop():
        k = ns + ".kept"
        spark.sql("CREATE TABLE %s (id BIGINT) USING iceberg" % k)
        spark.sql("INSERT INTO %s VALUES (1), (2)" % k)
        where = location(spark, k)
        spark.sql("DROP TABLE %s" % k)
        return {"location": where, "tables": table_names(spark, ns)}

    def purge():
        spark.sql("DROP TABLE %s PURGE" % t)
        return {"tables": table_names(spark, ns)}

    def drop_namespace():
        spark.sql("DROP NAMESPACE %s" % ns)
        return {"namespaces": sorted(r[0] for r in spark.sql(
            "SHOW NAMESPACES IN %s" % catalog).collect())}

    def multipart():
        # One data file over S3FileIO's multipart threshold (part size x 1.5), written
        # through MULTIPART_CATALOG (the same catalog, 5 MiB parts: S3's least), read back
        # through CATALOG; then a listing of the table's prefix (ListObjectsV2) by
        # remove_orphan_files, and the table purged.
        big = "%s.%s.big" % (multipart_catalog, namespace)
        spark.range(0, spec["multipart_rows"], 1, 1).selectExpr(
            "id", "sha2(CAST(id AS STRING), 512) AS h").writeTo(big).using("iceberg").create()
        back = spark.sql("SELECT count(*), sum(id), count(DISTINCT h) FROM %s.big" % ns).collect()
        sizes = [r[0] for r in spark.sql(
            "SELECT file_size_in_bytes FROM %s.big.files" % ns).collect()]
        orphans = spark.sql(
            "CALL %s.system.remove_orphan_files(table => '%s.big', prefix_listing => true, "
            "dry_run => true)" % (catalog, namespace)).collect()
        where = location(spark, ns + ".big")
        spark.sql("DROP TABLE %s.big PURGE" % ns)
        return {"rows": [list(r) for r in back], "file_sizes": sizes, "location": where,
                "orphans": [r[0] for r in orphans]}

    steps = [create, insert, evolve, merge, time_travel, files, drop]
    if multipart_catalog:
        steps.append(multipart)
    for step in steps + [purge, drop_namespace]:
        if not record(catalog, step.__name__, step):
            return


def main(spec_path, out_path):
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    result = {"steps": {}, "errors": []}

    def save():
        with open(out_path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)

    def record(catalog, name, fn):
        start = time.monotonic()
        try:
            value = fn()
        except Exception:
            result["errors"].append({"catalog": catalog, "step": name,
                                     "traceback": traceback.format_exc()})
            save()
            return False
        value["seconds"] = round(time.monotonic() - start, 2)
        result["steps"].setdefault(catalog, {})[name] = value
        save()
        return True

    spark = None

    def session():
        nonlocal spark
        from pyspark.sql import SparkSession
        builder = SparkSession.builder.master(spec.get("master", "local[2]")).appName(
            "lakehouse-scenario")
        for key, value in spec["conf"].items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("WARN")
        return {"spark": spark.version,
                "classpath": spark.sparkContext.getConf().get("spark.driver.extraClassPath")}

    try:
        if record("spark", "session", session):
            for c in spec["catalogs"]:
                table_scenario(spark, c, record)
    finally:
        if spark is not None:
            start = time.monotonic()
            spark.stop()
            result["steps"].setdefault("spark", {})["stop"] = {
                "seconds": round(time.monotonic() - start, 2)}
            save()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
