"""test_protocol_bad_input_on_kubernetes.py — tests/protocol/test_protocol_bad_input.py on the
kubernetes runtime: forged, oversized and malformed messages are dropped with one log line each
while the kernel runs in a pod.  Every test function of that module runs here unchanged
(kubeprotocol.reused); the `launcher` and `shell` fixtures are its own, started on the
kubernetes kernelspec.  The cells that write flag files run in the pod, which shares the
host's files in the fake."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

import kubeprotocol as h  # noqa: E402
import test_protocol_bad_input as bad_input  # noqa: E402

REUSED = [n for n, f in vars(bad_input).items() if n.startswith("test_") and callable(f)]
for _name in REUSED:
    globals()[_name] = h.reused(getattr(bad_input, _name), __name__)
del _name


@pytest.fixture(scope="module")
def proto_setup():
    yield from h.module_setup()


@pytest.fixture(scope="module")
def launcher(proto_setup):
    d = h.DirectLauncher(proto_setup, proto_setup.spec_dir, ["--max-message-size", str(bad_input.CAP)])
    kc = d.client()
    h.execute(kc, "pass")
    procs = h.KernelProcesses(d.pid)
    yield d
    d.close()
    h.assert_all_gone(procs)


@pytest.fixture
def shell(launcher):
    raw = bad_input.Raw(launcher)
    yield raw
    raw.close()


def test_every_bad_input_test_runs_here():
    assert len(REUSED) >= 8
