"""lakehouse — the servers the Iceberg tests run against, and how Spark reaches them: an
S3-protocol object store (objectstore.py: moto on loopback), Iceberg's REST catalog server
with its tables on that store (restcatalog.py), their pytest fixtures (fixtures.py), the
Spark properties of a REST and a hadoop catalog (catalogs.py), and the jars they need,
locked and fetched (jars.py, jars.lock). README.md says what each does and does not."""
