#!/usr/bin/python3
"""make_seeds.py — seed inputs for fuzz_message.c from the signature vectors.

Writes tests/fuzz/seeds/: each small jupyter_client vector in the harness's message
layout (byte 0 even, then length-prefixed frames), and a few connection files
(byte 0 odd, then the file). Run from the repository root with /usr/bin/python3."""
import binascii
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")


def frames_input(frames):
    out = bytearray(b"\x00")
    for f in frames:
        if len(f) < 0xff:
            out.append(len(f))
        else:
            out += b"\xff" + len(f).to_bytes(2, "little")
        out += f
    return bytes(out)


def main():
    os.makedirs(SEEDS, exist_ok=True)
    with open(os.path.join(HERE, "..", "unit", "vectors", "signatures.json"), encoding="utf8") as f:
        vectors = json.load(f)["vectors"]
    n = 0
    for v in vectors:
        frames = [x["utf8"].encode("utf8") if "utf8" in x else binascii.unhexlify(x["hex"])
                  for x in v["frames"]]
        if sum(map(len, frames)) > 4096:
            continue
        with open(os.path.join(SEEDS, "message-%02d" % n), "wb") as out:
            out.write(frames_input(frames))
        n += 1
    ports = ('"shell_port": 5001, "iopub_port": 5002, "stdin_port": 5003, '
             '"control_port": 5004, "hb_port": 5005')
    files = [
        '{"transport": "tcp", "ip": "127.0.0.1", "key": "k", '
        '"signature_scheme": "hmac-sha256", "kernel_name": "spark-4.1-baseline", %s}' % ports,
        '{"transport": "ipc", "ip": "/tmp/kernel", "key": "", %s}' % ports,
        '{"ip": "::1", "key": "\\u043a", %s}' % ports,
    ]
    for i, text in enumerate(files):
        with open(os.path.join(SEEDS, "connection-%02d" % i), "wb") as out:
            out.write(b"\x01" + text.encode("utf8"))


if __name__ == "__main__":
    main()
