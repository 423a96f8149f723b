#!/usr/bin/python3
"""zmq_proxy_relay.py — the bench's reference relay: libzmq's own zmq_proxy, one per channel.

usage: zmq_proxy_relay.py FRONT_CONNECTION_FILE BACK_CONNECTION_FILE

Binds shell and control (ROUTER) and iopub (XPUB) of FRONT and connects them to
BACK's channels (DEALER, DEALER, XSUB), with no high-water marks, and relays with
zmq.proxy (libzmq's C loop; the GIL is released). It knows nothing of Jupyter:
it shows what one extra ZMQ hop costs on this machine, the floor under any relay,
so `make bench` can tell the launcher's own cost from the hop's. It runs until
SIGTERM; "ready" on stdout says the sockets are bound.
"""

import json
import os
import signal
import sys
import threading

import zmq


def endpoint(conn, channel):
    port = conn[channel + "_port"]
    if conn["transport"] == "tcp":
        return "tcp://%s:%d" % (conn["ip"], port)
    return "ipc://%s-%d" % (conn["ip"], port)


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        front = json.load(f)
    with open(sys.argv[2]) as f:
        back = json.load(f)
    ctx = zmq.Context()
    pairs = []
    for channel, front_type, back_type in (("shell", zmq.ROUTER, zmq.DEALER),
                                           ("control", zmq.ROUTER, zmq.DEALER),
                                           ("iopub", zmq.XPUB, zmq.XSUB)):
        sockets = []
        for sock_type in (front_type, back_type):
            s = ctx.socket(sock_type)
            s.setsockopt(zmq.SNDHWM, 0)
            s.setsockopt(zmq.RCVHWM, 0)
            s.setsockopt(zmq.LINGER, 0)
            sockets.append(s)
        sockets[0].bind(endpoint(front, channel))
        sockets[1].connect(endpoint(back, channel))
        pairs.append(sockets)
    for f_sock, b_sock in pairs:
        threading.Thread(target=zmq.proxy, args=(f_sock, b_sock), daemon=True).start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    # The proxies block inside libzmq with the sockets open, so the context could
    # never terminate: leave without finalizing (the kernel closes every socket).
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
