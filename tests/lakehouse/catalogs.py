"""catalogs.py — the Spark properties of the Iceberg catalogs the lakehouse tests use, proven
by test_iceberg_spark.py with PySpark 3.5 (Iceberg 1.10.1) and 4.1 (Iceberg 1.11.0):

  rest_catalog_properties(catalog)   an Iceberg REST catalog (a RestCatalog, started) whose
                                      tables live on an S3-protocol store, read and written by
                                      S3FileIO (the AWS SDK: iceberg-aws-bundle)
  hadoop_catalog_properties(path)    a `hadoop` catalog on a local folder (no server)
  ICEBERG_EXTENSIONS                 the SQL extensions (MERGE INTO on Spark 3.5, CALL, ...)
  driver_classpath(line)             the line's Iceberg runtime and AWS bundle (jars.lock),
                                      for spark.driver.extraClassPath

The S3 credentials are not among the properties: the AWS SDK's default chain reads them
from the environment of the Spark driver (store.env(): AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION). Nor is a warehouse, for REST: the server has its own
(RestCatalog.warehouse) and puts each namespace and table under it.
"""
import sys
from pathlib import Path

if __package__:
    from . import jars
else:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import jars  # noqa: E402

SPARK_CATALOG = "org.apache.iceberg.spark.SparkCatalog"
S3_FILE_IO = "org.apache.iceberg.aws.s3.S3FileIO"
ICEBERG_EXTENSIONS = {
    "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
}


def rest_catalog_properties(catalog, name="iceberg"):
    """spark.sql.catalog.NAME.* for the REST catalog CATALOG and the store it runs on."""
    store = catalog.store
    p = "spark.sql.catalog." + name
    return {
        p: SPARK_CATALOG,
        p + ".type": "rest",
        p + ".uri": catalog.uri,
        p + ".io-impl": S3_FILE_IO,
        p + ".s3.endpoint": store.endpoint,
        p + ".s3.path-style-access": "true",
        p + ".client.region": store.region,
    }


def hadoop_catalog_properties(warehouse, name="local"):
    """spark.sql.catalog.NAME.* for a hadoop catalog with its tables under the local folder
    WAREHOUSE."""
    p = "spark.sql.catalog." + name
    return {
        p: SPARK_CATALOG,
        p + ".type": "hadoop",
        p + ".warehouse": Path(warehouse).absolute().as_uri(),
    }


def driver_classpath(line, dest=None):
    """spark.driver.extraClassPath for Spark LINE ("3.5", "4.1"): its Iceberg runtime and AWS
    bundle, verified (jars.JarsError naming `make test-jars` when one is missing)."""
    return ":".join(str(p) for p in jars.classpath("spark-" + line, dest))
