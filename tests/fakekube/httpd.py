"""fakekube.httpd: the HTTPS front of fakekube: TLS per connection, bearer-token/client-certificate
authentication, routing of /api/v1 paths to the FakeKube object, watch streams (chunked, one JSON
event per line), pods/log, and the /fake/* endpoints for out-of-process fault injection."""

import base64
import copy
import hashlib
import http.server
import json
import os
import select
import ssl
import struct
import sys
import time
import urllib.parse
import uuid

from . import discovery
from .api import (RESOURCES, ApiError, already_exists, api_version, bad_request, conflict, forbidden,
                          gone, internal_error, invalid, matches, not_found, parse_field_selector,
                          parse_label_selector, quota_exceeded, Request)
from .rbac import Identity


class HTTPServer(http.server.ThreadingHTTPServer):
    """A thread per connection; `fake` is the FakeKube that owns the objects."""
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, fake):
        self.fake = fake
        super().__init__(addr, _Handler)

    def finish_request(self, request, client_address):
        # the TLS handshake happens in the request's own thread, so a slow client blocks nobody
        try:
            request.settimeout(30)
            tls = self.fake._ssl.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except (ssl.SSLError, OSError):
            return
        with self.fake._conns_lock:
            self.fake._conns.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            with self.fake._conns_lock:
                self.fake._conns.discard(tls)
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _WebSocket:
    """A watch over WebSocket (RFC 6455), as client-go and fabric8 ask for it with
    `Upgrade: websocket`: the API server answers 101 and sends each watch event as one
    text frame; a close frame ends the stream.  The client's frames are read only to
    notice a close (and answer pings)."""

    GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, handler):
        self.h = handler
        key = handler.headers.get("Sec-WebSocket-Key", "").strip().encode()
        if not key or handler.headers.get("Sec-WebSocket-Version", "").strip() != "13":
            raise bad_request("websocket: Sec-WebSocket-Key and Sec-WebSocket-Version 13 are required")
        accept = base64.b64encode(hashlib.sha1(key + self.GUID).digest()).decode()
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept)
        offered = [p.strip() for p in handler.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        if offered:  # the API server speaks plain JSON frames to a client that offers nothing else
            handler.send_header("Sec-WebSocket-Protocol", offered[0])
        handler.end_headers()
        handler.wfile.flush()
        self.closed = False

    def _frame(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        self.h.wfile.write(head + payload)
        self.h.wfile.flush()

    def send(self, data):
        self._frame(0x1, data)

    def close(self, code=1000):
        if not self.closed:
            self.closed = True
            self._frame(0x8, struct.pack("!H", code))

    def client_gone(self):
        """Read what the client sent (without blocking): True once it closed."""
        sock = self.h.connection
        try:
            while select.select([sock], [], [], 0)[0]:
                head = self.h.rfile.read(2)
                if len(head) < 2:
                    return True
                opcode, n = head[0] & 0x0F, head[1] & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self.h.rfile.read(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self.h.rfile.read(8))[0]
                mask = self.h.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.h.rfile.read(n)))
                if opcode == 0x8:
                    self.close()
                    return True
                if opcode == 0x9:
                    self._frame(0xA, data)
        except (OSError, ValueError, struct.error):
            return True
        return False


class _DropConnection(Exception):
    pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakekube/1.32"

    def log_message(self, fmt, *args):
        if os.environ.get("FAKEKUBE_DEBUG"):
            sys.stderr.write("fakekube: " + fmt % args + "\n")

    @property
    def fake(self):
        return self.server.fake

    def _send_json(self, code, obj, extra_headers=()):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _identity(self):
        """Who sends this request (rbac.Identity), or None: a bearer token, else the
        CN of a client certificate signed by the fake's CA."""
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return self.fake.authorizer.identity_of_token(auth[7:].strip())
        try:
            cert = self.connection.getpeercert()
        except (ValueError, AttributeError):
            cert = None
        if cert and not auth:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        groups = [v2 for rdn2 in cert.get("subject", ()) for k2, v2 in rdn2
                                  if k2 == "organizationName"]
                        return Identity(v, groups + ["system:authenticated"])
        return None

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def _dispatch(self, method):
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        raw = self._read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        req = Request(method=method, path=parsed.path, query=query, body=body, time=time.time())
        self.fake.record(req)  # at once, so a watch still streaming is visible; code comes later
        try:
            self._route(method, parsed.path, query, body, raw, req)
        except ApiError as e:
            req.code = e.code
            self._send_json(e.code, e.status())
        except _DropConnection:
            self.close_connection = True
        except (BrokenPipeError, ConnectionError, ssl.SSLError):
            self.close_connection = True
        except Exception as e:  # a bug in the fake: answer like the API server would, and say so
            import traceback
            traceback.print_exc()
            req.code = 500
            self._send_json(500, internal_error("fakekube: %s: %s" % (type(e).__name__, e)).status())

    def _route(self, method, path, query, body, raw, req):
        fake = self.fake
        if path in ("/healthz", "/livez", "/readyz"):
            req.code = 200
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(data)
            return
        if path == "/version":
            req.code = 200
            return self._send_json(200, discovery.VERSION)
        ident = self._identity()
        req.user = ident.user if ident else None
        if ident is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if path.startswith("/fake/"):
            return self._route_fake(method, path, query, body, req)
        if path == "/openapi/v2" and method == "GET":
            # kubectl reads it (protobuf only) before any apply; an OpenAPI v2 document with
            # no definitions makes its client-side check pass every kind to the server, which
            # validates strictly (see discovery.py)
            req.code, req.verb = 200, "discovery"
            data = discovery.OPENAPI_V2_PROTOBUF
            self.send_response(200)
            self.send_header("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        doc = discovery.document(path, fake.port)
        if doc is not None and method == "GET":
            req.code, req.verb = 200, "discovery"
            return self._send_json(200, doc)
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 3 and parts[:2] == ["api", "v1"]:
            group, rest = "", parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis" and parts[2] == "v1":
            group, rest = parts[1], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        watch_path = False
        if rest[0] == "watch":
            watch_path, rest = True, rest[1:]
        ns = name = sub = None
        if rest and rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        elif rest and rest[0] == "namespaces" and group == "":
            return self._namespaces(method, rest[1] if len(rest) == 2 else None, ident, req)
        if not rest or rest[0] not in RESOURCES or RESOURCES[rest[0]][3] != group or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        resource = rest[0]
        if len(rest) >= 2:
            name = rest[1]
        if len(rest) == 3:
            sub = rest[2]
            if resource != "pods" or sub not in ("log", "status") or method != "GET":
                raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        watching = watch_path or query.get("watch") in ("1", "true", "True")
        if method == "GET":
            verb = "watch" if watching else ("get" if name else "list")
        elif method == "POST" and not name:
            verb = "create"
        elif method == "DELETE":
            verb = "delete" if name else "deletecollection"
        elif method == "PATCH" and name:
            verb = "patch"
        elif method == "PUT" and name:
            verb = "update"
        else:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        req.verb, req.resource, req.namespace, req.name, req.subresource = verb, resource, ns, name, sub
        if verb == "create" and isinstance(body, dict):
            req.name = (body.get("metadata") or {}).get("name")
        if not fake.authorizer.allowed(ident, verb, group, resource, sub, ns, name):
            raise forbidden(ident.user, verb, resource, ns, name if verb not in ("create", "list", "watch",
                                                                                 "deletecollection") else None, sub)
        rule = fake.faults.take_http(verb, resource + ("/" + sub if sub else ""), req.name, ns)
        if rule is not None:
            req.fault = True
            raise self._fault_error(rule, ident.user, verb, resource, ns, req.name, sub)
        if ns is None and verb not in ("list", "watch"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if verb == "create":
            obj = fake.api_create(resource, ns, body)
            req.name = obj["metadata"]["name"]
            req.code = 201
            return self._send_json(201, obj)
        if verb == "get":
            obj = fake.api_get(resource, ns, name)
            if sub == "log":
                return self._send_log(obj, query, req)
            req.code = 200
            return self._send_object(obj, resource)
        if verb == "list":
            req.code = 200
            return self._send_object(fake.api_list(resource, ns, query), resource, listing=True)
        if verb == "watch":
            if name:
                query = dict(query)
                query["fieldSelector"] = ",".join(x for x in (query.get("fieldSelector"), "metadata.name=" + name) if x)
            return self._watch(resource, ns, query, req)
        if verb == "patch":
            out = fake.api_patch(resource, ns, name, self.headers.get("Content-Type"), body)
            req.code = 200
            return self._send_json(200, out)
        if verb == "update":
            out = fake.api_update(resource, ns, name, body)
            req.code = 200
            return self._send_json(200, out)
        options = body if isinstance(body, dict) else {}
        options = dict(options)
        for k in ("gracePeriodSeconds", "propagationPolicy", "orphanDependents"):
            if k in query:
                options[k] = int(query[k]) if k == "gracePeriodSeconds" else (
                    query[k] in ("true", "1") if k == "orphanDependents" else query[k])
        if verb == "delete":
            out = fake.api_delete(resource, ns, name, options)
            req.code = 200
            return self._send_json(200, out)
        # deletecollection
        listing = fake.api_list(resource, ns, query)
        items = []
        for o in listing["items"]:
            try:
                fake.api_delete(resource, o["metadata"]["namespace"], o["metadata"]["name"], options)
                o["kind"], o["apiVersion"] = RESOURCES[resource][0], api_version(resource)
                items.append(o)
            except ApiError:
                pass
        req.code = 200
        listing["items"] = items
        return self._send_json(200, listing)

    def _namespaces(self, method, name, ident, req):
        """Namespaces: get and list (a cluster-scoped resource only the admin may read)."""
        fake = self.fake
        verb = "get" if name else "list"
        req.verb, req.resource, req.name = verb, "namespaces", name
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if not ident.admin:
            raise forbidden(ident.user, verb, "namespaces", None, name)

        def ns_obj(n):
            return {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": n, "labels": {
                "kubernetes.io/metadata.name": n}}, "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"}}
        req.code = 200
        if name:
            if name not in fake.namespaces:
                raise not_found("namespaces", name)
            return self._send_json(200, ns_obj(name))
        return self._send_json(200, {"kind": "NamespaceList", "apiVersion": "v1",
                                     "metadata": {"resourceVersion": str(fake.store.rv)},
                                     "items": [ns_obj(n) for n in sorted(fake.namespaces)]})

    def _send_object(self, obj, resource, listing=False):
        """An object or list, or the Table kubectl asks for (server-side printing)."""
        if "as=Table" in self.headers.get("Accept", ""):
            return self._send_json(200, discovery.table(resource, obj, listing),)
        return self._send_json(200, obj)

    def _fault_error(self, rule, user, verb, resource, ns, name, sub):
        code, msg, reason = rule["code"], rule["message"], rule["reason"]
        kind = RESOURCES[resource][0]
        if code == 403 and reason == "QuotaExceeded":
            return quota_exceeded(resource, name, msg)
        if code == 403:
            e = forbidden(user, verb, resource, ns, name if verb not in ("create", "list", "watch") else None, sub)
            if msg:
                e.message = msg
            return e
        if code == 409:
            e = already_exists(resource, name or "") if verb == "create" else conflict(resource, name or "")
        elif code == 422:
            e = invalid(kind, name or "", [("spec", "FieldValueInvalid", "Invalid value: fakekube injected fault")])
            if msg:
                e.message = msg
        elif code == 404:
            e = not_found(resource, name or "")
        elif code == 500:
            e = internal_error(msg or "fakekube injected fault")
        else:
            reasons = {400: "BadRequest", 401: "Unauthorized", 405: "MethodNotAllowed", 410: "Expired",
                       429: "TooManyRequests", 503: "ServiceUnavailable", 504: "Timeout"}
            e = ApiError(code, reasons.get(code, "Unknown"), msg or "fakekube injected fault")
        if msg and code != 500:
            e.message = msg
        if reason and reason != "QuotaExceeded":
            e.reason = reason
        return e

    def _send_log(self, pod, query, req):
        fake = self.fake
        with fake._kubelet_lock:
            w = fake._kubelets.get(pod["metadata"]["uid"])
        container = query.get("container") or pod["spec"]["containers"][0]["name"]
        names = [c["name"] for c in pod["spec"]["containers"]]
        if container not in names:
            raise bad_request("container %s is not valid for pod %s" % (container, pod["metadata"]["name"]))
        if w is None or not w.log_path or not os.path.exists(w.log_path) or container != names[0]:
            raise bad_request('container "%s" in pod "%s" is waiting to start: ContainerCreating'
                              % (container, pod["metadata"]["name"]))
        if query.get("follow") in ("true", "1", "True"):
            return self._follow_log(w, req)
        with open(w.log_path, "rb") as f:
            data = f.read()
        if query.get("tailLines"):
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-int(query["tailLines"]):]) if int(query["tailLines"]) else b""
        req.code = 200
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _follow_log(self, worker, req):
        """follow=true: stream the log (chunked) until the container stops, as the kubelet does."""
        req.code = 200
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        store = self.fake.store
        with open(worker.log_path, "rb") as f:
            while True:
                data = f.read(65536)
                if data:
                    self._write_chunk(data)
                    continue
                if worker.done or worker.exit_code is not None or store.stopping:
                    data = f.read()
                    if data:
                        self._write_chunk(data)
                    break
                with store.cond:
                    store.cond.wait(0.1)
        self._write_chunk(b"")

    def _client_gone(self):
        """Has the client of a long-running response closed its end?"""
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            sock.settimeout(0.05)
            return sock.recv(1) == b""
        except (ssl.SSLWantReadError, TimeoutError, BlockingIOError):
            return False
        except (OSError, ValueError):
            return True
        finally:
            try:
                sock.settimeout(None)
            except OSError:
                pass

    def _write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _watch(self, resource, ns, query, req):
        fake, store = self.fake, self.fake.store
        lp = parse_label_selector(query.get("labelSelector", ""))
        fp = parse_field_selector(resource, query.get("fieldSelector", ""))
        rv_param = query.get("resourceVersion", "")
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true", "True")
        kind = RESOURCES[resource][0]
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        drop = fake.faults.take_watch_drop(resource)
        forced_gone = rv_param not in ("", "0") and fake.faults.take_watch_gone(resource) is not None
        stream = _WebSocket(self) if self.headers.get("Upgrade", "").lower() == "websocket" else None
        req.code = 101 if stream else 200
        if stream is None:
            self.send_response(200)
            self.send_header("Audit-Id", str(uuid.uuid4()))
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
        sent = 0

        def emit(typ, obj):
            nonlocal sent
            if drop is not None and sent >= drop["after"]:
                return False
            line = json.dumps({"type": typ, "object": obj}, separators=(",", ":")).encode() + b"\n"
            if stream:
                stream.send(line)
            else:
                self._write_chunk(line)
            sent += 1
            return True

        def finish():
            if drop is not None and drop["abrupt"]:
                raise _DropConnection()
            if stream:
                stream.close()
                self.close_connection = True
            else:
                self._write_chunk(b"")

        if drop is not None and drop["after"] == 0:
            return finish()
        with store.cond:
            if rv_param in ("", "0"):
                start_rv = store.rv
                initial = [o for (r, n, _), o in sorted(store.objects.items())
                           if r == resource and (ns is None or n == ns) and matches(o, lp, fp)]
                initial = copy.deepcopy(initial)
            else:
                try:
                    start_rv = int(rv_param)
                except ValueError:
                    raise bad_request('invalid resource version: %s' % rv_param)
                initial = []
                if forced_gone or start_rv < store.oldest_rv:
                    err = gone(rv_param, store.oldest_rv if not forced_gone else store.rv)
                    emit("ERROR", err.status())
                    return finish()
        for o in initial:
            if not emit("ADDED", o):
                return finish()
        pos_rv = last_sent = start_rv
        while True:
            batch = []
            with store.cond:
                while True:
                    if store.stopping:
                        return finish()
                    if pos_rv < store.oldest_rv:  # history was compacted under us
                        emit("ERROR", gone(pos_rv, store.oldest_rv).status())
                        return finish()
                    batch = [h for h in store.history if h[0] > pos_rv]
                    if batch:
                        break
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return finish()
                    if not store.cond.wait(min(left, 1.0)):
                        if (stream.client_gone() if stream else self._client_gone()):
                            raise _DropConnection()  # nobody listens: end this thread
                        if bookmarks and pos_rv > last_sent:
                            break  # idle for a while: tell the client how far it has got
            if not batch:
                last_sent = pos_rv
                if not emit("BOOKMARK", {"kind": kind, "apiVersion": "v1",
                                         "metadata": {"resourceVersion": str(pos_rv)}}):
                    return finish()
                continue
            for rv, typ, r, n, obj, prev in batch:
                pos_rv = rv
                if r != resource or (ns is not None and n != ns):
                    continue
                now_m = matches(obj, lp, fp)
                if typ == "MODIFIED":
                    was = prev is not None and matches(prev, lp, fp)
                    if was and not now_m:
                        typ, now_m = "DELETED", True
                    elif now_m and not was:
                        typ = "ADDED"
                if not now_m:
                    continue
                if not emit(typ, obj):
                    return finish()
                last_sent = rv
            if time.monotonic() >= deadline:
                return finish()

    def _route_fake(self, method, path, query, body, req):
        fake = self.fake
        req.verb = "fake"
        if path == "/fake/faults" and method == "POST":
            fake.faults.apply(body if isinstance(body, dict) else {})
            req.code = 200
            return self._send_json(200, {"ok": True})
        if path == "/fake/faults" and method == "DELETE":
            fake.faults.clear()
            req.code = 200
            return self._send_json(200, {"ok": True})
        if path == "/fake/requests" and method == "GET":
            req.code = 200
            with fake._req_lock:
                reqs = [r.as_dict() for r in fake.requests]
            return self._send_json(200, {"requests": reqs})
        if path == "/fake/leftovers" and method == "GET":
            req.code = 200
            return self._send_json(200, {"leftovers": fake.leftovers()})
        raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
