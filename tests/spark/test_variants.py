"""test_variants.py — the iceberg kernels on the local runtime, per Spark line, with the real
Iceberg jars the installed kernel environments hold: the whole table scenario
(tests/lakehouse/cells.py) through an Iceberg REST catalog whose tables live on an
S3-protocol store (tests/lakehouse: Iceberg's RESTCatalogServer and moto, started once for the
run), and through a hadoop catalog on a local folder, in one kernel.

The kernelspec names the catalog, S3FileIO's endpoint, region and path style
(--iceberg-type rest --iceberg-uri --s3-*); the credentials reach the kernel as environment
(Jupyter's), never as a property. The jars are on the driver's class path
(spark.driver.extraClassPath), never shipped with spark.jars.

The gpu and gpu-iceberg kernels of the local runtime run the example notebooks in RAPIDS'
explain-only mode (test_notebooks.py); both runtimes' variants on two executor pods:
tests/kubernetes/test_variants_on_kubernetes.py."""
import pytest

from lakehouse import cells
from lakehouse.fixtures import lakehouse_catalog, lakehouse_store, unique_namespace  # noqa: F401
from lakehouse.objectstore import SECRET_ACCESS_KEY
from support.kernels import Kernel, install_kernelspec, wait_gone


@pytest.fixture(scope="module")
def iceberg_kernel(prefix, home, line, lakehouse_store, lakehouse_catalog, tmp_path_factory):
    """spark-LINE-iceberg on the REST catalog and S3, with a hadoop catalog `local` beside it."""
    folder = tmp_path_factory.mktemp("hadoop-catalog-%s" % line)
    name = "lake-%s-iceberg" % line
    install_kernelspec(prefix, home, "--spark", line, "--variant", "iceberg", "--name", name,
                         "--iceberg-type", "rest", "--iceberg-uri", lakehouse_catalog.uri,
                         "--s3-endpoint", lakehouse_store.endpoint, "--s3-region", lakehouse_store.region,
                         "--s3-path-style-access", "true",
                         "--conf", "spark.sql.catalog.local=org.apache.iceberg.spark.SparkCatalog",
                         "--conf", "spark.sql.catalog.local.type=hadoop",
                         "--conf", "spark.sql.catalog.local.warehouse=file://%s" % folder)
    k = Kernel(name, home.kernels, home, **lakehouse_store.env())
    procs = None
    try:
        yield k, folder
        procs = k.processes()
    finally:
        k.close()
    if procs:
        assert wait_gone(procs) == [], "left after shutdown"


def test_rest_catalog_on_s3(iceberg_kernel, lakehouse_store):
    k, _ = iceberg_kernel
    ns = unique_namespace("local_rest")
    cell = k.execute(cells.iceberg("iceberg.%s.events" % ns))
    assert cell.status == "ok", cell
    r = cells.result(cell.out, "iceberg")
    cells.check_iceberg(r)
    prefix = lakehouse_store.uri()
    assert r["file_paths"] and all(p.startswith(prefix) for p in r["file_paths"]), r["file_paths"]
    assert [key for key in lakehouse_store.keys() if ns in key] == []  # DROP ... PURGE


def test_hadoop_catalog_on_a_local_folder(iceberg_kernel):
    k, folder = iceberg_kernel
    cell = k.execute(cells.iceberg("local.db.events"))
    assert cell.status == "ok", cell
    r = cells.result(cell.out, "iceberg")
    cells.check_iceberg(r)
    assert all(p.startswith("file:%s" % folder) or p.startswith(str(folder)) for p in r["file_paths"]), \
        r["file_paths"]
    assert not (folder / "db" / "events").exists()


def test_the_jars_are_on_the_driver_class_path_and_shipped_nowhere(iceberg_kernel, prefix, line):
    k, _ = iceberg_kernel
    conf = dict(k.value("sorted(sc.getConf().getAll())"))
    jars = prefix.python(line).parent.parent / "share" / "spark-k8s" / "jars"
    cp = conf["spark.driver.extraClassPath"].split(":")
    assert sorted(cp) == sorted(str(p) for p in jars.iterdir() if p.name.startswith("iceberg-")), cp
    assert "spark.jars" not in conf and "spark.plugins" not in conf
    assert k.value("sc._jsc.sc().listJars().mkString(',')") == ""
    # the credentials are Jupyter's environment, not a property
    assert not any(SECRET_ACCESS_KEY in v for v in conf.values())
