"""test_protocol_pressure.py — the launcher under pressure (issue 12): no lost request,
no stalled client, bounded memory, and a client served at least as well as by the same
ipykernel reached directly.

One test (or a pair) per behaviour the issue lists, each failing on the launcher before
the fix:
  1. a subscriber that never reads stalls nobody else;
  2. requests behind a busy cell, or held during a slow start, are all answered;
  3. huge subscriptions do not grow the launcher's memory;
  4. requests held during a start are bounded (the client's queue fills instead);
  5. a flood of dropped input is logged as counts, not a line each;
  6. an oversized frame is refused when its header arrives (the default 256 MiB cap on
     shell, control and stdin, too);
  7. a replayed interrupt_request is not acted on;
  8. a newline in a kernelspec folder's name stays in spark-defaults.conf's comment;
  9. "ip": "::1" in a connection file works;
and an interrupt reaches every process of the runtime's group, not only its leader.
Where a bound on memory is stated (SECURITY.md), the test drives that input and checks
the launcher's resident memory against it. Deadlines are generous bounds for a loaded
2-core machine, never timing assertions.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import zmq
import zmq.asyncio
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.session import Session

from support import protocol as h

# The local runtime only: the yardstick is ipykernel started directly on this machine, and
# the slow starts, runtime commands and process groups here are a local runtime's.
pytestmark = pytest.mark.runtimes("local")

MiB = 1 << 20
OUTPUT_LINES = 3000          # above iopub's high-water mark (1000), as the report's 5,000
LINE = 10000                 # 10 kB each
PRINT_LINES = ("import sys\nline = 'x' * %d\nfor i in range(%d):\n    print(line)\n"
               "    sys.stdout.flush()\n" % (LINE, OUTPUT_LINES))
SLOW_START_S = 4


def rss_kb(pid):
    """VmRSS and VmHWM of PID in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def launcher_lines(d):
    return [line for line in d.stderr_text().splitlines() if line.startswith("spark-k8s")]


class Direct:
    """ipykernel started directly (no launcher), for the comparisons the issue asks for.
    Its stderr is kept: an ipykernel that could not start (a port of its connection file
    taken between write_connection_file choosing it and ipykernel binding it) is started
    again on fresh ports, and one that fails otherwise is reported with its own words,
    not as a kernel_info that never came."""

    def __init__(self, setup):
        self.setup = setup
        fd, self.stderr_path = tempfile.mkstemp(prefix="direct-stderr-", dir=setup.base)
        os.close(fd)
        self.proc = None
        self.connection_file = None
        self.clients = []
        self.start()

    def start(self):
        fd, path = tempfile.mkstemp(prefix="direct-", suffix=".json", dir=self.setup.base)
        os.close(fd)
        self.connection_file, self.info = write_connection_file(
            path, ip="127.0.0.1", key=os.urandom(16).hex().encode(), transport="tcp",
            signature_scheme="hmac-sha256")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [h.PYTHON, "-m", "ipykernel_launcher", "-f", self.connection_file],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                env={**os.environ, **self.setup.env()}, start_new_session=True)

    def stderr_text(self):
        return Path(self.stderr_path).read_text(errors="replace")

    def client(self):
        deadline = time.monotonic() + h.REPLY_TIMEOUT_S
        restarts = 0
        while True:
            kc = BlockingKernelClient(connection_file=self.connection_file)
            kc.load_connection_file()
            kc.start_channels(hb=False)  # no beat while ipykernel starts: it would read as dead
            try:
                h.wait_for_ready(kc, timeout=5)
            except RuntimeError as e:
                kc.stop_channels()
                died = self.proc.poll() is not None
                if died and "Address already in use" in self.stderr_text() \
                        and not self.clients and restarts < 2:
                    restarts += 1
                    os.unlink(self.connection_file)
                    self.start()
                    deadline = time.monotonic() + h.REPLY_TIMEOUT_S
                    continue
                if died or time.monotonic() > deadline:
                    raise AssertionError(
                        f"ipykernel started directly did not answer ({e}); exit status "
                        f"{self.proc.poll()}; its stderr: {self.stderr_text()[-2000:]!r}") from e
                continue
            self.clients.append(kc)
            return kc

    def close(self):
        for kc in self.clients:
            kc.stop_channels()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        os.unlink(self.connection_file)
        os.unlink(self.stderr_path)


def stuck_subscriber(info):
    """A SUB on iopub that never reads, with the smallest buffers it can have."""
    s = zmq.Context.instance().socket(zmq.SUB)
    s.linger = 0
    s.rcvhwm = 1
    s.setsockopt(zmq.RCVBUF, 4096)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(f"tcp://127.0.0.1:{info['iopub_port']}")
    return s


class Reader:
    """A SUB on iopub that keeps up: it reads in a thread into an unbounded queue.
    (jupyter_client's own channel is slower than ipykernel writing 10 kB lines, and then
    loses messages at ipykernel's PUB socket just as it would at ours.)"""

    def __init__(self, info):
        self.key = info["key"].encode() if isinstance(info["key"], str) else info["key"]
        self.session = Session(key=self.key, signature_scheme="hmac-sha256")
        self.sock = zmq.Context.instance().socket(zmq.SUB)
        self.sock.linger = 0
        self.sock.rcvhwm = 0
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.connect(f"tcp://127.0.0.1:{info['iopub_port']}")

    def output_of(self, msg_id, timeout):
        """stdout characters of request MSG_ID up to its idle, or all there were when
        nothing came for a while (a lost idle)."""
        chars, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.sock.poll(10000):
                break
            _, parts = self.session.feed_identities(self.sock.recv_multipart())
            msg = self.session.deserialize(parts)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                chars += len(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        return chars

    def close(self):
        self.sock.close()


def output_delivered(k, kc):
    """With a subscriber that never reads connected: how much of PRINT_LINES' output
    reaches a subscriber that keeps up."""
    reader, stuck = Reader(k.info), stuck_subscriber(k.info)
    try:
        h.execute(kc, "pass")  # both are subscribed by now
        msg_id = kc.execute(PRINT_LINES)
        chars = reader.output_of(msg_id, timeout=180)
        h.shell_reply(kc, msg_id, timeout=60)
        # The next cell's output comes at once, though the stuck subscriber is still there.
        after = kc.execute("print('after')")
        h.shell_reply(kc, after)
        assert reader.output_of(after, timeout=60) == len("after\n")
        return chars
    finally:
        reader.close()
        stuck.close()


@pytest.fixture
def launcher(proto_setup):
    d = h.DirectLauncher(proto_setup, proto_setup.spec_dir)
    yield d
    d.close()


@pytest.fixture
def direct(proto_setup):
    k = Direct(proto_setup)
    yield k
    k.close()


# ---- 1. a subscriber that never reads ------------------------------------------------------

def test_stopped_subscriber_stalls_nobody(launcher, direct):
    expected = OUTPUT_LINES * (LINE + 1)
    direct_got = output_delivered(direct, direct.client())
    kc = launcher.client()
    h.execute(kc, "pass")
    idle = rss_kb(launcher.pid)["VmRSS"]
    got = output_delivered(launcher, kc)
    grown = rss_kb(launcher.pid)["VmRSS"] - idle
    assert got == expected, f"the reading client got {got} of {expected} characters"
    assert got >= direct_got
    # Stated bound for this input (SECURITY.md): each subscriber that lags pins at most
    # IOPUB_HWM (1000) messages, the runtime's side as many, and what waits for room at
    # most all of the cell's output here; two lag (the stuck one, and jupyter_client's
    # own channel). Resident memory may reach twice what is held (the allocator keeps
    # freed memory), plus 16 MiB for libzmq's buffers.
    held = (2 + 1) * 1000 * LINE + OUTPUT_LINES * LINE
    assert grown < 2 * held // 1024 + 16 * 1024, f"launcher grew {grown} kB"


# ---- 2. requests behind a busy cell, and held during a slow start --------------------------

def many_requests_answered(kc, n):
    """Send a sleeping cell, then N quick requests; return how many of the N+1 got replies."""
    ids = {kc.execute("import time; time.sleep(3)")}
    for _ in range(n):
        ids.add(kc.execute("pass", silent=True, store_history=False))
    answered = 0
    while ids:
        try:
            reply = kc.get_shell_msg(timeout=60)
        except Exception:  # Empty: nothing more is coming
            break
        if reply["parent_header"].get("msg_id") in ids:
            ids.discard(reply["parent_header"]["msg_id"])
            answered += 1
    return answered


def test_requests_behind_a_busy_cell_are_all_answered(launcher, direct):
    n = 3000
    direct_answered = many_requests_answered(direct.client(), n)
    answered = many_requests_answered(launcher.client(), n)
    assert answered == n + 1, f"{answered} of {n + 1} requests were answered"
    assert answered >= direct_answered


@pytest.fixture
def slow_start(proto_setup):
    """A launcher whose runtime takes SLOW_START_S to start: requests wait in it."""
    kernels = proto_setup.base / "slow-kernels"
    spec = h.make_kernelspec(kernels, "slow-start", proto_setup.launcher,
                             runtime_command=["/bin/sh", "-c", "sleep %d; exec %s -m ipykernel_launcher "
                                              "-f \"$0\"" % (SLOW_START_S, h.PYTHON),
                                              "{connection_file}"])
    d = h.DirectLauncher(proto_setup, spec)
    yield d
    d.close()


def test_requests_held_during_a_slow_start_are_all_answered(slow_start):
    n = 3000
    kc = slow_start.client(ready=False)
    ids = {kc.execute("pass", silent=True, store_history=False) for _ in range(n)}
    deadline = time.monotonic() + 120
    while ids and time.monotonic() < deadline:
        try:
            reply = kc.get_shell_msg(timeout=5)
        except Exception:
            continue
        ids.discard(reply["parent_header"].get("msg_id"))
    assert not ids, f"{len(ids)} of {n} held requests were never answered"


# ---- 3. huge subscriptions ---------------------------------------------------------------------

def test_huge_subscriptions_do_not_grow_memory(launcher):
    kc = launcher.client()
    h.execute(kc, "pass")
    before = rss_kb(launcher.pid)["VmRSS"]
    peers = []
    try:
        # Raw peers, not pyzmq SUB sockets: libzmq's own trie of a 1 MB topic is a chain a
        # million nodes deep, whose recursive teardown overflows the stack of whoever
        # closes it (the launcher, before the fix; this test, if it used zmq.SUB).
        for i in range(20):
            c = zmtp_peer(launcher.info["iopub_port"], b"SUB", frame_size=MiB + 1)
            peers.append(c)
            try:
                c.sendall(b"\x01" + bytes([65 + i]) * MiB)
            except (BrokenPipeError, ConnectionResetError):
                pass
        h.execute(kc, "pass")
        time.sleep(1)
        grown = rss_kb(launcher.pid)["VmRSS"] - before
        refused = sum(closed_by_peer(c, 10) for c in peers)
    finally:
        for c in peers:
            c.close()
    # Refused by libzmq at the header (IOPUB_MAX_TOPIC); ipykernel alone grew 20 MB.
    assert refused == 20, f"{20 - refused} of 20 subscriptions of 1 MB were taken"
    assert grown < 16 * 1024, f"launcher grew {grown} kB for 20 subscriptions of 1 MB"
    h.execute(kc, "pass")  # and serves on


# ---- 4. held requests are bounded ----------------------------------------------------------------

def raw_socket(info, channel="shell", hwm=None):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.linger = 0
    if hwm is not None:
        s.sndhwm = hwm
    s.connect(f"tcp://127.0.0.1:{info[channel + '_port']}")
    return s


def test_held_requests_are_bounded(slow_start):
    info = slow_start.info
    session = Session(key=info["key"].encode() if isinstance(info["key"], str) else info["key"],
                      signature_scheme="hmac-sha256")
    s = raw_socket(info)
    time.sleep(0.5)
    idle = rss_kb(slow_start.pid)["VmRSS"]
    sent, ids, refused = 0, set(), False
    try:
        end = time.monotonic() + SLOW_START_S - 1.5
        while time.monotonic() < end and sent < 200_000:
            msg = session.msg("execute_request", {"code": "pass", "silent": True,
                                                  "store_history": False})
            try:
                s.send_multipart(session.serialize(msg), flags=zmq.NOBLOCK)
            except zmq.Again:
                refused = True
                break
            ids.add(msg["header"]["msg_id"])
            sent += 1
            if s.getsockopt(zmq.EVENTS) & zmq.POLLOUT == 0:
                refused = True
                break  # our own queue is full: the launcher stopped reading
        grown = rss_kb(slow_start.pid)["VmRSS"] - idle
        # The flood ended because the launcher stopped reading (its bound was reached), not
        # because the start was about to end or the count ran out.
        assert refused, f"the launcher took all {sent} requests sent while it started"
        assert sent >= 1000, f"refused after {sent} requests, before the shell queue was full"
        # Stated bound: the shell queue (1000 requests, 64 MiB) and what libzmq keeps per
        # connection (8 messages), each request pinning at most 16 kB (SECURITY.md).
        assert grown < (64 * 1024 + 1008 * 16), f"launcher grew {grown} kB holding {sent} requests"
        deadline = time.monotonic() + 180
        while ids and time.monotonic() < deadline:
            if not s.poll(5000):
                continue
            _, parts = session.feed_identities(s.recv_multipart())
            ids.discard(session.deserialize(parts)["parent_header"].get("msg_id"))
        assert not ids, f"{len(ids)} of {sent} requests were never answered"
    finally:
        s.close()


# ---- 5. a flood of dropped input ------------------------------------------------------------------

def test_dropped_input_is_logged_as_counts(launcher):
    n = 10000
    launcher.client()
    s = raw_socket(launcher.info)
    forger = Session(key=b"guessed key", signature_scheme="hmac-sha256")
    before = len(launcher_lines(launcher))
    try:
        for _ in range(n):
            s.send_multipart(forger.serialize(forger.msg("execute_request", {"code": "1"})))
        # counted: a burst in full per window of 10 s, then one line with the rest
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = launcher_lines(launcher)[before:]
            full = sum(1 for line in lines if line.startswith("spark-k8s: dropped a "))
            counted = sum(int(line.split()[2]) for line in lines
                          if line.startswith("spark-k8s: dropped ") and " more in the last " in line)
            if full + counted >= n:
                break
            time.sleep(0.5)
        assert full + counted == n, f"{full} lines and {counted} counted of {n}"
        assert len(lines) < 100, f"{len(lines)} log lines for {n} dropped messages"
    finally:
        s.close()


# ---- 6. oversized frames are refused on receipt ---------------------------------------------------

def zmtp_peer(port, socket_type=b"DEALER", frame_size=0):
    """A raw ZMTP 3.0 peer (NULL mechanism) that announces one frame of FRAME_SIZE bytes."""
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00")
              + b"\x00" + b"\x00" * 31)
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    c.sendall(b"\x04" + bytes([len(body)]) + body)
    c.sendall(b"\x02" + struct.pack(">Q", frame_size))
    return c


def closed_by_peer(c, timeout):
    """True when the launcher closes C within TIMEOUT seconds (after its greeting)."""
    c.settimeout(timeout)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            if not c.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def test_oversized_frames_refused_before_they_are_buffered(launcher):
    kc = launcher.client()
    h.execute(kc, "pass")
    before = rss_kb(launcher.pid)["VmRSS"]
    chunk = b"\x00" * MiB
    peers, closed = [], 0
    try:
        for _ in range(4):  # four peers without the key, 300 MB frames, 64 MB sent each
            c = zmtp_peer(launcher.info["shell_port"], frame_size=300 * MiB)
            peers.append(c)
            try:
                for _ in range(64):
                    c.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        grown = rss_kb(launcher.pid)["VmRSS"] - before
        closed = sum(closed_by_peer(c, 10) for c in peers)
    finally:
        for c in peers:
            c.close()
    assert closed == 4, f"{4 - closed} of 4 oversized senders were not refused"
    assert grown < 32 * 1024, f"launcher grew {grown} kB"
    h.execute(kc, "pass")  # and serves on


@pytest.mark.parametrize("channel", ["shell", "control", "stdin"])
def test_default_cap_is_256_mib_on_every_request_channel(launcher, channel):
    kc = launcher.client()
    over = zmtp_peer(launcher.info[channel + "_port"], frame_size=256 * MiB + 1)
    at = zmtp_peer(launcher.info[channel + "_port"], frame_size=256 * MiB)
    try:
        assert closed_by_peer(over, 10), f"{channel}: a frame over 256 MiB was taken"
        # The frame of exactly the cap is taken whole: sent, it reaches the relay, which
        # drops it as a message (one frame, no delimiter) and says so with its size.
        before = len(launcher_lines(launcher))
        chunk = bytes(MiB)
        try:
            for _ in range(256):
                at.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pytest.fail(f"{channel}: a frame of 256 MiB was refused")
        deadline = time.monotonic() + 60
        taken = []
        while not taken and time.monotonic() < deadline:
            taken = [line for line in launcher_lines(launcher)[before:]
                     if line.startswith("spark-k8s: dropped a ") and f" on {channel}:" in line
                     and int(line.split()[3].split("-")[0]) >= 256 * MiB]
            time.sleep(0.2)
        assert taken, f"{channel}: a frame of 256 MiB did not reach the relay: " \
                      f"{launcher_lines(launcher)[before:]}"
        h.execute(kc, "pass")  # and serves on
    finally:
        over.close()
        at.close()


# ---- 7. a replayed interrupt_request -------------------------------------------------------------------

SLEEPER = "import time\nprint('sleeping', flush=True)\ntime.sleep(30)\nprint('not interrupted')"


def replay_interrupt(info, kc, refusals):
    """Interrupt a sleeping cell with one interrupt_request, then send the same frames
    during a second sleeping cell, followed on the same control connection by a fresh
    kernel_info_request: control is handled in order, so once that one is answered the
    copy has been handled too, and REFUSALS() (the lines saying a copy was refused) must
    have grown by one. Then a fresh interrupt ends the second cell: interrupted once, by
    it. Returns (first cell interrupted, copy refused, second cell's status)."""
    key = info["key"].encode() if isinstance(info["key"], str) else info["key"]
    session = Session(key=key, signature_scheme="hmac-sha256")
    control = raw_socket(info, "control")
    try:
        frames = session.serialize(session.msg("interrupt_request", {}))

        def run_sleeper():
            msg_id = kc.execute(SLEEPER)
            while "sleeping" not in h.stream_text([kc.get_iopub_msg(timeout=30)]):
                pass
            return msg_id

        first_id = run_sleeper()
        control.send_multipart(frames)
        first = h.shell_reply(kc, first_id, timeout=20)
        h.settle_after_error(kc)
        second_id = run_sleeper()
        before = refusals()
        marker = session.msg("kernel_info_request", {})
        control.send_multipart(frames)
        control.send_multipart(session.serialize(marker))
        while True:  # the marker's reply: the copy before it was handled
            assert control.poll(h.REPLY_TIMEOUT_S * 1000), "no reply to kernel_info on control"
            _, parts = session.feed_identities(control.recv_multipart())
            reply = session.deserialize(parts)
            if reply["parent_header"].get("msg_id") == marker["header"]["msg_id"]:
                break
        refused = refusals() == before + 1
        kc.control_channel.send(kc.session.msg("interrupt_request", {}))
        second = h.shell_reply(kc, second_id, timeout=20)
        return first["content"]["status"] == "error", refused, second["content"]["status"]
    finally:
        control.close()


def test_replayed_interrupt_is_not_acted_on(launcher, direct):
    # ipykernel's Session refuses the copy ("Duplicate Signature", in its log) ...
    kc = direct.client()
    assert replay_interrupt(direct.info, kc, lambda: direct.stderr_text().count(
        "ValueError: Duplicate Signature")) == (True, True, "error"), direct.stderr_text()[-3000:]
    # ... and the launcher refuses it before it could act on it (an interrupt_request is
    # answered by the launcher itself, never passed on)
    kc = launcher.client()
    assert replay_interrupt(launcher.info, kc, lambda: sum(
        "interrupt_request on control: a replay" in line
        for line in launcher_lines(launcher))) == (True, True, "error")


# ---- 8. a newline in a kernelspec folder's name -----------------------------------------------------------

def test_folder_name_cannot_add_a_spark_property(proto_setup):
    kernels = proto_setup.base / "odd-kernels"
    spec = h.make_kernelspec(kernels, "evil\nspark.driver.memory 99g", proto_setup.launcher,
                             runtime_command=h.IPYKERNEL_COMMAND)
    d = h.DirectLauncher(proto_setup, spec)
    try:
        kc = d.client()
        _, msgs = h.execute(kc, "import os\nprint(open(os.environ['SPARK_CONF_DIR'] + "
                                "'/spark-defaults.conf').read())")
        conf = h.stream_text(msgs)
        assert "spark.master" in conf
        props = [line for line in conf.splitlines() if line and not line.startswith("#")]
        assert not any(line.startswith("spark.driver.memory 99g") for line in props), conf
        assert "evil\\nspark.driver.memory 99g" in conf  # still there to read, in the comment
    finally:
        d.close()


# ---- 9. IPv6 -----------------------------------------------------------------------------------------------

def test_ipv6_connection_file(proto_setup):
    if not Path("/proc/net/if_inet6").exists():
        pytest.skip("no IPv6 on this machine")
    fd, conn = tempfile.mkstemp(prefix="conn6-", suffix=".json", dir=proto_setup.base)
    socks = [socket.socket(socket.AF_INET6) for _ in range(5)]
    try:
        for s in socks:  # free ports (jupyter_client's own picker knows IPv4 only)
            s.bind(("::1", 0))
    except OSError as e:  # IPv6 compiled in, but no ::1 on lo (containers often)
        for s in socks:
            s.close()
        pytest.skip("no IPv6 loopback address here: %s" % e)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    with os.fdopen(fd, "w") as f:
        json.dump({"transport": "tcp", "ip": "::1", "key": os.urandom(16).hex(),
                   "signature_scheme": "hmac-sha256", "shell_port": ports[0],
                   "iopub_port": ports[1], "stdin_port": ports[2], "control_port": ports[3],
                   "hb_port": ports[4]}, f)
    env = {**os.environ, **proto_setup.env()}
    proc = subprocess.Popen([proto_setup.launcher, "kernel", "-f", conn, "--kernelspec",
                             str(proto_setup.spec_dir)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    kc = None
    try:
        kc = BlockingKernelClient(connection_file=conn)
        # jupyter_client does not set IPv6; its sockets take it from the client's own
        # context (a zmq.asyncio.Context in jupyter_client 7, a zmq.Context in 8)
        kc.context.setsockopt(zmq.IPV6, 1)
        kc.load_connection_file()
        kc.start_channels()
        h.wait_for_ready(kc)
        _, msgs = h.execute(kc, "print(6 * 7)")
        assert h.stream_text(msgs) == "42\n"
    finally:
        if kc is not None:
            kc.stop_channels()
        proc.terminate()
        try:
            err = proc.communicate(timeout=10)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            err = proc.communicate()[1]
        os.unlink(conn)
    assert b"cannot bind" not in err, err


# ---- an interrupt reaches the runtime's whole process group -------------------------------------------------

def test_interrupt_reaches_every_process_of_the_runtime(proto_setup, launcher):
    kc = launcher.client()
    flag = proto_setup.base / "child-interrupted"
    child = ("import signal, sys, time\n"
             "def on_int(*_):\n"
             "    open(%r, 'w').write('SIGINT')\n"
             "    sys.exit(0)\n"
             "signal.signal(signal.SIGINT, on_int)\n"
             "print('ready', flush=True)\n"
             "time.sleep(60)\n" % str(flag))
    code = ("import subprocess, sys\n"
            "p = subprocess.Popen([sys.executable, '-c', %r], stdout=subprocess.PIPE)\n"
            "p.stdout.readline()\n"
            "print('child ready', flush=True)\n"
            "p.wait()\n" % child)
    msg_id = kc.execute(code)
    while "child ready" not in h.stream_text([kc.get_iopub_msg(timeout=30)]):
        pass
    kc.control_channel.send(kc.session.msg("interrupt_request", {}))
    h.shell_reply(kc, msg_id, timeout=30)
    assert h.wait_until(flag.exists, 10), "the runtime's child got no SIGINT"
    flag.unlink()
