"""test_gpus_cli.py — `spark-k8s gpus` as a user and as Spark run it: the table,
--json, --spark-resource, the spark-k8s-gpu-discovery name, and the exit status and
one-line message of every failure. The GPUs come from the fake CUDA runtime
(build/tests/libcudart-fake.so), loaded by the binary through its real dlopen path.

Environment: SPARK_K8S_PREFIX (an install: bin/spark-k8s) and SPARK_K8S_BUILD (the
build dir, for the fake library); without them, ./build next to this repository.
"""
import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("SPARK_K8S_BUILD") or REPO / "build")
PREFIX = os.environ.get("SPARK_K8S_PREFIX")
BINARY = pathlib.Path(PREFIX) / "bin" / "spark-k8s" if PREFIX else BUILD / "spark-k8s"
FAKE = (BUILD / "tests" / "libcudart-fake.so").resolve()

# Exit statuses documented in `spark-k8s gpus --help`.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NO_LIBRARY, EXIT_NO_DRIVER, EXIT_NO_DEVICE = 0, 1, 2, 3, 4, 5

TWO_GPUS = {
    "FAKE_CUDART_DEVICES": "2",
    "FAKE_CUDART_NAMES": "NVIDIA H100 80GB HBM3;NVIDIA A10",
    "FAKE_CUDART_MEMORY_MIB": "81559;23028",
    "FAKE_CUDART_CC": "9.0;8.6",
    "FAKE_CUDART_PCI": "0000:65:00.0;0000:CA:00.0",
    "FAKE_CUDART_RUNTIME_VERSION": "12040",
    "FAKE_CUDART_DRIVER_VERSION": "12080",
}


def clean_env(extra=None, cudart=True):
    """The caller's environment without anything that steers CUDA or the fake."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FAKE_CUDART_")
           and k not in ("SPARK_K8S_CUDART", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES")}
    if cudart:
        env["SPARK_K8S_CUDART"] = str(FAKE)
    env.update(extra or {})
    return env


def run(args, env, argv0=None):
    cmd = [argv0 or str(BINARY)] + list(args)
    return subprocess.run(cmd, executable=str(BINARY), env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module", autouse=True)
def built():
    assert BINARY.is_file(), f"{BINARY} is missing: run `make build/spark-k8s`"
    assert FAKE.is_file(), f"{FAKE} is missing: run `make build/tests/libcudart-fake.so`"


def test_table_lists_each_device():
    r = run(["gpus"], clean_env(TWO_GPUS))
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["INDEX", "NAME", "MEMORY", "CC", "PCI", "BUS", "ID"]
    assert lines[1].split() == ["0", "NVIDIA", "H100", "80GB", "HBM3", "81559", "MiB", "9.0", "0000:65:00.0"]
    assert lines[2].split() == ["1", "NVIDIA", "A10", "23028", "MiB", "8.6", "0000:CA:00.0"]
    assert lines[3] == f"CUDA runtime 12.4, driver 12.8 ({FAKE})"
    assert len(lines) == 4
    # Columns line up: every row starts its memory column where the header does.
    assert len({line.index("MiB") for line in lines[1:3]}) == 1


def test_json_document():
    r = run(["gpus", "--json"], clean_env(TWO_GPUS))
    assert r.returncode == EXIT_OK, r.stderr
    doc = json.loads(r.stdout)
    assert doc["library"] == str(FAKE)
    assert doc["runtime"] == "12.4" and doc["runtime_version"] == 12040
    assert doc["driver"] == "12.8" and doc["driver_version"] == 12080
    assert doc["devices"] == [
        {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_bytes": 81559 * 1024 * 1024,
         "memory_mib": 81559, "compute_capability": "9.0", "pci_bus_id": "0000:65:00.0",
         "uuid": "GPU-a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf"},
        {"index": 1, "name": "NVIDIA A10", "memory_bytes": 23028 * 1024 * 1024,
         "memory_mib": 23028, "compute_capability": "8.6", "pci_bus_id": "0000:CA:00.0",
         "uuid": "GPU-a1a2a3a4-a5a6-a7a8-a9aa-abacadaeafb0"},
    ]


def test_cudart_flag_beats_environment():
    env = clean_env(TWO_GPUS)
    env["SPARK_K8S_CUDART"] = "/nonexistent/libcudart.so.13"
    r = run(["gpus", "--json", "--cudart", str(FAKE)], env)
    assert r.returncode == EXIT_OK, r.stderr
    assert len(json.loads(r.stdout)["devices"]) == 2
    r = run(["gpus", "--json", f"--cudart={FAKE}"], env)
    assert r.returncode == EXIT_OK, r.stderr


def test_spark_resource_is_exactly_sparks_format():
    r = run(["gpus", "--spark-resource"], clean_env(TWO_GPUS))
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stdout == '{"name":"gpu","addresses":["0","1"]}\n'
    assert r.stderr == ""


def test_discovery_script_name_through_symlink(tmp_path):
    link = tmp_path / "spark-k8s-gpu-discovery"
    link.symlink_to(BINARY)
    # Spark runs the script with no arguments at all.
    r = subprocess.run([str(link)], env=clean_env(TWO_GPUS), capture_output=True, text=True, timeout=60)
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stdout == '{"name":"gpu","addresses":["0","1"]}\n'


def test_discovery_script_name_through_argv0():
    r = run([], clean_env({"FAKE_CUDART_DEVICES": "3"}), argv0="spark-k8s-gpu-discovery")
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stdout == '{"name":"gpu","addresses":["0","1","2"]}\n'


def test_other_names_are_not_discovery():
    r = run([], clean_env(TWO_GPUS), argv0="/opt/spark-k8s-gpu-discovery-old")
    assert r.returncode == EXIT_USAGE
    assert r.stdout == ""


def test_discovery_name_without_gpu_gives_empty_addresses(tmp_path):
    link = tmp_path / "spark-k8s-gpu-discovery"
    link.symlink_to(BINARY)
    r = subprocess.run([str(link)], env=clean_env({"FAKE_CUDART_ERROR": "insufficient_driver"}),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == EXIT_OK
    assert r.stdout == '{"name":"gpu","addresses":[]}\n'
    assert "no NVIDIA driver found" in r.stderr


# Each failure: (environment, --cudart override, exit status, text the one line must hold).
FAILURES = {
    "no_library": ({}, "/nonexistent/libcudart.so.13", EXIT_NO_LIBRARY,
                   "the CUDA runtime library /nonexistent/libcudart.so.13 could not be loaded"),
    "no_library_env": ({"SPARK_K8S_CUDART": "/nonexistent/libcudart.so.12"}, None, EXIT_NO_LIBRARY,
                       "SPARK_K8S_CUDART=/nonexistent/libcudart.so.12 could not be loaded"),
    "not_cudart": ({}, "libm.so.6", EXIT_NO_LIBRARY, "is not a usable CUDA runtime library"),
    "no_driver": ({"FAKE_CUDART_ERROR": "insufficient_driver"}, None, EXIT_NO_DRIVER,
                  "no NVIDIA driver found (cudaErrorInsufficientDriver: "
                  "CUDA driver version is insufficient for CUDA runtime version)"),
    "old_driver": ({"FAKE_CUDART_ERROR": "old_driver"}, None, EXIT_NO_DRIVER,
                   "the NVIDIA driver supports CUDA 12.2 but the CUDA runtime 13.0"),
    "no_device": ({"FAKE_CUDART_ERROR": "no_device", "CUDA_VISIBLE_DEVICES": "5"}, None, EXIT_NO_DEVICE,
                  "no CUDA device is visible (CUDA_VISIBLE_DEVICES=5;"),
    "zero_devices": ({}, None, EXIT_NO_DEVICE, "no CUDA device is visible (CUDA_VISIBLE_DEVICES is not set;"),
    "count_error": ({"FAKE_CUDART_ERROR": "unknown"}, None, EXIT_ERROR, "cudaGetDeviceCount failed in"),
    "device_error": ({"FAKE_CUDART_DEVICES": "2", "FAKE_CUDART_FAIL": "props:1"}, None, EXIT_ERROR,
                     "cudaGetDeviceProperties(device 1) failed in"),
}


def failure_run(case, fmt):
    extra, cudart, _, _ = FAILURES[case]
    env = clean_env(extra, cudart="SPARK_K8S_CUDART" not in extra)
    args = ["gpus"] + ([fmt] if fmt else []) + (["--cudart", cudart] if cudart else [])
    return run(args, env)


@pytest.mark.parametrize("fmt", [None, "--json"])
@pytest.mark.parametrize("case", sorted(FAILURES))
def test_failure_status_and_message(case, fmt):
    _, _, status, text = FAILURES[case]
    r = failure_run(case, fmt)
    assert r.returncode == status, r.stderr
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.endswith("\n"), r.stderr
    assert r.stderr.startswith("spark-k8s gpus: ")
    assert text in r.stderr


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_spark_resource_on_failure(case):
    _, _, status, text = FAILURES[case]
    r = failure_run(case, "--spark-resource")
    assert text in r.stderr
    if status == EXIT_ERROR:
        # Unexpected errors fail the script, so Spark reports the process failure.
        assert r.returncode == EXIT_ERROR
        assert r.stdout == ""
    else:
        # No GPU usable here: Spark gets an empty address list and says itself that
        # fewer GPUs were found than requested (see `spark-k8s gpus --help`).
        assert r.returncode == EXIT_OK
        assert r.stdout == '{"name":"gpu","addresses":[]}\n'


@pytest.mark.parametrize("args,text", [
    (["--bogus"], "unknown argument '--bogus'"),
    (["--json", "--spark-resource"], "cannot be combined"),
    (["--cudart"], "--cudart needs a path"),
    (["--cudart="], "--cudart needs a path, not an empty string"),
    (["--cudart", ""], "--cudart needs a path, not an empty string"),
])
def test_usage_errors(args, text):
    r = run(["gpus"] + args, clean_env(TWO_GPUS))
    assert r.returncode == EXIT_USAGE
    assert r.stdout == ""
    assert text in r.stderr


def test_help_documents_exit_statuses_and_discovery():
    r = run(["gpus", "--help"], clean_env())
    assert r.returncode == EXIT_OK
    for text in ["--json", "--spark-resource", "--cudart PATH", "SPARK_K8S_CUDART",
                 "0  GPUs found", "1  the CUDA runtime reported an unexpected error", "2  bad usage",
                 "3  no CUDA runtime library", "4  no NVIDIA driver", "5  no CUDA device is visible",
                 "spark-k8s-gpu-discovery", "spark.executor.resource.gpu.discoveryScript",
                 '{"name":"gpu","addresses":[]}']:
        assert text in r.stdout, text


def test_top_level_help_lists_gpus():
    r = run(["--help"], clean_env())
    assert r.returncode == EXIT_OK
    assert "gpus" in r.stdout


def test_default_search_gives_a_documented_answer():
    """Whatever this machine has (no CUDA, a runtime without driver, real GPUs)."""
    r = run(["gpus"], clean_env(cudart=False))
    assert r.returncode in (EXIT_OK, EXIT_NO_LIBRARY, EXIT_NO_DRIVER, EXIT_NO_DEVICE), r.stderr
    if r.returncode == EXIT_NO_LIBRARY:  # neither the driver nor a runtime: both named, and how
        for part in ("libcuda.so.1", "libcudart.so.13/.12/.so", "SPARK_K8S_LIBCUDA", "SPARK_K8S_CUDART"):
            assert part in r.stderr, r.stderr
    if r.returncode != EXIT_OK:
        assert r.stderr.count("\n") == 1


def real_cudart():
    for path in ("/usr/local/cuda/lib64/libcudart.so.13", "/usr/local/cuda/lib64/libcudart.so.12"):
        if os.path.exists(path):
            return path
    return None


@pytest.mark.skipif(real_cudart() is None or os.path.exists("/proc/driver/nvidia"),
                    reason="needs NVIDIA's libcudart on a machine without the NVIDIA driver")
def test_real_cudart_without_driver():
    r = run(["gpus", "--cudart", real_cudart()], clean_env(cudart=False))
    assert r.returncode == EXIT_NO_DRIVER, r.stderr
    assert "no NVIDIA driver found (cudaErrorInsufficientDriver" in r.stderr
    r = run(["gpus", "--spark-resource", "--cudart", real_cudart()], clean_env(cudart=False))
    assert (r.returncode, r.stdout) == (EXIT_OK, '{"name":"gpu","addresses":[]}\n')


@pytest.mark.skipif(not PREFIX, reason="needs an install (SPARK_K8S_PREFIX, as `make pytest` sets)")
def test_install_provides_the_discovery_script():
    script = pathlib.Path(PREFIX) / "bin" / "spark-k8s-gpu-discovery"
    assert script.is_symlink() and os.access(script, os.X_OK)
    r = subprocess.run([str(script)], env=clean_env({"FAKE_CUDART_DEVICES": "2"}),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stdout == '{"name":"gpu","addresses":["0","1"]}\n'
