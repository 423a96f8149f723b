"""Managed tables where the executors cannot share the driver's disk.

On the kubernetes runtime each executor is a pod with a disk of its own. A managed
table of Spark's own catalog (spark_catalog) lives under spark.sql.warehouse.dir: when
that is a path in the driver pod, the executors write the table's files into their own
pods, the driver commits an empty folder, and the table reads back empty, with no
error. A kernel without a shared warehouse (spark-k8s renders
spark.k8s.notebook.sharedWarehouse=false) therefore refuses, in the cell and before
anything is written, to create such a table: through DataFrameWriter.saveAsTable,
DataFrameWriterV2 create/replace, Catalog.createTable, or SQL (CREATE/REPLACE TABLE,
with or without AS SELECT). A table with a location of its own (path option, LOCATION)
is the user's choice and goes through; so do writes into tables that exist, and every
other catalog (Iceberg's among them).

    install(get_session)   once, when the session starts (session.py's started_hooks)

The refusal is NoSharedWarehouse, naming the kernelspec setting that fixes it.
"""

import re

SESSION_CATALOG = "spark_catalog"
_CREATE_SQL = re.compile(r"(?is)^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(?:create|replace)\b.*?\btable\b")
_OPTIONS_PATH = re.compile(r"(?is)\boptions\s*\(.*\bpath\b")
_PLANS = {"CreateTable", "CreateTableAsSelect", "ReplaceTable", "ReplaceTableAsSelect",
          "CreateTableStatement", "CreateTableAsSelectStatement"}


class NoSharedWarehouse(RuntimeError):
    """A managed table of spark_catalog refused: its files would stay in the executors' pods."""


def _message(name, catalogs):
    other = ""
    if catalogs:
        other = ", or write it to the %s catalog (%s.db.table)" % (catalogs[0], catalogs[0])
    return ("spark-k8s: table '%s' would be a managed table of Spark's own catalog (%s), whose "
            "files the executors write into their own pods' disks: it would read back empty. "
            "This kernel has no shared warehouse for such tables: set spark_warehouse.dir in its "
            "kernelspec (spark-k8s kernelspec install --spark-warehouse hdfs://..., or a path on "
            "a volume every pod mounts with --spark-warehouse-claim NAME). Or give the table a "
            "location on shared storage (.option('path', 'hdfs://...') or LOCATION '...')%s."
            % (name, SESSION_CATALOG, other))


class _Guard:
    def __init__(self, get_session):
        self.get_session = get_session

    # ---- where a name goes -------------------------------------------------------

    def _parts(self, spark, name):
        seq = spark._jsparkSession.sessionState().sqlParser().parseMultipartIdentifier(name)
        return [seq.apply(i) for i in range(seq.size())]

    def _is_catalog(self, spark, name):
        if name == SESSION_CATALOG:
            return True
        try:
            return spark.conf.get("spark.sql.catalog." + name, None) is not None
        except Exception:
            return False

    def _other_catalogs(self, spark):
        try:
            conf = spark.sparkContext.getConf().getAll()
        except Exception:
            return []
        return sorted(k[len("spark.sql.catalog."):] for k, _ in conf
                      if k.startswith("spark.sql.catalog.") and k.count(".") == 3)

    def in_session_catalog(self, spark, parts):
        if len(parts) >= 2 and self._is_catalog(spark, parts[0]):
            return parts[0] == SESSION_CATALOG
        return spark.catalog.currentCatalog() == SESSION_CATALOG

    def refuse_name(self, name, has_location, must_not_exist=False):
        """Raise when NAME would be a new managed table of spark_catalog."""
        if has_location:
            return
        spark = self.get_session()
        try:
            parts = self._parts(spark, name)
            if not self.in_session_catalog(spark, parts):
                return
            if not must_not_exist and spark.catalog.tableExists(name):
                return
        except Exception:
            return  # a name Spark itself will refuse, with its own words
        raise NoSharedWarehouse(_message(name, self._other_catalogs(spark)))

    def refuse_sql(self, text):
        if not isinstance(text, str) or not _CREATE_SQL.match(text):
            return
        spark = self.get_session()
        try:
            plan = spark._jsparkSession.sessionState().sqlParser().parsePlan(text)
            if plan.getClass().getSimpleName() not in _PLANS:
                return
            if plan.tableSpec().location().isDefined() or _OPTIONS_PATH.search(text):
                return
            ident = plan.name()
            seq = ident.nameParts()
            parts = [seq.apply(i) for i in range(seq.size())]
            if not self.in_session_catalog(spark, parts):
                return
        except Exception:
            return  # not a statement this check knows: Spark runs (or refuses) it
        raise NoSharedWarehouse(_message(".".join(parts), self._other_catalogs(spark)))


def _wrap(cls, name, before):
    original = getattr(cls, name, None)
    if original is None or getattr(original, "_spark_k8s", False):
        return

    def wrapper(self, *args, **kwargs):
        __tracebackhide__ = True
        before(self, *args, **kwargs)
        return original(self, *args, **kwargs)

    wrapper._spark_k8s = True
    wrapper.__doc__ = original.__doc__
    wrapper.__name__ = original.__name__
    setattr(cls, name, wrapper)


def _remember_path(attr):
    """An option()/options()/tableProperty() call that gives the table a location."""
    def before(self, *args, **kwargs):
        keys = []
        if args and isinstance(args[0], str):
            keys.append(args[0])
        keys.extend(kwargs)
        for a in args:
            if isinstance(a, dict):
                keys.extend(a)
        if any(str(k).lower() in ("path", "location") for k in keys):
            setattr(self, attr, True)
    return before


def install(get_session):
    """Refuse new managed tables of spark_catalog from now on (see the module)."""
    from pyspark.sql import SparkSession
    from pyspark.sql.catalog import Catalog
    from pyspark.sql.readwriter import DataFrameWriter, DataFrameWriterV2

    guard = _Guard(get_session)
    flag = "_spark_k8s_has_location"
    for cls in (DataFrameWriter, DataFrameWriterV2):
        _wrap(cls, "option", _remember_path(flag))
        _wrap(cls, "options", _remember_path(flag))
    _wrap(DataFrameWriterV2, "tableProperty", _remember_path(flag))

    def save_as_table(self, name, format=None, mode=None, partitionBy=None, **options):
        guard.refuse_name(name, getattr(self, flag, False) or "path" in options)
    _wrap(DataFrameWriter, "saveAsTable", save_as_table)

    def v2_create(self, *args, **kwargs):
        guard.refuse_name(self._spark_k8s_table, getattr(self, flag, False), must_not_exist=True)

    def v2_new(self, df, table):
        self._spark_k8s_table = table
    _wrap(DataFrameWriterV2, "__init__", v2_new)
    for method in ("create", "createOrReplace", "replace"):
        _wrap(DataFrameWriterV2, method, v2_create)

    def create_table(self, tableName, path=None, source=None, schema=None, description=None,
                     **options):
        guard.refuse_name(tableName, path is not None or "path" in options, must_not_exist=True)
    _wrap(Catalog, "createTable", create_table)
    _wrap(Catalog, "createExternalTable", create_table)

    def sql(self, sqlQuery, *args, **kwargs):
        guard.refuse_sql(sqlQuery)
    _wrap(SparkSession, "sql", sql)
