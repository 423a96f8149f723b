"""cells.py — what a notebook runs to prove a gpu or iceberg kernel, and what it must show.

Each cell prints one line "RESULT <name> <json>" that result() reads back; the checks are
the tests' (tests/spark/test_variants.py on the local runtime,
tests/kubernetes/test_variants_on_kubernetes.py on two executor pods of the fake cluster).

    iceberg(table)      create, insert (four partitions: executors write the data files),
                        read back exactly, add a column, MERGE INTO, read the first snapshot
                        again, DROP TABLE ... PURGE
    check_iceberg(r)    assert what it printed
    gpu_plan(table)     RAPIDS' explanation (explain-only mode, no GPU) of an aggregation,
                        and of an Iceberg scan when TABLE is given
    managed_table()     a managed table of spark_catalog written on the executors, read back
    result(text, name)  the dict a cell printed
"""
import json
import re

ROWS = 1000


def iceberg(table):
    namespace = table.rsplit(".", 1)[0]
    return f"""
import json
T = {table!r}
spark.sql("CREATE NAMESPACE IF NOT EXISTS {namespace}")
spark.sql("DROP TABLE IF EXISTS " + T + " PURGE")
spark.sql("CREATE TABLE " + T + " (id BIGINT, kind STRING) USING iceberg")
(spark.range(0, {ROWS}, numPartitions=4)
      .selectExpr("id", "CASE WHEN id % 2 = 0 THEN 'click' ELSE 'view' END AS kind")
      .writeTo(T).append())
r = {{}}
r["count"] = spark.table(T).count()
r["sum"] = spark.table(T).selectExpr("sum(id)").first()[0]
r["clicks"] = spark.table(T).where("kind = 'click'").count()
first, first_at = spark.sql("SELECT snapshot_id, committed_at FROM " + T + ".snapshots ORDER BY committed_at").first()
r["files"] = spark.sql("SELECT file_path FROM " + T + ".files").count()
r["file_paths"] = [row[0] for row in spark.sql("SELECT file_path FROM " + T + ".files").collect()]
spark.sql("ALTER TABLE " + T + " ADD COLUMN score DOUBLE")
spark.sql("INSERT INTO " + T + " VALUES ({ROWS}, 'click', 1.5), ({ROWS + 1}, 'view', 2.5)")
r["columns"] = spark.table(T).columns
r["scored"] = spark.table(T).where("score IS NOT NULL").count()
(spark.range({ROWS - 5}, {ROWS + 5}, numPartitions=2)
      .selectExpr("id", "'merged' AS kind", "CAST(id AS DOUBLE) AS score")
      .createOrReplaceTempView("updates"))
spark.sql("MERGE INTO " + T + " t USING updates u ON t.id = u.id "
          "WHEN MATCHED THEN UPDATE SET kind = u.kind, score = u.score "
          "WHEN NOT MATCHED THEN INSERT *")
r["after_merge"] = spark.table(T).count()
r["merged"] = spark.table(T).where("kind = 'merged'").count()
r["snapshots"] = spark.sql("SELECT count(*) FROM " + T + ".snapshots").first()[0]
r["first_snapshot"] = spark.sql("SELECT count(*) FROM " + T + " TIMESTAMP AS OF '" + str(first_at) + "'").first()[0]
r["first_snapshot_sql"] = spark.sql("SELECT count(*) FROM " + T + " VERSION AS OF " + str(first)).first()[0]
r["first_columns"] = spark.sql("SELECT * FROM " + T + " VERSION AS OF " + str(first)).columns
spark.sql("DROP TABLE " + T + " PURGE")
r["exists_after_drop"] = spark.catalog.tableExists(T)
print("RESULT iceberg " + json.dumps(r))
"""


def check_iceberg(r):
    assert r["count"] == ROWS and r["sum"] == ROWS * (ROWS - 1) // 2, r
    assert r["clicks"] == ROWS // 2, r
    assert r["files"] >= 2, r  # written by more than one task
    assert r["columns"] == ["id", "kind", "score"] and r["scored"] == 2, r
    # ids ROWS-5 .. ROWS+4: ROWS-5 .. ROWS+1 matched (7), ROWS+2 .. ROWS+4 inserted (3)
    assert r["after_merge"] == ROWS + 2 + 3 and r["merged"] == 10, r
    assert r["snapshots"] == 3, r  # append, insert, merge (the schema change makes none)
    assert r["first_snapshot"] == ROWS and r["first_snapshot_sql"] == ROWS, r
    assert r["first_columns"] == ["id", "kind"], r  # SQL's time travel: that snapshot's schema
    assert r["exists_after_drop"] is False, r


def gpu_plan(table=None):
    scan = ""
    if table:
        namespace = table.rsplit(".", 1)[0]
        scan = f"""
spark.sql("CREATE NAMESPACE IF NOT EXISTS {namespace}")
spark.sql("CREATE OR REPLACE TABLE {table} (id BIGINT, kind STRING) USING iceberg")
spark.range(0, 100, numPartitions=2).selectExpr("id", "'x' AS kind").writeTo({table!r}).append()
r["scan"] = str(spark_k8s.gpu_plan(spark.table({table!r}).where("id > 10").groupBy("kind").count()))
spark.sql("DROP TABLE {table} PURGE")
"""
    return f"""
import json
r = {{}}
conf = dict(sc.getConf().getAll())
r["plugins"] = conf.get("spark.plugins", "")
r["mode"] = conf.get("spark.rapids.sql.mode", "")
r["gpus"] = conf.get("spark.executor.resource.gpu.amount")
r["jars"] = sc._jsc.sc().listJars().mkString(",")
df = spark.range(0, 100000, numPartitions=4).selectExpr("id % 10 AS k", "id AS v").groupBy("k").sum("v")
r["plan"] = str(spark_k8s.gpu_plan(df))
r["rows"] = sorted(tuple(x) for x in df.collect())[:2]
{scan}
print("RESULT gpu " + json.dumps(r))
"""


def check_gpu_plan(r):
    assert "com.nvidia.spark.SQLPlugin" in r["plugins"], r
    assert r["mode"] == "explainOnly" and r["gpus"] is None, r  # asks Kubernetes for no GPU
    assert r["jars"] == "", r  # on the class path: nothing shipped to executors
    # RAPIDS' own words for the operators it would put on the GPU
    assert re.search(r"\*Exec <HashAggregateExec> will run on GPU", r["plan"]), r["plan"]
    assert re.search(r"\*Exec <ShuffleExchangeExec> will run on GPU", r["plan"]), r["plan"]
    assert [list(x) for x in r["rows"]] == [[0, 499950000], [1, 499960000]], r  # on the CPU


def iceberg_scan_on_gpu(plan):
    """RAPIDS' verdict on the Iceberg scan in PLAN (gpu_plan's text): True (on the GPU),
    False (kept on the CPU); AssertionError when the plan names no scan."""
    lines = [ln.strip() for ln in plan.splitlines() if "Exec <BatchScanExec>" in ln]
    assert lines, plan
    return all(ln.startswith("*Exec <BatchScanExec> will run on GPU") for ln in lines)


def managed_table():
    return f"""
import json
spark.sql("DROP TABLE IF EXISTS managed_t1")
spark.range(0, {ROWS}, numPartitions=4).write.saveAsTable("managed_t1")
r = {{"count": spark.table("managed_t1").count(),
      "sum": spark.table("managed_t1").selectExpr("sum(id)").first()[0],
      "location": spark.sql("DESCRIBE TABLE EXTENDED managed_t1").where("col_name = 'Location'").first()[1]}}
spark.sql("DROP TABLE managed_t1")
print("RESULT managed " + json.dumps(r))
"""


def refused_managed_table():
    return 'spark.range(0, 10, numPartitions=2).write.saveAsTable("managed_t2")'


def result(text, name):
    """The dict of the cell's "RESULT NAME {...}" line."""
    for line in text.splitlines():
        if line.startswith("RESULT %s " % name):
            return json.loads(line[len("RESULT %s " % name):])
    raise AssertionError("no RESULT %s in the cell's output: %s" % (name, text[-4000:]))
