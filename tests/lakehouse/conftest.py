"""conftest.py — the lakehouse servers' fixtures for the tests of this folder."""
from lakehouse.fixtures import lakehouse_catalog, lakehouse_store  # noqa: F401
