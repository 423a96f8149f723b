"""fixtures.py — pytest fixtures of the lakehouse servers for any suite: one object store and
one Iceberg REST catalog per test run, shared by every suite that uses them, stopped at
the end of the run and checked to leave no process.

In a suite's conftest.py (pytest.ini puts tests/ on sys.path):

    from lakehouse.fixtures import lakehouse_catalog, lakehouse_store  # noqa: F401

    lakehouse_store     an ObjectStore (objectstore.py), started, with bucket "lakehouse"
    lakehouse_catalog   a RestCatalog (restcatalog.py) on that store, started

then a kernelspec names lakehouse_catalog.uri and lakehouse_store.endpoint (README.md), and
lakehouse_store.env() gives the environment variables (test credentials, region) of whatever
talks to the store: a kernel's, a Spark driver's. Suites share the
catalog and the bucket: each should keep to namespaces of its own (unique_namespace()).

Each conftest that imports the fixtures gets fixture definitions of its own, and pytest
would run each once per session; the servers themselves are held here, per process, with
a count of their users, so the first user starts them and the last one stops them.
Their logs and the catalog's database stay in pytest's temporary folder
(lakehouse-servers*), for a look after a failure.
"""
import secrets

import pytest

from .objectstore import ObjectStore
from .restcatalog import RestCatalog

_held = {}   # name -> [server, users]


def _acquire(name, start):
    if name not in _held:
        _held[name] = [start(), 0]
    _held[name][1] += 1
    return _held[name][0]


def _release(name):
    entry = _held[name]
    entry[1] -= 1
    if entry[1] > 0:
        return []
    del _held[name]
    return entry[0].stop()


def _workdir(tmp_path_factory):
    if "workdir" not in _held:
        _held["workdir"] = [tmp_path_factory.mktemp("lakehouse-servers"), 1]
    return _held["workdir"][0]


@pytest.fixture(scope="session")
def lakehouse_store(tmp_path_factory):
    store = _acquire("store", lambda: ObjectStore(_workdir(tmp_path_factory)).start())
    yield store
    left = _release("store")
    assert left == [], "the object store left processes running: %s" % left


@pytest.fixture(scope="session")
def lakehouse_catalog(lakehouse_store, tmp_path_factory):
    catalog = _acquire("catalog",
                       lambda: RestCatalog(lakehouse_store, _workdir(tmp_path_factory)).start())
    yield catalog
    left = _release("catalog")
    assert left == [], "the REST catalog left processes running: %s" % left


def unique_namespace(prefix="ns"):
    """A namespace name no other test of the run uses: PREFIX_<8 hex digits>."""
    return "%s_%s" % (prefix, secrets.token_hex(4))
