"""lakehouse — the servers the Iceberg tests run against: an S3-protocol object store
(objectstore.py: moto on loopback), Iceberg's REST catalog server with its tables on that
store (restcatalog.py), their pytest fixtures (fixtures.py), the server's jars, locked and
fetched (jars.py, jars.lock), and the cells that prove a kernel on them (cells.py).
README.md says what each does and does not."""
