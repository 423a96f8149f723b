"""support.paths — where the tests find what they test: the repository, the image matrix
and its Spark lines, the build folder and the spark-k8s binary under test.

Environment: SPARK_K8S_PREFIX (an install, as `make pytest` makes one: bin/spark-k8s,
share/jupyter/kernels, lib/spark-k8s/envs) and SPARK_K8S_BUILD (the build folder);
without them, ./build of this repository."""
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MATRIX = json.loads((ROOT / "images" / "matrix.json").read_text())
LINES = {s["line"]: s["version"] for s in MATRIX["spark"]}   # "4.1" -> "4.1.1"
BUILD = Path(os.environ.get("SPARK_K8S_BUILD") or ROOT / "build")
PREFIX = os.environ.get("SPARK_K8S_PREFIX") or None
SPARK_K8S = Path(PREFIX) / "bin" / "spark-k8s" if PREFIX else BUILD / "spark-k8s"
KUBE_CLI = BUILD / "tests" / "kube-cli"   # tests/kubernetes/kube_cli.c: the C client's driver
PYTHON = "/usr/bin/python3"   # Debian's: jupyter_client 7.4, ipykernel 6.17, no pyspark
