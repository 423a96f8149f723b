"""test_protocol_startup.py — before the runtime is ready, a runtime that cannot start, bad
inputs, on each runtime.

On the local runtime the runtime commands here wait for a gate file the test creates, so
"before the runtime is ready" is a state the test controls rather than a race it hopes to
win; on kubernetes the cluster holds the pod back instead (the scheduler keeps it pending
until the test lets it go), and a kernelspec whose kernel module does not exist fails in
the pod, whose words reach every request.
"""
import json
import os
import subprocess

import pytest
from jupyter_client.connect import write_connection_file

from support import protocol as h
from support.factories import closed_at_the_end

GATED = 'while [ ! -e "$1" ]; do sleep 0.02; done; exec /usr/bin/python3 -m {module} -f "$0" "$@"'


def gated_kernelspec(setup, name, module, gate, kernel_args=()):
    return h.make_kernelspec(setup.base / "specs", name, setup.launcher,
                             ["/bin/sh", "-c", GATED.format(module=module), "{connection_file}",
                              str(gate), *kernel_args])


def welcomed(kc):
    """Wait for our iopub_welcome: iopub is subscribed from then on."""
    while True:
        msg = kc.get_iopub_msg(timeout=h.REPLY_TIMEOUT_S)
        if msg["msg_type"] == "iopub_welcome":
            return msg


@pytest.fixture
def direct(proto_setup):
    """Launchers started with subprocess (stderr and exit status read), closed at the end."""
    yield from closed_at_the_end(
        lambda spec_dir, extra_args=(): h.DirectLauncher(proto_setup, spec_dir, extra_args))


UNSCHEDULABLE = "0/3 nodes are available: 3 Insufficient memory."
NO_MODULE = "No module named no_such_module_xyz"


class GatedStart:
    """Local: a runtime command that waits at a gate file until release()."""

    def __init__(self, setup, module="ipykernel_launcher", kernel_args=()):
        self.gate = setup.base / f"gate-{module}"
        self.spec_dir = gated_kernelspec(setup, module, module, self.gate, kernel_args)
        self.told = None

    def release(self):
        assert not self.gate.exists()
        self.gate.touch()

    def close(self):
        self.gate.unlink(missing_ok=True)  # the module's next gated start waits again


class PendingPod:
    """Kubernetes: the scheduler keeps the kernel pod pending until release(), saying why."""

    def __init__(self, setup):
        self.fake = setup.fake
        self.spec_dir = setup.spec_dir
        self.told = "pod pending: " + UNSCHEDULABLE
        self.fake.faults.unschedulable(message=UNSCHEDULABLE)

    def release(self):
        # the requests are held by now (shell is handled in order): a FailedScheduling
        # event from now on is told to them
        fake = self.fake
        pod = fake.wait_for(lambda: next((p["metadata"]["name"] for p in fake.objects("pods")), None),
                            60, "a pod")
        event = fake.wait_event(pod, "FailedScheduling")
        fake.wait_event(pod, "FailedScheduling", count=(event.get("series") or {}).get("count", 1) + 1)
        fake.faults.clear_unschedulable()

    def close(self):
        self.fake.faults.clear_unschedulable()


@pytest.fixture
def held_start(proto_setup):
    """A kernelspec whose runtime is held back until the test releases it."""
    held = GatedStart(proto_setup) if proto_setup.runtime == "local" else PendingPod(proto_setup)
    yield held
    held.close()


def test_kernel_info_before_ready_and_held_requests(direct, held_start):
    d = direct(held_start.spec_dir)
    kc = d.client(ready=False)
    welcomed(kc)
    first = kc.execute("held_value = 'held and run in order'")
    second = kc.execute("print(held_value)")
    info_id = kc.kernel_info()
    # The runtime is held back: only the launcher can answer this.
    info = kc.get_shell_msg(timeout=h.REPLY_TIMEOUT_S)
    assert info["msg_type"] == "kernel_info_reply"
    assert info["parent_header"]["msg_id"] == info_id
    content = info["content"]
    assert content["status"] == "ok"
    assert content["implementation"] == "spark-k8s"
    assert content["protocol_version"].startswith("5.")
    assert content["language_info"]["name"] == "python"
    assert h.SPARK_VERSION in content["banner"] and h.VARIANT in content["banner"]
    statuses = [m["content"]["execution_state"]
                for m in h.iopub_for(kc, info_id) if m["msg_type"] == "status"]
    assert statuses == ["busy", "idle"]
    held_start.release()
    r1 = h.shell_reply(kc, first, timeout=120)
    r2 = h.shell_reply(kc, second, timeout=120)
    assert r1["content"]["status"] == r2["content"]["status"] == "ok"
    assert r2["content"]["execution_count"] == r1["content"]["execution_count"] + 1
    if held_start.told:
        assert held_start.told in h.stream_text(h.iopub_for(kc, first), "stderr")
    assert h.stream_text(h.iopub_for(kc, second)) == "held and run in order\n"
    # Ready now: kernel_info comes from ipykernel.
    info_id = kc.kernel_info()
    assert h.shell_reply(kc, info_id)["content"]["implementation"] == "ipython"


@pytest.fixture
def slow_start(proto_setup):
    """held_start, whose kernel (locally) takes a second between binding its sockets and
    publishing `status: starting`, as a Spark kernel does with its session to make (its
    exec_lines run in between): the launcher is certainly subscribed by then."""
    if proto_setup.runtime != "local":
        held = PendingPod(proto_setup)
    else:
        held = GatedStart(proto_setup, kernel_args=["--IPKernelApp.exec_lines=import time; time.sleep(1)"])
    yield held
    held.close()


def test_the_runtime_is_never_told_starting_after_kernel_info(direct, slow_start):
    """A client answered kernel_info while the runtime starts hears nothing more of that start:
    ipykernel's own `status: starting`, published as it comes up, is not relayed (issue 17:
    jupyter_kernel_test's first test saw it as the first iopub message of its first cell).
    Every iopub message up to the first cell's idle is read, whatever its parent."""
    held_start = slow_start
    d = direct(held_start.spec_dir)
    kc = d.client(ready=False)
    welcomed(kc)
    info_id = kc.kernel_info()
    assert h.shell_reply(kc, info_id)["content"]["implementation"] == "spark-k8s"
    first = kc.execute("21 * 2")
    held_start.release()
    seen = []
    while True:
        msg = kc.get_iopub_msg(timeout=120)
        state = msg["content"].get("execution_state")
        seen.append((msg["msg_type"], state, msg["parent_header"].get("msg_id")))
        if msg["msg_type"] == "status" and state == "idle" and msg["parent_header"].get("msg_id") == first:
            break
    assert not [m for m in seen if m[1] == "starting"], seen
    cell = [(kind, state) for kind, state, parent in seen if parent == first]
    # (on kubernetes the launcher's progress lines, told to the held cell, come first)
    assert [state for kind, state in cell if kind == "status"] == ["busy", "idle"], seen
    assert ("execute_result", None) in cell, seen
    assert h.shell_reply(kc, first, timeout=120)["content"]["status"] == "ok"


def broken_kernelspec(setup):
    """A kernelspec whose kernel module does not exist, and how to let its runtime start:
    locally held at a gate (so a request is certainly held first), in a pod at once."""
    if setup.runtime == "local":
        gated = GatedStart(setup, "no_such_module_xyz")
        return gated.spec_dir, gated.release
    spec = json.loads((setup.spec_dir / "kernel.json").read_text())
    spec["metadata"]["spark_k8s"]["runtime_command"] = ["python3", "-m", "no_such_module_xyz", "-f",
                                                        "{connection_file}"]
    broken = setup.base / "specs" / "broken"
    broken.mkdir(parents=True)
    (broken / "kernel.json").write_text(json.dumps(spec))
    return broken, lambda: None


def test_runtime_that_cannot_start(proto_setup, direct):
    spec_dir, release = broken_kernelspec(proto_setup)
    d = direct(spec_dir)
    kc = d.client(ready=False)
    welcomed(kc)
    procs = proto_setup.processes(d.pid, expect_runtime=proto_setup.runtime == "local")
    held = kc.execute("print('never runs')")
    info_id = kc.kernel_info()
    assert h.shell_reply(kc, info_id)["content"]["implementation"] == "spark-k8s"
    release()  # the execute_request is held by now: the shell is handled in order
    try:
        reply = h.shell_reply(kc, held, timeout=120)
    except Exception:
        raise AssertionError("no reply; the launcher said: %s" % d.stderr_text()[-3000:])
    assert reply["content"]["status"] == "error"
    assert NO_MODULE in reply["content"]["evalue"]
    msgs = h.iopub_for(kc, held)
    errors = h.of_type(msgs, "error")
    assert len(errors) == 1
    assert NO_MODULE in errors[0]["content"]["evalue"]
    assert any(NO_MODULE in line for line in errors[0]["content"]["traceback"])
    assert "never runs" not in h.stream_text(msgs)
    assert NO_MODULE in d.stderr_text()
    # The launcher stays to tell every later request why, instead of exiting into
    # Jupyter's restart loop: a request sent after the failure gets the reason too,
    # kernel_info still answers (its banner says why), and a shutdown ends it.
    later = kc.execute("print('never runs either')")
    reply = h.shell_reply(kc, later)
    assert reply["content"]["status"] == "error"
    assert NO_MODULE in reply["content"]["evalue"]
    errors = h.of_type(h.iopub_for(kc, later), "error")
    assert len(errors) == 1 and NO_MODULE in errors[0]["content"]["evalue"]
    info_id = kc.kernel_info()
    info = h.shell_reply(kc, info_id)["content"]
    assert info["implementation"] == "spark-k8s"
    assert NO_MODULE in info["banner"]
    kc.shutdown()
    assert d.wait() == 0
    procs.assert_all_gone()
    if proto_setup.runtime == "kubernetes":
        proto_setup.fake.wait_no_leftovers(timeout=60)


# ---- bad connection files and kernelspecs: exit status 2, a message naming file, field, value


def run_launcher(setup, connection_file, spec_dir):
    env = {**os.environ, **setup.env()}
    return subprocess.run([setup.launcher, "kernel", "-f", str(connection_file), "--kernelspec",
                           str(spec_dir)], env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=h.REPLY_TIMEOUT_S)


def connection_file_with(setup, tmp_path, **changes):
    path, _ = write_connection_file(str(tmp_path / "conn.json"), ip="127.0.0.1",
                                    key=b"0123456789abcdef", kernel_name=h.KERNEL_NAME)
    info = json.loads(open(path).read())
    info.update(changes)
    with open(path, "w") as f:
        json.dump(info, f)
    return path


@pytest.mark.parametrize("field,value,shown", [
    ("hb_port", "x", "x"),
    ("shell_port", 70000, "70000"),
    ("signature_scheme", "hmac-md5", "hmac-md5"),
    ("transport", "udp", "udp"),
])
def test_bad_connection_file(proto_setup, tmp_path, field, value, shown):
    path = connection_file_with(proto_setup, tmp_path, **{field: value})
    result = run_launcher(proto_setup, path, proto_setup.spec_dir)
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert path in message and field in message and shown in message, message


def test_missing_connection_file(proto_setup, tmp_path):
    path = str(tmp_path / "nowhere.json")
    result = run_launcher(proto_setup, path, proto_setup.spec_dir)
    assert result.returncode == 2, result.stderr
    assert path in result.stderr


@pytest.mark.parametrize("meta,field,shown", [
    ({"runtime": "mars"}, "runtime", "mars"),
    ({"spark_version": "9.9.9"}, "spark_version", "9.9.9"),
    ({"variant": "quantum"}, "variant", "quantum"),
    ({"runtime_command": []}, "runtime_command", "runtime_command"),
])
def test_bad_kernelspec(proto_setup, tmp_path, meta, field, shown):
    spec_dir = h.make_kernelspec(tmp_path, "bad", proto_setup.launcher)
    spec = json.loads((spec_dir / "kernel.json").read_text())
    spec["metadata"]["spark_k8s"].update(meta)
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    path = connection_file_with(proto_setup, tmp_path)
    result = run_launcher(proto_setup, path, spec_dir)
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert str(spec_dir / "kernel.json") in message, message
    assert field in message and shown in message, message


@pytest.mark.parametrize("how,value", [
    ("option", "junk"), ("option", "12"), ("option", "-2048"),
    ("environment", "junk"),
])
def test_bad_max_message_size_is_a_usage_error(proto_setup, tmp_path, how, value):
    """Exit status 2 (a bad option), before anything starts, in one line naming where the
    value came from and the value."""
    path = connection_file_with(proto_setup, tmp_path)
    argv = [proto_setup.launcher, "kernel", "-f", str(path), "--kernelspec",
            str(proto_setup.spec_dir)]
    env = {**os.environ, **proto_setup.env()}
    if how == "option":
        argv += ["--max-message-size", value]
        named = "--max-message-size"
    else:
        env["SPARK_K8S_MAX_MESSAGE_BYTES"] = value
        named = "SPARK_K8S_MAX_MESSAGE_BYTES"
    result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, timeout=h.REPLY_TIMEOUT_S)
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert f"{named} '{value}'" in message, message


def test_the_kernelspec_under_test(proto_setup):
    """jupyter_client finds our kernelspec (installed, or the temporary one) by name."""
    from jupyter_client.kernelspec import KernelSpecManager
    spec = KernelSpecManager().get_kernel_spec(h.KERNEL_NAME)
    assert spec.resource_dir == str(proto_setup.spec_dir)
    assert spec.argv[0] == proto_setup.launcher
    assert spec.argv[1:] == ["kernel", "-f", "{connection_file}", "--kernelspec", "{resource_dir}"]
    assert spec.interrupt_mode == "message"
    meta = spec.metadata["spark_k8s"]
    assert (meta["spark_version"], meta["variant"], meta["runtime"]) == \
        (h.SPARK_VERSION, h.VARIANT, proto_setup.runtime)
    if os.environ.get("SPARK_K8S_PREFIX"):
        assert proto_setup.installed, "make pytest must test the installed kernelspec"
