#!/usr/bin/python3
"""gen_vectors.py — signature vectors from Debian's real jupyter_client Session.

Writes tests/unit/vectors/signatures.json (or the path given as argv[1]): wire
messages serialized by jupyter_client.session.Session, each with the verdict of
a fresh Session's deserialize on it. The C tests (test_signer.c, test_message.c)
read the committed file, so they need no Python at run time;
test_vectors_fresh.py regenerates it and compares, so drift is caught.

Everything is deterministic: fixed keys, session ids, msg_ids and dates.

File format (JSON object, key "vectors", a list of cases):
    name          what the case is
    key_hex       the HMAC key bytes in hex ("" = unsigned session)
    frames        the wire frames in order: {"utf8": text} or {"hex": bytes}
    n_ids         identity frames before "<IDS|MSG>"
    n_buffers     buffer frames after the content
    signature     the signature frame as text (lowercase hex, or "")
    valid         1 when jupyter_client's Session.deserialize accepts it
    msg_id, msg_type, session, date   from the header (valid cases only)
Run with /usr/bin/python3 (Debian's jupyter_client).
"""
import binascii
import copy
import datetime
import json
import sys

from jupyter_client.session import DELIM, Session

SESSION_ID = "6f1c2a4e-0b7d-4c1e-9a53-2d8e7f60b911"
DATE = datetime.datetime(2026, 11, 26, 16, 2, 34, 123456, tzinfo=datetime.timezone.utc)


def make_session(key):
    return Session(key=key, signature_scheme="hmac-sha256", session=SESSION_ID,
                   username="vector", check_pid=False)


def build(key, msg_type, content, msg_id, parent=None, idents=(), buffers=(), metadata=None):
    """A message as Session.serialize writes it, with fixed ids and date."""
    s = make_session(key)
    header = s.msg_header(msg_type)
    header["msg_id"] = msg_id
    header["date"] = DATE
    msg = s.msg(msg_type, content=content, parent=parent or {}, header=header,
                metadata=metadata or {})
    frames = s.serialize(msg, ident=list(idents))
    frames.extend(buffers)
    return frames


def accepted(key, frames):
    """jupyter_client's own verdict: does a fresh Session deserialize it?"""
    s = make_session(key)
    try:
        idents, rest = s.feed_identities(frames, copy=True)
        s.deserialize(rest, content=True, copy=True)
    except (ValueError, TypeError, KeyError):
        return 0
    return 1


def frame_json(b):
    try:
        text = b.decode("utf8")
        # Only plain JSON text goes as utf8; identities and buffers go as hex.
        if text and text[0] in "{[":
            return {"utf8": text}
    except UnicodeDecodeError:
        pass
    return {"hex": binascii.hexlify(b).decode("ascii")}


def case(name, key, frames, n_ids, n_buffers):
    d = frames.index(DELIM)
    assert d == n_ids
    header = json.loads(frames[d + 2].decode("utf8"))
    valid = accepted(key, frames)
    out = {
        "name": name,
        "key_hex": binascii.hexlify(key).decode("ascii"),
        "frames": [frame_json(f) for f in frames],
        "n_ids": n_ids,
        "n_buffers": n_buffers,
        "signature": frames[d + 1].decode("ascii", errors="replace"),
        "valid": valid,
    }
    if valid:
        out.update(msg_id=header["msg_id"], msg_type=header["msg_type"],
                   session=header["session"], date=header["date"])
    return out


def tampered(frames, index, new):
    f = list(frames)
    f[index] = new
    return f


def main():
    vectors = []
    key1 = b"secret-key-1"
    key_uuid = b"a0436f6c-1916-498b-8eb9-e81ab9368e84"  # the form jupyter_client generates
    key_unicode = "ключ-🔑".encode("utf8")
    key_long = bytes(range(256)) * 2  # longer than SHA-256's block: hashed first by HMAC

    parent = {"msg_id": "p-1", "msg_type": "execute_request", "session": "client-session",
              "username": "user", "date": "2026-11-26T16:00:00.000001Z", "version": "5.3"}

    f = build(key1, "execute_request", {"code": "1+1", "silent": False}, "m-0001",
              idents=[b"client-1"])
    vectors.append(case("ascii key, one identity", key1, f, 1, 0))

    f = build(key_uuid, "kernel_info_request", {}, "m-0002",
              idents=[b"\x00\x80\x00\x41\xa7", b"router-2"])
    vectors.append(case("uuid key, two binary identities", key_uuid, f, 2, 0))

    f = build(b"", "execute_request", {"code": "print(1)"}, "m-0003")
    vectors.append(case("empty key: unsigned", b"", f, 0, 0))
    vectors.append(case("empty key: any signature frame is ignored", b"",
                        tampered(f, 1, b"not-a-signature"), 0, 0))

    f = build(key_unicode, "execute_request",
              {"code": "print('héllo ✓ 日本語 🎉')", "user_expressions": {"ü": "ß"}},
              "m-0004", parent=parent, idents=[b"c"])
    vectors.append(case("unicode key and content", key_unicode, f, 1, 0))

    f = build(key_long, "status", {"execution_state": "busy"}, "m-0005", parent=parent)
    vectors.append(case("512-byte key, iopub status with parent", key_long, f, 0, 0))

    big = "".join("line %06d of a large stream output\n" % i for i in range(8000))
    f = build(key1, "stream", {"name": "stdout", "text": big}, "m-0006", parent=parent)
    vectors.append(case("large content (%d bytes)" % len(f[-1]), key1, f, 0, 0))

    bufs = [b"\x00\x01\x02\xff" * 16, b"", "bü".encode("utf8")]
    f = build(key_uuid, "comm_msg", {"comm_id": "c1", "data": {}}, "m-0007",
              idents=[b"id"], buffers=bufs, metadata={"buffer_paths": [["a"], ["b"], ["c"]]})
    vectors.append(case("three buffers (not signed)", key_uuid, f, 1, 3))
    vectors.append(case("buffer changed: still valid (buffers are not signed)", key_uuid,
                        tampered(f, len(f) - 3, b"\xff" * 64), 1, 3))

    # Invalid ones, with jupyter_client's verdict recorded.
    base = build(key1, "execute_request", {"code": "x = 2"}, "m-0008", idents=[b"z"])
    d = base.index(DELIM)
    sig = base[d + 1]
    vectors.append(case("content changed", key1,
                        tampered(base, d + 5, b'{"code": "x = 3"}'), 1, 0))
    vectors.append(case("header changed", key1,
                        tampered(base, d + 2, base[d + 2].replace(b"m-0008", b"m-0009")), 1, 0))
    vectors.append(case("metadata changed", key1, tampered(base, d + 4, b'{"a": 1}'), 1, 0))
    vectors.append(case("parent changed", key1, tampered(base, d + 3, b'{"msg_id": "q"}'), 1, 0))
    vectors.append(case("signature uppercase hex", key1, tampered(base, d + 1, sig.upper()), 1, 0))
    vectors.append(case("signature empty", key1, tampered(base, d + 1, b""), 1, 0))
    vectors.append(case("signature 63 characters", key1, tampered(base, d + 1, sig[:63]), 1, 0))
    vectors.append(case("signature 65 characters", key1, tampered(base, d + 1, sig + b"0"), 1, 0))
    flipped = sig[:10] + (b"0" if sig[10:11] != b"0" else b"1") + sig[11:]
    vectors.append(case("signature one digit wrong", key1, tampered(base, d + 1, flipped), 1, 0))
    vectors.append(case("signed with another key", key_uuid, copy.copy(base), 1, 0))

    text = json.dumps({"generator": "tests/unit/gen_vectors.py", "vectors": vectors},
                      ensure_ascii=False, indent=1) + "\n"
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/unit/vectors/signatures.json"
    with open(path, "w", encoding="utf8") as out:
        out.write(text)


if __name__ == "__main__":
    main()
