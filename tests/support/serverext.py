"""support.serverext — the Jupyter server extension (serverext/spark_k8s_ui) importable
by the tests, and what its registration() asks of jupyter_server's kernel manager."""
import sys

from support.paths import ROOT

sys.path.insert(0, str(ROOT / "serverext"))


class FakeKernelManager:
    """A MappingKernelManager's connection folder and its kernels' connection files."""

    def __init__(self, connection_dir, connection_files):
        self.connection_dir = str(connection_dir)
        self.kernels = {"k%d" % i: type("K", (), {"connection_file": c})()
                        for i, c in enumerate(connection_files)}

    def list_kernel_ids(self):
        return list(self.kernels)

    def get_kernel(self, kid):
        return self.kernels[kid]
