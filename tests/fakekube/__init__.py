"""fakekube: a fake Kubernetes API server that runs pods as local processes, for tests.

    fake = fakekube.FakeKube(state_dir, path=...)   # see server.py for the keyword arguments
    fake.start() ... fake.stop()

or as a process: `python3 -m fakekube --port 0 --state-dir DIR [--path PATH]` (with tests/ on
sys.path), which prints one JSON line when ready and serves until SIGTERM/SIGINT.

README.md says what of the Kubernetes API it serves and what it does not, and what each
module does. The pytest fixtures `fakekube` and `fakekube_factory` are
tests/kubernetes/conftest.py's.
"""
from .api import SYSTEM_NAMES
from .server import FakeKube, Faults, main

__all__ = ["FakeKube", "Faults", "SYSTEM_NAMES", "main"]
