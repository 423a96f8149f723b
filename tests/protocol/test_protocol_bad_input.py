"""test_protocol_bad_input.py — forged, oversized and malformed messages are dropped, one log line each
(a frame over the size cap is refused by libzmq when its header arrives: that connection is
closed, and there is nothing for the launcher to log).

One launcher, started directly with --max-message-size 65536 so its stderr can be
read. Every bad message is sent on a raw zmq DEALER; then a good request on the
same socket must be answered (the launcher keeps serving, and since one socket's
messages are handled in order, the bad one has been dealt with by then).
"""
import hashlib
import hmac
import json
import uuid

import pytest
import zmq
from jupyter_client.session import Session

from support import protocol as h

CAP = 65536


@pytest.fixture(scope="module")
def launcher(proto_setup):
    d = h.DirectLauncher(proto_setup, proto_setup.spec_dir, ["--max-message-size", str(CAP)])
    kc = d.client()
    h.execute(kc, "pass")  # the runtime is ready and its start-up lines are written
    procs = proto_setup.processes(d.pid)
    yield d
    d.close()
    procs.assert_all_gone()


class Raw:
    """A raw DEALER on one channel of the launcher, with the right key."""

    def __init__(self, launcher, channel="shell"):
        self.launcher = launcher
        info = launcher.info
        self.key = info["key"].encode() if isinstance(info["key"], str) else info["key"]
        self.session = Session(key=self.key, signature_scheme="hmac-sha256")
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(f"tcp://127.0.0.1:{info[channel + '_port']}")

    def send_frames(self, frames):
        self.sock.send_multipart(frames)

    def request(self, msg_type, content):
        msg = self.session.msg(msg_type, content)
        self.session.send(self.sock, msg)
        return msg["header"]["msg_id"]

    def reply_to(self, msg_id, msg_type):
        """The reply to MSG_ID; the launcher serves this socket."""
        while True:
            assert self.sock.poll(int(h.REPLY_TIMEOUT_S * 1000)), f"no {msg_type} for {msg_id}"
            _, parts = self.session.feed_identities(self.sock.recv_multipart())
            msg = self.session.deserialize(parts)
            if msg["parent_header"].get("msg_id") == msg_id:
                assert msg["msg_type"] == msg_type
                return msg

    def still_serving(self):
        msg_id = self.request("kernel_info_request", {})
        reply = self.reply_to(msg_id, "kernel_info_reply")
        assert reply["content"]["status"] == "ok"
        assert self.launcher.proc.poll() is None

    def close(self):
        self.sock.close()


@pytest.fixture
def shell(launcher):
    raw = Raw(launcher)
    yield raw
    raw.close()


def launcher_lines(d):
    return [line for line in d.stderr_text().splitlines() if line.startswith("spark-k8s")]


def new_launcher_lines(d, before):
    return launcher_lines(d)[len(before):]


def writer_code(flag):
    return f"open({str(flag)!r}, 'w').write('executed')"


def assert_dropped_once(d, before, reason):
    lines = new_launcher_lines(d, before)
    assert len(lines) == 1, f"expected one log line, got {lines}"
    assert "dropped" in lines[0] and reason in lines[0], lines[0]


def test_correctly_signed_code_runs(proto_setup, launcher, shell):
    """The control case: the code the forgeries carry does write its file."""
    flag = proto_setup.base / "genuine-flag"
    msg_id = shell.request("execute_request", {"code": writer_code(flag), "silent": False})
    assert shell.reply_to(msg_id, "execute_reply")["content"]["status"] == "ok"
    assert flag.read_text() == "executed"
    flag.unlink()


@pytest.mark.parametrize("forgery", ["wrong key", "no signature", "signature of another message"])
def test_forged_execute_is_not_executed(proto_setup, launcher, shell, forgery):
    flag = proto_setup.base / f"forged-flag-{forgery.replace(' ', '-')}"
    msg = shell.session.msg("execute_request", {"code": writer_code(flag), "silent": False})
    if forgery == "wrong key":
        frames = Session(key=b"guessed key", signature_scheme="hmac-sha256").serialize(msg)
    elif forgery == "no signature":
        frames = Session(key=b"", signature_scheme="hmac-sha256").serialize(msg)
        assert frames[1] == b""
    else:
        other = shell.session.serialize(shell.session.msg("kernel_info_request", {}))
        frames = shell.session.serialize(msg)
        frames[1] = other[1]
    before = launcher_lines(launcher)
    shell.send_frames(frames)
    shell.still_serving()
    assert_dropped_once(launcher, before, "signature")
    assert not flag.exists(), "the forged code ran"


def test_forged_shutdown_on_control_is_ignored(launcher):
    control = Raw(launcher, "control")
    try:
        msg = control.session.msg("shutdown_request", {"restart": False})
        frames = Session(key=b"guessed key", signature_scheme="hmac-sha256").serialize(msg)
        before = launcher_lines(launcher)
        control.send_frames(frames)
        msg_id = control.request("kernel_info_request", {})
        assert control.reply_to(msg_id, "kernel_info_reply")["content"]["status"] == "ok"
        assert_dropped_once(launcher, before, "signature")
        assert launcher.proc.poll() is None
    finally:
        control.close()


def refused_on_receipt(launcher, content):
    """Send one request on a socket of its own; True when the launcher closes that
    connection (libzmq refuses a frame over ZMQ_MAXMSGSIZE before reading it)."""
    raw = Raw(launcher)
    monitor = raw.sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    try:
        raw.request("execute_request", content)
        return bool(monitor.poll(int(h.REPLY_TIMEOUT_S * 1000)))
    finally:
        raw.sock.disable_monitor()
        monitor.close()
        raw.close()


def test_message_over_the_size_cap_is_refused(proto_setup, launcher, shell):
    flag = proto_setup.base / "oversize-flag"
    padding = "#" * (CAP + 1024)
    assert refused_on_receipt(launcher, {"code": writer_code(flag) + "\n" + padding,
                                         "silent": False})
    shell.still_serving()
    assert not flag.exists(), "the oversized request ran"


def test_frames_under_the_cap_adding_up_over_it_are_dropped(proto_setup, launcher, shell):
    flag = proto_setup.base / "oversize-buffers-flag"
    msg = shell.session.msg("execute_request", {"code": writer_code(flag), "silent": False})
    before = launcher_lines(launcher)
    shell.session.send(shell.sock, msg, buffers=[b"b" * (CAP // 2)] * 3)
    shell.still_serving()
    assert_dropped_once(launcher, before, "size cap")
    assert not flag.exists(), "the oversized request ran"
    assert not shell.sock.poll(200), "a reply to the dropped request arrived"


def test_message_under_the_size_cap_runs(proto_setup, launcher, shell):
    flag = proto_setup.base / "undersize-flag"
    padding = "#" * (CAP - 4096)
    msg_id = shell.request("execute_request", {"code": writer_code(flag) + "\n" + padding,
                                               "silent": False})
    assert shell.reply_to(msg_id, "execute_reply")["content"]["status"] == "ok"
    assert flag.read_text() == "executed"
    flag.unlink()


def test_size_cap_from_the_environment(proto_setup):
    d = h.DirectLauncher(proto_setup, proto_setup.spec_dir,
                         extra_env={"SPARK_K8S_MAX_MESSAGE_BYTES": str(CAP)})
    raw = Raw(d)
    try:
        flag = proto_setup.base / "env-oversize-flag"
        d.client()
        assert refused_on_receipt(d, {"code": writer_code(flag) + "\n" + "#" * (CAP + 1024),
                                      "silent": False})
        raw.still_serving()
        assert not flag.exists()
    finally:
        raw.close()
        d.close()


def signed_frames(key, header, parent=b"{}", metadata=b"{}", content=b"{}"):
    sig = hmac.new(key, digestmod=hashlib.sha256)
    for part in (header, parent, metadata, content):
        sig.update(part)
    return [b"<IDS|MSG>", sig.hexdigest().encode(), header, parent, metadata, content]


def good_header(msg_type="kernel_info_request"):
    return json.dumps({"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "t",
                       "session": uuid.uuid4().hex, "date": "2026-01-01T00:00:00.000000Z",
                       "version": "5.3"}).encode()


@pytest.mark.parametrize("case,reason", [
    ("no delimiter", "delimiter"),
    ("delimiter only", "too few frames"),
    ("signature and header only", "too few frames"),
    ("header not JSON", "header"),
    ("header without msg_type", "header"),
    ("header a JSON list", "header"),
])
def test_malformed_frames_are_dropped(launcher, shell, case, reason):
    key = shell.key
    frames = {
        "no delimiter": lambda: [b"just one frame"],
        "delimiter only": lambda: [b"<IDS|MSG>"],
        "signature and header only": lambda: signed_frames(key, good_header())[:3],
        "header not JSON": lambda: signed_frames(key, b"{this is not json"),
        "header without msg_type": lambda: signed_frames(key, b'{"msg_id": "abc"}'),
        "header a JSON list": lambda: signed_frames(key, b"[1, 2, 3]"),
    }[case]()
    before = launcher_lines(launcher)
    shell.send_frames(frames)
    shell.still_serving()
    assert_dropped_once(launcher, before, reason)


def test_hand_signed_frames_are_accepted(launcher, shell):
    """The control case for the malformed ones: signed_frames() makes a valid message."""
    header = good_header()
    shell.send_frames(signed_frames(shell.key, header))
    reply = shell.reply_to(json.loads(header)["msg_id"], "kernel_info_reply")
    assert reply["content"]["status"] == "ok"
