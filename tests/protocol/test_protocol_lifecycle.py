"""test_protocol_lifecycle.py — interrupts, restart, shutdown and every way a kernel can end,
on each runtime.

Interrupts share one kernel (it must keep working afterwards); each ending gets a
kernel of its own, and afterwards no process of it is alive and its private
directory (with the ipc socket files) is gone, or on kubernetes its pod and the pod's
objects. One ending is about one runtime alone and has a counterpart on the other: a
runtime command with a grandchild (a pod's PID namespace ends with its first process;
kubernetes: the killed launcher's janitor deletes the pod at once).
"""
import os
import signal

import pytest

from support import protocol as h
from support.runtimes import KERNEL_OBJECT_KINDS

SLEEPER = "import time\nprint('sleeping now', flush=True)\ntime.sleep(60)\nprint('not interrupted')"
# Far below the 60 s sleep: a reply within this time means the interrupt worked.
INTERRUPTED_REPLY_S = 20


def start_sleeper(kc):
    """Run SLEEPER; return its msg_id once the code is certainly running."""
    msg_id = kc.execute(SLEEPER)
    while True:
        msg = kc.get_iopub_msg(timeout=h.REPLY_TIMEOUT_S)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and "sleeping now" in msg["content"]["text"]:
            return msg_id


def assert_interrupted(kc, msg_id):
    reply = h.shell_reply(kc, msg_id, timeout=INTERRUPTED_REPLY_S)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    msgs = h.iopub_for(kc, msg_id)
    assert [m["content"]["ename"] for m in h.of_type(msgs, "error")] == ["KeyboardInterrupt"]
    assert "not interrupted" not in h.stream_text(msgs)
    h.settle_after_error(kc)


def assert_still_works(kc):
    reply, msgs = h.execute(kc, "print('still here', 21 * 2)")
    assert reply["content"]["status"] == "ok"
    assert h.stream_text(msgs) == "still here 42\n"


def test_interrupt_by_message(kernel, kc):
    km, _ = kernel
    assert km.kernel_spec.interrupt_mode == "message"
    msg_id = start_sleeper(kc)
    km.interrupt_kernel()
    assert_interrupted(kc, msg_id)
    assert_still_works(kc)


def test_interrupt_request_gets_a_reply(kc):
    msg_id = start_sleeper(kc)
    request = kc.session.msg("interrupt_request", {})
    kc.control_channel.send(request)
    reply = kc.get_control_msg(timeout=h.REPLY_TIMEOUT_S)
    assert reply["msg_type"] == "interrupt_reply"
    assert reply["parent_header"]["msg_id"] == request["header"]["msg_id"]
    assert reply["content"]["status"] == "ok"
    assert_interrupted(kc, msg_id)
    assert_still_works(kc)


def test_sigint_to_the_launchers_process_group(proto_setup, kernel, kc):
    km, _ = kernel
    pid = h.launcher_pid(km)
    before = proto_setup.processes(pid)
    assert before.launcher.pgid == pid, "jupyter_client starts the launcher in a group of its own"
    msg_id = start_sleeper(kc)
    os.killpg(pid, signal.SIGINT)
    assert_interrupted(kc, msg_id)
    assert km.is_alive()
    after = proto_setup.processes(pid)
    assert [p.pid for p in after.living()] == [p.pid for p in before.living()]
    assert_still_works(kc)


# ---- endings ---------------------------------------------------------------------------


def test_shutdown_leaves_nothing(proto_setup):
    """After a shutdown_request the launcher ends by itself and no process is left; nor the
    private directory with the runtime's ipc sockets (local), nor the pod and its objects
    (kubernetes)."""
    km, kc = h.start_kernel(proto_setup)
    try:
        assert_still_works(kc)
        procs = proto_setup.processes(h.launcher_pid(km))
        sockets = []
        if proto_setup.runtime == "local":
            assert procs.private_dir.is_dir()
            sockets = [p for p in procs.private_dir.iterdir() if p.is_socket()]
            assert len(sockets) >= 4, "the runtime's ipc sockets live in the private directory"
        launcher = km.provisioner.process
    finally:
        kc.stop_channels()
        km.shutdown_kernel()
    assert launcher.returncode == 0, "the launcher ended by itself after shutdown_request"
    procs.assert_all_gone()
    assert not any(s.exists() for s in sockets)
    if proto_setup.runtime == "kubernetes":
        fake, name = proto_setup.fake, procs.worker.name
        for kind in KERNEL_OBJECT_KINDS:
            fake.wait_for(lambda: fake.get(kind, name if kind != "secrets" else name + "-keys")
                          is None, 30, "%s of %s gone" % (kind, name))


def test_restart(proto_setup):
    km, kc = h.start_kernel(proto_setup)
    try:
        h.execute(kc, "before_restart = 1")
        old = proto_setup.processes(h.launcher_pid(km))
        old_launcher = km.provisioner.process
        km.restart_kernel()
        assert old_launcher.returncode == 0
        old.assert_all_gone()
        h.wait_for_ready(kc)
        new = proto_setup.processes(h.launcher_pid(km))
        assert new.launcher.pid != old.launcher.pid
        assert new.private_dir != old.private_dir
        reply, msgs = h.execute(kc, "print('before_restart' in dir())")
        assert reply["content"]["status"] == "ok"
        assert h.stream_text(msgs) == "False\n"
        assert_still_works(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel()
    new.assert_all_gone()


@pytest.fixture
def direct(proto_setup):
    """A launcher started with subprocess, its stderr kept; a client ready on it."""
    launchers = []

    def start(spec_dir=None, extra_args=()):
        d = h.DirectLauncher(proto_setup, spec_dir or proto_setup.spec_dir, extra_args)
        launchers.append(d)
        kc = d.client()
        assert_still_works(kc)  # the runtime is up, its start-up lines written
        return d, kc

    yield start
    for d in launchers:
        d.close()


def test_sigkill_of_the_launcher_ends_the_runtime(direct):
    d, kc = direct()
    procs = d.processes()
    assert procs.janitor, "a janitor guards the runtime"
    os.kill(d.pid, signal.SIGKILL)
    assert d.wait() == -signal.SIGKILL
    procs.assert_all_gone()


@pytest.mark.runtimes("local")
def test_sigkill_of_the_launcher_ends_the_runtimes_process_group(proto_setup, direct):
    """Without ipykernel's own parent poller (JPY_PARENT_PID unset), and with a
    grandchild in the runtime's process group: the launcher's parent-death signal
    and its janitor must end them all, and remove the private directory."""
    script = 'unset JPY_PARENT_PID; sleep 600 & exec /usr/bin/python3 -m ipykernel_launcher -f "$0"'
    spec = h.make_kernelspec(proto_setup.base / "specs", "grandchild", proto_setup.launcher,
                             ["/bin/sh", "-c", script, "{connection_file}"])
    d, kc = direct(spec)
    procs = d.processes()
    assert any(p.cmdline[:2] == [b"sleep", b"600"] for p in procs.runtime), procs.runtime
    os.kill(d.pid, signal.SIGKILL)
    assert d.wait() == -signal.SIGKILL
    procs.assert_all_gone()


@pytest.mark.runtimes("kubernetes")
def test_sigkill_of_the_launcher_deletes_the_pod_at_once(direct):
    """No watchdog wait (an hour here): the janitor deletes the pod."""
    os.environ["SPARK_K8S_WATCHDOG"] = "3600"
    try:
        d, kc = direct()
    finally:
        del os.environ["SPARK_K8S_WATCHDOG"]
    procs = d.processes()
    assert procs.janitor
    os.kill(d.pid, signal.SIGKILL)
    assert d.wait() == -signal.SIGKILL
    procs.assert_all_gone()


def test_sigkill_of_the_runtime_ends_the_launcher(direct):
    d, kc = direct()
    procs = d.processes()
    seen = len(d.stderr_text())
    os.kill(procs.runtime_leader().pid, signal.SIGKILL)
    status = d.wait()
    assert status is not None, f"the launcher still runs {d.exit_bound_s} s after its runtime died"
    assert status == 1
    lines = d.stderr_text()[seen:].splitlines()
    assert len(lines) == 1, f"expected one line about the death, got {lines}"
    assert "died" in lines[0] and "signal 9" in lines[0], lines[0]
    procs.assert_all_gone()


def test_runtime_death_is_told_in_the_running_cell(direct):
    d, kc = direct()
    procs = d.processes()
    msg_id = kc.execute("import time; time.sleep(60)")
    # Wait until the cell runs in the runtime, then kill the runtime under it.
    while True:
        m = kc.get_iopub_msg(timeout=h.REPLY_TIMEOUT_S)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_input":
            break
    os.kill(procs.runtime_leader().pid, signal.SIGKILL)
    told = ""
    while "died" not in told:
        m = kc.get_iopub_msg(timeout=h.REPLY_TIMEOUT_S)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream":
            told += m["content"]["text"]
    assert m["content"]["name"] == "stderr"
    assert "died unexpectedly" in told and "signal 9" in told, told
    assert d.wait() == 1
    procs.assert_all_gone()


def test_sigterm_stops_the_kernel(direct):
    d, kc = direct()
    procs = d.processes()
    os.kill(d.pid, signal.SIGTERM)
    status = d.wait()
    assert status is not None, f"the launcher still runs {d.exit_bound_s} s after SIGTERM"
    assert status == 0
    assert "Terminated" in d.stderr_text()
    procs.assert_all_gone()

