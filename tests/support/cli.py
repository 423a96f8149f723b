"""support.cli — the spark-k8s binary under test run as a command (support.paths.SPARK_K8S),
in a clean environment: no SPARK_K8S_* or JUPYTER_* of the caller, an empty admin config
file (the machine's /etc/spark-k8s/config.json never applies) and a home of its own."""
import os
import subprocess

from support.paths import SPARK_K8S


def clean_env(tmp_path, **extra):
    """The caller's environment minus SPARK_K8S_* and JUPYTER_*, with an empty admin
    config file and HOME in TMP_PATH; EXTRA added."""
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
    proc = subprocess.run([str(SPARK_K8S), *args], env=env, capture_output=True, text=True,
                          timeout=60)
    if check is not None:
        assert proc.returncode == check, (args, proc.returncode, proc.stdout, proc.stderr)
    return proc
