"""test_protocol_messages.py — every request type through the launcher, with real jupyter_client.

One kernel serves the whole module (conftest.kernel); each test checks the content
of the replies and iopub messages, not just that something came back.
"""
import base64
import hashlib
import random
import time
from queue import Empty

import pytest
import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.session import Session

from support import protocol as h


def test_execute_result_and_execution_count(kc):
    first, _ = h.execute(kc, "a_value = 6 * 7")
    second, msgs = h.execute(kc, "a_value + 1")
    assert first["content"]["status"] == "ok"
    assert second["content"]["status"] == "ok"
    assert second["content"]["execution_count"] == first["content"]["execution_count"] + 1
    results = h.of_type(msgs, "execute_result")
    assert len(results) == 1
    assert results[0]["content"]["data"]["text/plain"] == "43"
    assert results[0]["content"]["execution_count"] == second["content"]["execution_count"]
    states = [m["content"]["execution_state"] for m in h.of_type(msgs, "status")]
    assert states == ["busy", "idle"]
    inputs = h.of_type(msgs, "execute_input")
    assert [m["content"]["code"] for m in inputs] == ["a_value + 1"]


def test_stream_stdout_and_stderr(kc):
    reply, msgs = h.execute(
        kc, "import sys\nprint('to stdout 1')\nprint('to stderr 2', file=sys.stderr)")
    assert reply["content"]["status"] == "ok"
    assert h.stream_text(msgs, "stdout") == "to stdout 1\n"
    assert h.stream_text(msgs, "stderr") == "to stderr 2\n"


def test_display_data_mime_bundle(kc):
    code = ("from IPython.display import display\n"
            "display({'text/plain': 'plain text', 'text/html': '<b>bold</b>',"
            " 'application/json': {'k': [1, 2]}}, raw=True)")
    reply, msgs = h.execute(kc, code)
    assert reply["content"]["status"] == "ok"
    shown = h.of_type(msgs, "display_data")
    assert len(shown) == 1
    assert shown[0]["content"]["data"] == {
        "text/plain": "plain text", "text/html": "<b>bold</b>", "application/json": {"k": [1, 2]}}


def test_error(kc):
    reply, msgs = h.execute(kc, "raise ValueError('boom 42')")
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "ValueError"
    assert reply["content"]["evalue"] == "boom 42"
    errors = h.of_type(msgs, "error")
    assert len(errors) == 1
    assert errors[0]["content"]["ename"] == "ValueError"
    assert errors[0]["content"]["evalue"] == "boom 42"
    assert any("boom 42" in line for line in errors[0]["content"]["traceback"])
    h.settle_after_error(kc)


def second_client(kernel):
    """Another client with a session of its own, as a second notebook or console has.
    (km.client() would share the manager's session, and with it the zmq identity.)"""
    km, _ = kernel
    other = BlockingKernelClient(connection_file=km.connection_file)
    other.load_connection_file()
    assert other.session.session != km.session.session
    other.start_channels()
    return other


def test_stdin_round_trip_reaches_the_client_that_asked(kernel, kc):
    other = second_client(kernel)
    try:
        h.wait_for_ready(other)
        msg_id = kc.execute("answer = input('name? ')\nprint('got', answer)", allow_stdin=True)
        request = kc.get_stdin_msg(timeout=h.REPLY_TIMEOUT_S)
        assert request["msg_type"] == "input_request"
        assert request["content"]["prompt"] == "name? "
        assert request["parent_header"]["msg_id"] == msg_id
        with pytest.raises(Empty):
            other.get_stdin_msg(timeout=0.5)
        kc.input("spark 4.1")
        reply = h.shell_reply(kc, msg_id)
        assert reply["content"]["status"] == "ok"
        assert h.stream_text(h.iopub_for(kc, msg_id)) == "got spark 4.1\n"
        with pytest.raises(Empty):
            other.get_stdin_msg(timeout=0.2)
        with pytest.raises(Empty):
            other.get_shell_msg(timeout=0.2)
    finally:
        other.stop_channels()


def test_complete(kc):
    h.execute(kc, "spark_k8s_completion_target = 1")
    msg_id = kc.complete("spark_k8s_compl", 15)
    reply = h.shell_reply(kc, msg_id)
    assert reply["msg_type"] == "complete_reply"
    assert reply["content"]["status"] == "ok"
    assert "spark_k8s_completion_target" in reply["content"]["matches"]
    assert reply["content"]["cursor_start"] == 0
    assert reply["content"]["cursor_end"] == 15


def test_inspect(kc):
    h.execute(kc, "def spark_k8s_documented():\n    'Docstring seen by inspect 7.'\n")
    code = "spark_k8s_documented"
    msg_id = kc.inspect(code, len(code))
    reply = h.shell_reply(kc, msg_id)
    assert reply["msg_type"] == "inspect_reply"
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["found"] is True
    assert "Docstring seen by inspect 7." in reply["content"]["data"]["text/plain"]


@pytest.mark.parametrize("code,status", [
    ("x = 1", "complete"),
    ("for i in range(3):", "incomplete"),
    ("print('''hello", "incomplete"),
    ("import = 7q", "invalid"),
])
def test_is_complete(kc, code, status):
    msg_id = kc.is_complete(code)
    reply = h.shell_reply(kc, msg_id)
    assert reply["msg_type"] == "is_complete_reply"
    assert reply["content"]["status"] == status
    if status == "incomplete":
        assert "indent" in reply["content"]


def test_history(kc):
    h.execute(kc, "history_marker_1234 = 'kept'", store_history=True)
    msg_id = kc.history(hist_access_type="tail", n=5, output=False, raw=True)
    reply = h.shell_reply(kc, msg_id)
    assert reply["msg_type"] == "history_reply"
    assert reply["content"]["status"] == "ok"
    codes = [entry[2] for entry in reply["content"]["history"]]
    assert "history_marker_1234 = 'kept'" in codes
    msg_id = kc.history(hist_access_type="search", pattern="history_marker_1234*", output=False,
                        raw=True)
    found = h.shell_reply(kc, msg_id)["content"]["history"]
    assert [entry[2] for entry in found] == ["history_marker_1234 = 'kept'"]
    # A range in the current session (IPython numbers it 0 in range replies).
    line = [entry[1] for entry in reply["content"]["history"]
            if entry[2] == "history_marker_1234 = 'kept'"][-1]
    msg_id = kc.history(hist_access_type="range", session=0, start=line, stop=line + 1,
                        output=False, raw=True)
    ranged = h.shell_reply(kc, msg_id)["content"]["history"]
    assert [entry[1:] for entry in ranged] == [[line, "history_marker_1234 = 'kept'"]]


def test_comm_info(kc):
    reply, msgs = h.execute(
        kc, "from ipykernel.comm import Comm\n"
            "spark_k8s_comm = Comm(target_name='spark_k8s_test', data={'hello': 1})\n"
            "spark_k8s_comm.comm_id")
    assert reply["content"]["status"] == "ok"
    comm_id = h.of_type(msgs, "execute_result")[0]["content"]["data"]["text/plain"].strip("'")
    opened = h.of_type(msgs, "comm_open")
    assert [m["content"]["comm_id"] for m in opened] == [comm_id]
    msg_id = kc.comm_info(target_name="spark_k8s_test")
    info = h.shell_reply(kc, msg_id)
    assert info["msg_type"] == "comm_info_reply"
    assert info["content"]["status"] == "ok"
    assert info["content"]["comms"] == {comm_id: {"target_name": "spark_k8s_test"}}
    h.execute(kc, "spark_k8s_comm.close()")


def twenty_mib_text():
    """20 MiB of text that a lost, duplicated or reordered chunk would change."""
    data = random.Random(20).randbytes(15 * 2**20)
    return base64.b64encode(data).decode()


def test_20_mib_of_output_intact(kc):
    expected = hashlib.sha256(twenty_mib_text().encode()).hexdigest()
    code = ("import base64, random\n"
            "print(base64.b64encode(random.Random(20).randbytes(15 * 2**20)).decode(), end='')")
    reply, msgs = h.execute(kc, code, timeout=120)
    assert reply["content"]["status"] == "ok"
    text = h.stream_text(msgs, "stdout")
    assert len(text) == 20 * 2**20
    assert hashlib.sha256(text.encode()).hexdigest() == expected


def test_two_clients_at_once(kernel, kc):
    other = second_client(kernel)
    try:
        h.wait_for_ready(other)
        h.flush_iopub(kc, quiet=0.1)
        id_a = kc.execute("print('from client A')")
        id_b = other.execute("print('from client B')")
        reply_a = h.shell_reply(kc, id_a)
        reply_b = h.shell_reply(other, id_b)
        assert reply_a["content"]["status"] == reply_b["content"]["status"] == "ok"
        # No reply went to the wrong client.
        with pytest.raises(Empty):
            kc.get_shell_msg(timeout=0.3)
        with pytest.raises(Empty):
            other.get_shell_msg(timeout=0.3)
        # Both clients see the output of both requests on iopub (in either order:
        # the launcher takes the two clients' requests as they come).
        for client in (kc, other):
            seen = h.iopub_for_all(client, [id_a, id_b])
            assert h.stream_text(seen[id_a]) == "from client A\n"
            assert h.stream_text(seen[id_b]) == "from client B\n"
    finally:
        other.stop_channels()


def raw_sub(kc):
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.connect(f"tcp://{kc.ip}:{kc.iopub_port}")
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    return sub


def raw_recv(sub, timeout_s):
    if not sub.poll(int(timeout_s * 1000)):
        raise Empty
    return sub.recv_multipart()


def test_iopub_welcome_after_subscribing(kc):
    session = Session(key=kc.session.key, signature_scheme="hmac-sha256")
    sub = raw_sub(kc)
    try:
        frames = raw_recv(sub, h.REPLY_TIMEOUT_S)
        idents, parts = session.feed_identities(frames)
        msg = session.deserialize(parts, content=True)  # checks the signature
        assert msg["header"]["msg_type"] == "iopub_welcome"
        assert msg["content"]["subscription"] == ""
        forged = Session(key=b"not the key", signature_scheme="hmac-sha256")
        with pytest.raises(ValueError, match="Invalid Signature"):
            forged.deserialize(parts, content=True)
    finally:
        sub.close()


def test_no_message_delivered_twice(kc):
    sub = raw_sub(kc)
    try:
        raw_recv(sub, h.REPLY_TIMEOUT_S)  # our welcome: subscribed from here on
        ids = [kc.execute(f"print({i})\n{i}") for i in range(5)]
        ids.append(kc.kernel_info())
        ids.append(kc.execute("import sys; print('e', file=sys.stderr)"))
        for msg_id in ids:
            h.shell_reply(kc, msg_id)
        # A fresh Session remembers every signature it has seen (digest_history)
        # and raises on a replay, as jupyter_client does for every channel.
        checker = Session(key=kc.session.key, signature_scheme="hmac-sha256")
        seen, idle = [], set()
        deadline = time.monotonic() + h.REPLY_TIMEOUT_S
        while idle != set(ids) and time.monotonic() < deadline:
            frames = raw_recv(sub, h.REPLY_TIMEOUT_S)
            _, parts = checker.feed_identities(frames)
            msg = checker.deserialize(parts, content=True)
            seen.append(msg["header"]["msg_id"])
            parent = msg["parent_header"].get("msg_id")
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                idle.add(parent)
        # Anything still in flight is checked too.
        while True:
            try:
                frames = raw_recv(sub, 0.3)
            except Empty:
                break
            _, parts = checker.feed_identities(frames)
            seen.append(checker.deserialize(parts, content=True)["header"]["msg_id"])
        assert idle == set(ids)
        assert len(seen) >= 4 * len(ids)  # busy, input or output, idle at least
        assert len(seen) == len(set(seen)), "a msg_id arrived twice"
        assert len(checker.digest_history) == len(seen)
    finally:
        sub.close()


def test_client_kernel_info_comes_from_the_runtime(kc):
    msg_id = kc.kernel_info()
    reply = h.shell_reply(kc, msg_id)
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["language_info"]["name"] == "python"
    # Once ready, requests reach ipykernel itself.
    assert reply["content"]["implementation"] == "ipython"


def test_heartbeat_answered(kc):
    assert kc.hb_channel.is_alive()
    ctx = zmq.Context.instance()
    hb = ctx.socket(zmq.REQ)
    hb.linger = 0
    hb.connect(f"tcp://{kc.ip}:{kc.hb_port}")
    try:
        hb.send(b"ping 123")
        assert hb.poll(int(h.REPLY_TIMEOUT_S * 1000))
        assert hb.recv() == b"ping 123"
    finally:
        hb.close()
