"""kspec_env.py — helpers of the kernelspec tests (a plain module, not conftest, so
that the name never collides with other test folders): the spark-k8s binary, a
clean environment (no admin settings of the machine leak in), running the binary,
and running a cell in a kernel.

Environment: SPARK_K8S_PREFIX (an install: bin/spark-k8s, share/jupyter/kernels)
and SPARK_K8S_BUILD (the build dir); without them, ./build next to this repository.
"""
import os
import pathlib
import subprocess
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("SPARK_K8S_BUILD") or REPO / "build")
PREFIX = os.environ.get("SPARK_K8S_PREFIX")
BINARY = pathlib.Path(PREFIX) / "bin" / "spark-k8s" if PREFIX else BUILD / "spark-k8s"
PYTHON = "/usr/bin/python3"


def clean_env(tmp_path, **extra):
    """The caller's environment minus SPARK_K8S_* and JUPYTER_*, with an empty admin
    config file so the machine's /etc/spark-k8s/config.json never applies."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SPARK_K8S_") and not k.startswith("JUPYTER_")}
    config = tmp_path / "admin-config.json"
    if not config.exists():
        config.write_text("{}")
    env["SPARK_K8S_CONFIG"] = str(config)
    (tmp_path / "home").mkdir(exist_ok=True)
    env["HOME"] = str(tmp_path / "home")
    env.pop("XDG_DATA_HOME", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(args, env, check=None):
    """Run spark-k8s ARGS; CHECK (an exit status) is asserted when given."""
    proc = subprocess.run([str(BINARY), *args], env=env, capture_output=True, text=True,
                          timeout=60)
    if check is not None:
        assert proc.returncode == check, (args, proc.returncode, proc.stdout, proc.stderr)
    return proc


def execute(kc, code, timeout=60):
    """Run CODE in the kernel of client KC; return (reply content, stdout, stderr, result)."""
    msg_id = kc.execute(code)
    out, err, result = [], [], []
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            (out if content["name"] == "stdout" else err).append(content["text"])
        elif kind == "execute_result":
            result.append(content["data"]["text/plain"])
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=timeout)
    return reply["content"], "".join(out), "".join(err), "".join(result)


def env_python(line):
    """The kernel environment of Spark LINE: the installed one, else build/envs."""
    base = pathlib.Path(PREFIX) / "lib/spark-k8s/envs" if PREFIX else BUILD / "envs"
    return base / f"spark-{line}" / "bin" / "python"


def env_view(where, line):
    """A kernel environment at WHERE that is LINE's (bin/python, pyvenv.cfg, a link to
    lib/) with an empty share/spark-k8s/jars folder of its own: the installed
    environments hold the jars. Returns its bin/python."""
    import os
    import shutil
    real = env_python(line).parent.parent
    (where / "bin").mkdir(parents=True)
    os.symlink(os.path.realpath(real / "bin" / "python"), where / "bin" / "python")
    shutil.copy(real / "pyvenv.cfg", where / "pyvenv.cfg")
    os.symlink(real / "lib", where / "lib")
    (where / "share" / "spark-k8s" / "jars").mkdir(parents=True)
    return where / "bin" / "python"


def rapids_build(rapids):
    """The RAPIDS classifier this machine gets by default: its architecture, the CUDA
    major of the matrix's default classifier."""
    import platform
    arch = {"arm64": "aarch64"}.get(platform.machine(), platform.machine())
    cuda = rapids["classifiers"][rapids["default_classifier"]]["cuda"]
    return next(n for n, k in rapids["classifiers"].items()
                if k["arch"] == arch and k["cuda"] == cuda)


def env_view_with_jars(where, line, matrix):
    """env_view whose jars folder holds a file named like each jar the gpu and iceberg
    variants need (RAPIDS: this machine's default build; their contents do not matter
    to `render`). Returns its bin/python."""
    python = env_view(where, line)
    jars = where / "share" / "spark-k8s" / "jars"
    spec = next(s for s in matrix["spark"] if s["line"] == line)
    for name in ("rapids", "iceberg", "iceberg_aws_bundle"):
        artifact = spec[name]["artifact"].split(":")[1]
        tail = "-" + rapids_build(spec[name]) if name == "rapids" else ""
        (jars / f"{artifact}-{spec[name]['version']}{tail}.jar").write_bytes(b"PK")
    return python
