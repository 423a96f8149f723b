"""fakekube.podnet: the TCP connections fakekube's pods make, seen from /proc while a test runs.

fakekube's pods share the host's network (each has a loopback address of its own), so who
connects to whom can be read off the kernel: every socket of a pod's processes (their
/proc/PID/fd links) is looked up in /proc/net/tcp.  A pod's established socket whose local
port is not one the pod listens on is a connection it made: to a pod (by the destination
address), to the API server (the fake's address and port), or elsewhere.  An established
socket on a listening port whose peer is no pod's socket, in two samples in a row, is a
connection from the host: the launcher, which in a cluster runs in the Jupyter server's pod.  A connection between two
processes of the same pod (PySpark's JVM and Python workers over 127.0.0.1) stays inside the
pod in a cluster and is left out: its destination is a port the pod listens on, or the other
end of the connection is a socket of the pod (Py4J's and PySpark's one-shot servers accept
once and close their listening socket).  A connection to a loopback address that none of
that places is counted only when two samples in a row say so, as for the host: the pod's
other end may have been made between reading its processes' descriptors and the socket
table.

    log = ConnectionLog(fake).start()  ...  log.stop()
    log.connections -> {(source, destination, port)}; source and destination are
        ("pod", namespace, name), ("host",) or ("api",) or ("ip", address)
    log.pods -> {(namespace, name): the pod object as last seen}

Sampled every 0.1 s: a connection that opens and closes between two samples is missed (Spark
keeps its connections open and reuses them); what is seen is what the policies must allow."""

import os
import socket
import struct
import threading


def _endpoint(text):
    ip_hex, port_hex = text.split(":")
    raw = bytes.fromhex(ip_hex)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, struct.pack("<I", struct.unpack(">I", raw)[0]))
    else:
        words = struct.unpack(">4I", raw)
        ip = socket.inet_ntop(socket.AF_INET6, struct.pack("<4I", *words))
        if ip.startswith("::ffff:"):
            ip = ip[7:]
    return ip, int(port_hex, 16)


def tcp_sockets():
    """inode -> (local (ip, port), remote (ip, port), state) for every TCP socket here."""
    out = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    out[int(cols[9])] = (_endpoint(cols[1]), _endpoint(cols[2]), cols[3])
        except OSError:
            pass
    return out


def socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    except OSError:
        pass
    return inodes


ESTABLISHED, LISTEN = "01", "0A"


class ConnectionLog(threading.Thread):
    def __init__(self, fake, interval=0.1):
        super().__init__(daemon=True, name="podnet")
        self.fake, self.interval = fake, interval
        self.connections = set()
        self.pods = {}
        self._seen = set()  # what the last sample left undecided (classify)
        self._halt = threading.Event()

    def start(self):
        super().start()
        return self

    def stop(self):
        self._halt.set()
        self.join(10)
        self.sample()

    def run(self):
        while not self._halt.wait(self.interval):
            try:
                self.sample()
            except Exception:  # a pod ending under our feet: next sample
                pass

    def sample(self):
        for p in self.fake.objects("pods"):
            self.pods[(p["metadata"]["namespace"], p["metadata"]["name"])] = p
        by_ip = {p.get("status", {}).get("podIP"): key for key, p in self.pods.items()
                 if p.get("status", {}).get("podIP")}
        owner = {}
        for w in self.fake.pod_workers():
            for pid in w.live_pids():
                for inode in socket_inodes(pid):
                    owner[inode] = ("pod", w.namespace, w.name)
        found, self._seen = classify(owner, tcp_sockets(), by_ip, ("127.0.0.1", self.fake.port), self._seen)
        self.connections |= found


LOOPBACK = ("127.", "::1")


def classify(owner, sockets, by_ip, api, seen):
    """The connections one sample shows (see the module's docstring): OWNER, socket inode ->
    ("pod", namespace, name); SOCKETS, tcp_sockets(); BY_IP, pod IP -> (namespace, name); API,
    the API server's (ip, port); SEEN, what the last sample left undecided.  Returns the
    connections found and what this sample leaves undecided, for the next."""
    listening = {(owner[i], s[0][1]) for i, s in sockets.items() if s[2] == LISTEN and i in owner}
    listeners = {s[0]: owner[i] for i, s in sockets.items() if s[2] == LISTEN and i in owner}
    ends = {s[0]: owner[i] for i, s in sockets.items() if i in owner}  # every pod socket's own end
    found, undecided = set(), set()
    for inode, (local, remote, state) in sockets.items():
        if state != ESTABLISHED or inode not in owner:
            continue
        me = owner[inode]
        if (me, local[1]) in listening:
            if remote not in ends:  # a process on the host made it: the launcher
                # ... when two samples in a row say so: a pod's socket made between
                # reading its processes' descriptors and the socket table has no owner
                # yet in this sample, and would pass for the host's
                undecided.add(("host", local, remote))
                if ("host", local, remote) in seen:
                    found.add((("host",), me, local[1]))
            continue
        target = listeners.get(remote) or listeners.get(("0.0.0.0", remote[1])) or \
            listeners.get(("::", remote[1]))
        if target == me or ends.get(remote) == me:
            continue  # within the pod (its loopback in a cluster: no policy applies)
        if remote == api:
            dst = ("api",)
        elif remote[0] in by_ip:
            dst = ("pod",) + by_ip[remote[0]]
        else:
            dst = ("ip", remote[0])
            if remote[0].startswith(LOOPBACK) and ends.get(remote) is None:
                # the other end may be this pod's, made after its descriptors were read
                undecided.add(("loopback", local, remote))
                if ("loopback", local, remote) not in seen:
                    continue
        found.add((me, dst, remote[1]))
    return found, undecided
