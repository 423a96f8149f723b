"""fakekube.server: the fake API server's core: faults, the object store with
resourceVersions and history, garbage collection, certificates, kubeconfig, and the
FakeKube object that ties them to the HTTP server (httpd.py) and the kubelet
(kubelet.py). README.md says what of the Kubernetes API it serves and what it does not.
"""

import argparse
import base64
import copy
import datetime
import fnmatch
import ipaddress
import json
import os
import random
import signal
import socket
import ssl
import threading
import time
import uuid

from . import httpd
from . import patch as patches
from .api import (DEFAULT_UNSCHEDULABLE, RESOURCES, SYSTEM_NAMES, ApiError,
                  Validator, already_exists, api_version, bad_request, conflict, invalid, not_found,
                  now_rfc3339, resource_of, matches, parse_field_selector, parse_label_selector, _qv)
from .rbac import Authorizer


SETUP_RESOURCES = ("serviceaccounts", "roles", "rolebindings", "networkpolicies")

# ---------------------------------------------------------------------------------------------
# Faults


class Faults:
    """Fault injection, set per test.  Out of process: POST /fake/faults {"fault": NAME, ...args}
    (NAME is one of the public method names below), DELETE /fake/faults clears them."""

    def __init__(self, server):
        self._server = server
        self._lock = threading.Lock()
        self.clear()

    def clear(self):
        with self._lock:
            self.image_pulls = []      # (image glob, message)
            self.unschedulables = []   # (pod glob, namespace or None, message)
            self.http_rules = []       # dicts
            self.watch_drops = []      # dicts
            self.watch_gones = []      # dicts
            self.start_errors = []     # (pod glob, message)
            self.delays = {"schedule": 0.0, "pull": 0.0, "create": 0.0, "start": 0.0, "ready": 0.0}
            for gate in getattr(self, "gates", {}).values():
                gate.set()             # nothing stays held by a cleared fault
            self.gates = {}            # phase -> threading.Event
        self._server._wake_pods()

    # pod lifecycle faults
    def image_pull_failure(self, image="*", message=None):
        """Pulls of images matching the glob fail: ErrImagePull, then ImagePullBackOff, repeating."""
        with self._lock:
            self.image_pulls.append((image, message))

    def unschedulable(self, pod="*", namespace=None, message=DEFAULT_UNSCHEDULABLE):
        """Pods matching stay Pending with FailedScheduling events until clear_unschedulable()."""
        with self._lock:
            self.unschedulables.append((pod, namespace, message))

    def clear_unschedulable(self):
        with self._lock:
            self.unschedulables = []
        self._server._wake_pods()

    def slow_start(self, schedule=0.0, pull=0.0, create=0.0, start=0.0, ready=0.0):
        """Seconds spent before scheduling, pulling, creating, starting, and before readiness."""
        with self._lock:
            self.delays = {"schedule": float(schedule), "pull": float(pull), "create": float(create),
                           "start": float(start), "ready": float(ready)}

    def hold(self, phase):
        """Pods wait before PHASE (schedule, pull, create, start) until the returned
        threading.Event is set: a test makes "the request is waiting" certain, not likely."""
        gate = threading.Event()
        with self._lock:
            self.gates[phase] = gate
        return gate

    def gate(self, phase):
        with self._lock:
            return self.gates.get(phase)

    def evict(self, name, namespace=None, message=None):
        """Evict a running pod now (kubelet node-pressure eviction)."""
        self._server._pod_action(namespace, name, "evict", message)

    def oom_kill(self, name, namespace=None):
        """OOM-kill a running pod's container now (exit 137, reason OOMKilled)."""
        self._server._pod_action(namespace, name, "oom", None)

    # API faults
    def http_error(self, code, verb="*", resource="*", name=None, namespace=None, count=1,
                   message=None, reason=None):
        """The next `count` requests (None: all, until cleared) matching verb/resource/name/
        namespace (globs) get this Status.  Verbs are RBAC's: get list watch create delete
        deletecollection."""
        with self._lock:
            self.http_rules.append({"code": int(code), "verb": verb, "resource": resource,
                                    "name": name, "namespace": namespace, "count": count,
                                    "message": message, "reason": reason})

    def forbidden(self, verb="*", resource="*", count=None, name=None, namespace=None):
        self.http_error(403, verb, resource, name, namespace, count)

    def quota_exceeded(self, resource="pods", verb="create", count=None, message=None):
        self.http_error(403, verb, resource, None, None, count,
                        message or "exceeded quota: compute-resources, requested: limits.memory=4Gi, "
                        "used: limits.memory=8Gi, limited: limits.memory=10Gi", "QuotaExceeded")

    def conflict(self, verb="create", resource="*", count=1):
        self.http_error(409, verb, resource, None, None, count)

    def invalid(self, verb="create", resource="*", count=1, message=None):
        self.http_error(422, verb, resource, None, None, count, message)

    def internal_error(self, verb="*", resource="*", count=1, message=None):
        self.http_error(500, verb, resource, None, None, count, message)

    def drop_watch(self, after=0, resource="*", count=1, abrupt=False):
        """The next `count` watches on resource end after `after` events: cleanly (end of the
        chunked stream, as at timeoutSeconds) or, with abrupt, by closing the connection."""
        with self._lock:
            self.watch_drops.append({"after": int(after), "resource": resource, "count": count,
                                     "abrupt": bool(abrupt)})

    def watch_gone(self, resource="*", count=1):
        """The next `count` watches on resource that name a resourceVersion get ERROR 410."""
        with self._lock:
            self.watch_gones.append({"resource": resource, "count": count})

    def compact(self):
        """Forget all history (like an etcd compaction): every older resourceVersion is gone."""
        self._server.store.compact()

    # internal lookups
    @staticmethod
    def _take(rules, pred):
        for r in rules:
            if pred(r):
                if r["count"] is not None:
                    r["count"] -= 1
                    if r["count"] <= 0:
                        rules.remove(r)
                return r
        return None

    def take_http(self, verb, resource, name, namespace):
        def pred(r):
            return (fnmatch.fnmatchcase(verb, r["verb"]) and fnmatch.fnmatchcase(resource, r["resource"])
                    and (r["name"] is None or fnmatch.fnmatchcase(name or "", r["name"]))
                    and (r["namespace"] is None or fnmatch.fnmatchcase(namespace or "", r["namespace"])))
        with self._lock:
            return self._take(self.http_rules, pred)

    def take_watch_drop(self, resource):
        with self._lock:
            return self._take(self.watch_drops, lambda r: fnmatch.fnmatchcase(resource, r["resource"]))

    def take_watch_gone(self, resource):
        with self._lock:
            return self._take(self.watch_gones, lambda r: fnmatch.fnmatchcase(resource, r["resource"]))

    def pull_failure(self, image):
        with self._lock:
            for glob, msg in self.image_pulls:
                if fnmatch.fnmatchcase(image, glob):
                    return msg or ""
        return None

    def unschedulable_message(self, namespace, name):
        with self._lock:
            for glob, ns, msg in self.unschedulables:
                if fnmatch.fnmatchcase(name, glob) and (ns is None or ns == namespace):
                    return msg
        return None

    def delay(self, phase):
        with self._lock:
            return self.delays.get(phase, 0.0)

    def apply(self, spec):
        """HTTP form: {"fault": "http_error", "code": 500, ...} or {"fault": "clear"}."""
        spec = dict(spec)
        name = spec.pop("fault", None)
        allowed = {"image_pull_failure", "unschedulable", "clear_unschedulable", "slow_start",
                   "evict", "oom_kill", "http_error", "forbidden", "quota_exceeded", "conflict",
                   "invalid", "internal_error", "drop_watch", "watch_gone", "compact", "clear"}
        if name not in allowed:
            raise bad_request("unknown fault %r; known: %s" % (name, ", ".join(sorted(allowed))))
        try:
            getattr(self, name)(**spec)
        except TypeError as e:
            raise bad_request("fault %s: %s" % (name, e))


# ---------------------------------------------------------------------------------------------
# Store: objects, resourceVersions, history for watches, garbage collection


class Store:
    def __init__(self, history=1000):
        self.cond = threading.Condition()
        self.rv = 100
        self.objects = {}            # (resource, ns, name) -> obj
        self.history = []            # (rv, type, resource, ns, obj, prev)
        self.history_limit = history
        self.oldest_rv = self.rv     # watches from an rv < this get 410
        self.stopping = False

    def _record(self, typ, resource, ns, obj, prev=None):
        self.history.append((self.rv, typ, resource, ns, copy.deepcopy(obj), prev))
        if len(self.history) > self.history_limit:
            drop = len(self.history) - self.history_limit
            self.oldest_rv = self.history[drop - 1][0]
            del self.history[:drop]
        self.cond.notify_all()

    def _bump(self, obj):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def compact(self):
        with self.cond:
            self.history = []
            self.oldest_rv = self.rv

    def insert(self, resource, ns, obj):
        with self.cond:
            key = (resource, ns, obj["metadata"]["name"])
            if key in self.objects:
                raise already_exists(resource, key[2])
            self._bump(obj)
            self.objects[key] = obj
            self._record("ADDED", resource, ns, obj)
            return copy.deepcopy(obj)

    def get(self, resource, ns, name):
        with self.cond:
            obj = self.objects.get((resource, ns, name))
            return copy.deepcopy(obj) if obj is not None else None

    def update(self, resource, ns, name, fn, uid=None):
        """Apply fn(obj) to a copy; store it with a new resourceVersion (MODIFIED).  Returns the
        new object, or None when the object is gone (or has another uid)."""
        with self.cond:
            cur = self.objects.get((resource, ns, name))
            if cur is None or (uid is not None and cur["metadata"].get("uid") != uid):
                return None
            new = copy.deepcopy(cur)
            if fn(new) is False:
                return copy.deepcopy(cur)
            self._bump(new)
            self.objects[(resource, ns, name)] = new
            self._record("MODIFIED", resource, ns, new, copy.deepcopy(cur))
            return copy.deepcopy(new)

    def remove(self, resource, ns, name, uid=None):
        with self.cond:
            cur = self.objects.get((resource, ns, name))
            if cur is None or (uid is not None and cur["metadata"].get("uid") != uid):
                return None
            del self.objects[(resource, ns, name)]
            gone_obj = copy.deepcopy(cur)
            self._bump(gone_obj)
            self._record("DELETED", resource, ns, gone_obj)
            return gone_obj

    def list(self, resource=None, ns=None):
        with self.cond:
            return [copy.deepcopy(o) for (r, n, _), o in sorted(self.objects.items())
                    if (resource is None or r == resource) and (ns is None or n == ns)], str(self.rv)

    def uids(self):
        with self.cond:
            return {o["metadata"]["uid"]: (r, n, o["metadata"]["name"])
                    for (r, n, _), o in self.objects.items()}


# ---------------------------------------------------------------------------------------------
# Certificates and client configuration files


def make_pki(state_dir):
    """A throwaway CA, a server certificate for 127.0.0.1/localhost, and a signer for clients."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def builder(subject, issuer, key, days, ca):
        """A certificate of SUBJECT for KEY, issued by ISSUER: a CA's (signs certificates)
        or a leaf's (signs handshakes), valid from an hour ago for DAYS days."""
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                             encipher_only=False, decipher_only=False),
                               critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fakekube-ca-%s" % uuid.uuid4().hex[:8])])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = builder(ca_name, ca_name, ca_key, 2, True).sign(ca_key, hashes.SHA256())

    def issue(cn, server, orgs=()):
        key = ec.generate_private_key(ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
        b = (builder(x509.Name(attrs), ca_name, key, 1, False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                            critical=False)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                   else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            b = b.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default"),
                x509.DNSName("kubernetes.default.svc"), x509.DNSName("kubernetes.default.svc.cluster.local"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        return (cert.public_bytes(serialization.Encoding.PEM),
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))

    def write(name, data, mode=0o644):
        path = os.path.join(state_dir, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    paths = {"ca": write("ca.crt", ca_pem)}
    crt, key = issue("kube-apiserver", True)
    paths["server_crt"] = write("server.crt", crt)
    paths["server_key"] = write("server.key", key, 0o600)
    return paths, ca_pem, issue


# ---------------------------------------------------------------------------------------------
# The server


def image_of(images, ref):
    """What the image REF holds in IMAGES ({glob: image}): the first glob that matches it."""
    for glob, spec in images.items():
        if fnmatch.fnmatchcase(ref, glob):
            return spec
    return {}


class FakeKube:
    """The fake API server.  See the module docstring; conftest.py's `fakekube` fixture wraps it."""

    def __init__(self, state_dir, port=0, token=None, namespace="default", path=None,
                 namespaces=("default", "kube-system"), user=None, service_account="default",
                 node_env=None, entrypoints=None, images=None, history=1000, max_grace_seconds=3.0,
                 run_as_user=True, nodes=3):
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.requested_port = port
        self.token = token or uuid.uuid4().hex + uuid.uuid4().hex
        self.namespace = namespace
        self.namespaces = set(namespaces) | {namespace}
        self.service_account = service_account
        self.user = user or "system:serviceaccount:%s:%s" % (namespace, service_account)
        self.path = path if path is not None else os.environ.get("PATH", "/usr/bin:/bin")
        self.node_env = dict(node_env or {})
        # image glob -> what the image holds (see image()); `entrypoints` (glob -> argv) is the
        # short form for an image that is only an ENTRYPOINT
        self.images = {glob: {"entrypoint": list(argv)} for glob, argv in (entrypoints or {}).items()}
        self.images.update(images or {})
        self.max_grace_seconds = max_grace_seconds
        self.run_as_user = run_as_user and os.geteuid() == 0
        self.nodes = ["fake-node-%d" % (i + 1) for i in range(nodes)]
        self.store = Store(history)
        self.validator = Validator()
        self.faults = Faults(self)
        self.authorizer = Authorizer(self)
        self.requests = []
        self._req_lock = threading.Lock()
        self._kubelets = {}      # pod uid -> kubelet.PodWorker
        self._kubelet_lock = threading.Lock()
        self._ip_next = 2
        self._ip_base = (os.getpid() % 250 + 2, random.randrange(256))
        self._ip_lock = threading.Lock()
        self._httpd = None
        self._threads = []
        self._conns = set()
        self._conns_lock = threading.Lock()
        self.port = None
        self.pod_runtime_error = None
        self._gc_thread = None
        self.check_leftovers = False  # conftest's teardown fails on leftovers when True
        self._gc_pending = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self):
        from . import kubelet
        self._kubelet_mod = kubelet
        self.pod_runtime_error = self._kubelet_mod.check_runtime()
        self.pki, self.ca_pem, self._issue = make_pki(self.state_dir)
        self.ca = self.pki["ca"]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.pki["server_crt"], self.pki["server_key"])
        ctx.load_verify_locations(cadata=self.ca_pem.decode())
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.set_alpn_protocols(["http/1.1"])
        self._ssl = ctx
        self._httpd = httpd.HTTPServer(("127.0.0.1", self.requested_port), self)
        self.port = self._httpd.server_address[1]
        self.url = "https://127.0.0.1:%d" % self.port
        for ns in sorted(self.namespaces):
            self._seed_namespace(ns)
        self.sa_dir = self.write_service_account_dir(os.path.join(self.state_dir, "serviceaccount"))
        self.kubeconfig = self.write_kubeconfig(os.path.join(self.state_dir, "kubeconfig"))
        t = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                             name="fakekube-http", daemon=True)
        t.start()
        self._threads.append(t)
        self._gc_thread = threading.Thread(target=self._gc_loop, name="fakekube-gc", daemon=True)
        self._gc_thread.start()
        return self

    def stop(self):
        """Stop serving, end watches, kill every pod process, wait for the threads."""
        with self.store.cond:
            self.store.stopping = True
            self.store.cond.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._kubelet_lock:
            workers = list(self._kubelets.values())
        for w in workers:
            w.shutdown()
        for w in workers:
            w.join(10)
        if self._gc_thread:
            self._gc_thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _seed_namespace(self, ns):
        self.namespaces.add(ns)
        if self.store.get("configmaps", ns, "kube-root-ca.crt") is None:
            self._create_internal("configmaps", ns, {"apiVersion": "v1", "kind": "ConfigMap",
                                                     "metadata": {"name": "kube-root-ca.crt"},
                                                     "data": {"ca.crt": self.ca_pem.decode()}})
        if self.store.get("serviceaccounts", ns, "default") is None:
            self._create_internal("serviceaccounts", ns, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                          "metadata": {"name": "default"}})

    def add_namespace(self, ns):
        """Make a namespace exist (creating in a namespace that does not exist is a 404)."""
        self._seed_namespace(ns)

    # -- client configuration --------------------------------------------------------------
    def write_kubeconfig(self, path, namespace=None, ca_data=False, auth="token", server=None,
                         token=None, context="fakekube"):
        """Write a kubeconfig.  auth: "token", "cert" (a client certificate for this user, files
        or data per ca_data), or "none"; ca_data inlines certificate-authority-data."""
        import yaml
        cluster = {"server": server or self.url}
        if ca_data:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        else:
            cluster["certificate-authority"] = self.ca
        user = {}
        if auth == "token":
            user["token"] = token or self.token
        elif auth == "cert":
            crt, key = self._issue(self.user, False, ("system:masters",))
            if ca_data:
                user["client-certificate-data"] = base64.b64encode(crt).decode()
                user["client-key-data"] = base64.b64encode(key).decode()
            else:
                base = os.path.splitext(path)[0]
                with open(base + "-client.crt", "wb") as f:
                    f.write(crt)
                with open(base + "-client.key", "wb") as f:
                    f.write(key)
                os.chmod(base + "-client.key", 0o600)
                user["client-certificate"] = base + "-client.crt"
                user["client-key"] = base + "-client.key"
        cfg = {"apiVersion": "v1", "kind": "Config", "preferences": {},
               "clusters": [{"name": "fakekube", "cluster": cluster}],
               "users": [{"name": "fakekube-user", "user": user}],
               "contexts": [{"name": context, "context": {"cluster": "fakekube", "user": "fakekube-user",
                                                          "namespace": namespace or self.namespace}}],
               "current-context": context}
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f, default_flow_style=False)
        os.chmod(path, 0o600)
        return path

    def write_service_account_dir(self, directory, namespace=None, token=None):
        """token, ca.crt, namespace files as /var/run/secrets/kubernetes.io/serviceaccount has."""
        os.makedirs(directory, exist_ok=True)
        for name, data in (("token", token or self.token), ("ca.crt", self.ca_pem.decode()),
                           ("namespace", namespace or self.namespace)):
            with open(os.path.join(directory, name), "w") as f:
                f.write(data)
        return directory

    def in_cluster_env(self):
        """Environment a process in a pod sees for the API server."""
        return {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.port),
                "KUBERNETES_SERVICE_PORT_HTTPS": str(self.port),
                "KUBERNETES_PORT": "tcp://127.0.0.1:%d" % self.port,
                "KUBERNETES_PORT_443_TCP": "tcp://127.0.0.1:%d" % self.port,
                "KUBERNETES_PORT_443_TCP_PROTO": "tcp", "KUBERNETES_PORT_443_TCP_ADDR": "127.0.0.1",
                "KUBERNETES_PORT_443_TCP_PORT": str(self.port)}

    def image(self, ref):
        """What the image REF holds, from the first matching glob of `images` ({} when none):
        {"entrypoint": [...], "cmd": [...], "env": {...}, "workingDir": "/...",
         "files": {path in the image: host path (file or directory)},
         "writable": [directories the image has, empty and writable for each container]},
        or a real image: {"rootfs": its root filesystem, "entrypoint", "cmd", "env",
        "workingDir", "user"} (images.BuiltImage).
        Without a match, an image is the host's filesystem with no entrypoint."""
        return image_of(self.images, ref)

    def token_for(self, service_account, namespace=None):
        """The token of a ServiceAccount (created when missing), as a pod of it gets mounted."""
        ns = namespace or self.namespace
        if self.store.get("serviceaccounts", ns, service_account) is None:
            self._create_internal("serviceaccounts", ns, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                          "metadata": {"name": service_account}})
        return self.authorizer.token_for(ns, service_account)

    def client(self, token=None):
        """A client.KubeClient for this server (the token unless another is given)."""
        from . import client as mod
        return mod.KubeClient(self.url, self.token if token is None else token, self.ca)

    # -- inspection for tests --------------------------------------------------------------
    def objects(self, kind=None, namespace=None):
        """Current objects (deep copies) of a kind ("pods", "Pod", "pod"), optionally in one ns."""
        return self.store.list(resource_of(kind) if kind else None, namespace)[0]

    def get(self, kind, name, namespace=None):
        return self.store.get(resource_of(kind), namespace or self.namespace, name)

    def leftovers(self, include_events=False):
        """Objects a client created that still exist: not the per-namespace system objects, and
        not what an admin sets a namespace up with (service accounts, RBAC, network policies)."""
        out = []
        for o in self.store.list()[0]:
            res = resource_of(o.get("kind", ""))
            if (res, o["metadata"]["name"]) in SYSTEM_NAMES or res in SETUP_RESOURCES:
                continue
            if res == "events" and not include_events:
                continue
            out.append("%s/%s/%s" % (res, o["metadata"].get("namespace"), o["metadata"]["name"]))
        return out

    def events(self, name=None, namespace=None):
        """Events (oldest first), optionally only those about the object called `name`."""
        evs = self.objects("events", namespace)
        if name is not None:
            evs = [e for e in evs if e["involvedObject"]["name"] == name]
        return sorted(evs, key=lambda e: int(e["metadata"]["resourceVersion"]))

    def created_bodies(self, kind=None):
        """Every object body a client POSTed (to assert 'every object sent is valid')."""
        res = resource_of(kind) if kind else None
        with self._req_lock:
            return [r.body for r in self.requests
                    if r.method == "POST" and r.verb == "create" and (res is None or r.resource == res)]

    def invalid_requests(self):
        """Requests the fake answered with 400 or 422 (not injected faults)."""
        with self._req_lock:
            return [r for r in self.requests if r.code in (400, 422) and not r.fault]

    @property
    def pods(self):
        """{(namespace, name): PodWorker} for every pod the kubelet has run (see kubelet.py)."""
        with self._kubelet_lock:
            return {(w.namespace, w.name): w for w in self._kubelets.values()}

    def pod_workers(self):
        """Every PodWorker this server has started (also those of deleted or replaced pods)."""
        with self._kubelet_lock:
            return list(self._kubelets.values())

    def pod_processes(self):
        """pids of every live process of every pod (all processes in the pods' mount namespaces)."""
        with self._kubelet_lock:
            workers = list(self._kubelets.values())
        pids = []
        for w in workers:
            pids += w.live_pids()
        return pids

    def kill_pod_processes(self):
        with self._kubelet_lock:
            workers = list(self._kubelets.values())
        for w in workers:
            w.kill_all()

    def wait_for(self, predicate, timeout=60.0, what="condition"):
        """Wait (event-driven on store changes) until predicate() is true; raise on timeout."""
        deadline = time.monotonic() + timeout
        with self.store.cond:
            while True:
                val = predicate()
                if val:
                    return val
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("fakekube: timed out waiting for %s" % what)
                self.store.cond.wait(min(left, 0.5))

    def wait_pod_phase(self, name, phases, namespace=None, timeout=60.0):
        if isinstance(phases, str):
            phases = (phases,)
        ns = namespace or self.namespace

        def check():
            p = self.store.get("pods", ns, name)
            return p if p and p.get("status", {}).get("phase") in phases else None
        try:
            return self.wait_for(check, timeout, "pod %s/%s phase in %s" % (ns, name, phases))
        except AssertionError as e:
            raise AssertionError("%s; %s" % (e, self.describe_pod(name, ns)))

    def describe_pod(self, name, namespace=None):
        """One line about a pod for failure messages: phase, container state, events, log tail."""
        ns = namespace or self.namespace
        p = self.store.get("pods", ns, name)
        if p is None:
            w = self.pods.get((ns, name))
            evs = ["%s: %s" % (e["reason"], e["message"]) for e in self.events(name, ns)]
            return "pod %s/%s is deleted (exit code %s) events=%s log=%r" % (
                ns, name, w.exit_code if w else None, evs, self.pod_log(name, ns)[-1500:])
        st = p.get("status", {})
        cs = [c.get("state") for c in st.get("containerStatuses") or []]
        evs = ["%s: %s" % (e["reason"], e["message"]) for e in self.events(name, ns)]
        return "pod %s/%s phase=%s containers=%s events=%s log=%r" % (
            ns, name, st.get("phase"), json.dumps(cs), evs, self.pod_log(name, ns)[-500:])

    def wait_gone(self, kind, name, namespace=None, timeout=60.0):
        res, ns = resource_of(kind), namespace or self.namespace
        return self.wait_for(lambda: self.store.get(res, ns, name) is None, timeout,
                             "%s %s/%s to be deleted" % (res, ns, name))

    def wait_pod_ready(self, name, namespace=None, timeout=60.0):
        ns = namespace or self.namespace

        def check():
            p = self.store.get("pods", ns, name)
            return p if p and any(c["type"] == "Ready" and c["status"] == "True"
                                  for c in p.get("status", {}).get("conditions", [])) else None
        return self.wait_for(check, timeout, "pod %s/%s Ready" % (ns, name))

    def wait_event(self, name, reason, namespace=None, count=1, timeout=60.0):
        """Wait for an Event about object `name` with this reason (and count >= count)."""
        def times(e):
            return (e.get("series") or {}).get("count") or e.get("count") or 1
        return self.wait_for(lambda: next((e for e in self.events(name, namespace) if e["reason"] == reason
                                           and times(e) >= count), None),
                             timeout, "event %s (count >= %d) about %s" % (reason, count, name))

    def pod_log(self, name, namespace=None):
        """What the pod's (first) container wrote to stdout/stderr so far ("" before it started)."""
        worker = self.pods.get((namespace or self.namespace, name))
        if worker is None or not worker.started or not worker.log_path or not os.path.exists(worker.log_path):
            return ""  # not before the kubelet knows the process (so live_pids() is complete)
        with open(worker.log_path, errors="replace") as f:
            return f.read()

    def wait_pod_log(self, name, text, namespace=None, timeout=60.0):
        return self.wait_for(lambda: (lambda log: log if text in log else None)(self.pod_log(name, namespace)),
                             timeout, "log of pod %s to contain %r" % (name, text))

    def wait_no_leftovers(self, timeout=60.0):
        try:
            return self.wait_for(lambda: not self.leftovers(), timeout, "no objects left")
        except AssertionError:
            raise AssertionError("fakekube: objects left: %s" % self.leftovers())

    # -- helpers used by the kubelet --------------------------------------------------------
    def allocate_pod_ip(self):
        with self._ip_lock:
            idx = self._ip_next - 2
            self._ip_next += 1
        # 127.A.B.2 .. 127.A.B.254, then 127.A.B+1.2 ...: never .0, .1 or .255 in the last octet.
        # A comes from the pid and B is random, so fakes running at the same time (other test
        # processes, a CLI server) do not hand out the same addresses.
        second, third = self._ip_base
        return "127.%d.%d.%d" % (second, (third + idx // 253) % 256, idx % 253 + 2)

    def record_event(self, involved, reason, message, type_="Normal", component="kubelet",
                     field_path=None, host=None, action=None):
        """An Event as the cluster writes it.  The kubelet uses client-go's core/v1 recorder:
        source {component, host}, firstTimestamp/lastTimestamp, count (repeats fold into count).
        The scheduler uses the events.k8s.io/v1 recorder, which reads back through core/v1 as
        eventTime, action, reportingComponent/Instance, an empty source, null timestamps and no
        count; repeats fold into series {count, lastObservedTime}."""
        ns = involved["metadata"]["namespace"]
        ref = {"kind": involved.get("kind", "Pod"), "namespace": ns, "name": involved["metadata"]["name"],
               "uid": involved["metadata"]["uid"], "apiVersion": "v1",
               "resourceVersion": involved["metadata"].get("resourceVersion", "")}
        if field_path:
            ref["fieldPath"] = field_path
        now = now_rfc3339()
        micro = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        new_style = component == "default-scheduler"
        with self.store.cond:
            for (r, n, nm), ev in self.store.objects.items():
                if (r == "events" and n == ns and ev["involvedObject"]["uid"] == ref["uid"]
                        and ev["reason"] == reason and ev["message"] == message):
                    def bump(e):
                        if new_style:
                            series = e.setdefault("series", {"count": 1})
                            series["count"] += 1
                            series["lastObservedTime"] = micro
                        else:
                            e["count"] = e.get("count", 1) + 1
                            e["lastTimestamp"] = now
                    return self.store.update("events", ns, nm, bump)
        if new_style:
            ev = {"kind": "Event", "apiVersion": "v1",
                  "metadata": {"name": "%s.%x" % (ref["name"], time.time_ns()), "namespace": ns},
                  "involvedObject": ref, "reason": reason, "message": message, "source": {},
                  "firstTimestamp": None, "lastTimestamp": None, "type": type_, "eventTime": micro,
                  "action": action or ("Binding" if reason == "Scheduled" else "Scheduling"),
                  "reportingComponent": component, "reportingInstance": "%s-fake-control-plane" % component}
        else:
            src = {"component": component}
            if host:
                src["host"] = host
            ev = {"kind": "Event", "apiVersion": "v1",
                  "metadata": {"name": "%s.%x" % (ref["name"], time.time_ns()), "namespace": ns},
                  "involvedObject": ref, "reason": reason, "message": message, "source": src,
                  "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": type_,
                  "eventTime": None, "reportingComponent": component, "reportingInstance": host or ""}
        return self._create_internal("events", ns, ev)

    def _create_internal(self, resource, ns, obj):
        obj = copy.deepcopy(obj)
        md = obj.setdefault("metadata", {})
        md["namespace"] = ns
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_rfc3339()
        return self.store.insert(resource, ns, obj)

    def _wake_pods(self):
        if not hasattr(self, "_kubelets"):
            return
        with self._kubelet_lock:
            workers = list(self._kubelets.values())
        for w in workers:
            w.wake()

    def _pod_action(self, namespace, name, action, message):
        ns = namespace or self.namespace
        pod = self.store.get("pods", ns, name)
        if pod is None:
            raise not_found("pods", name)
        with self._kubelet_lock:
            w = self._kubelets.get(pod["metadata"]["uid"])
        if w is None:
            raise bad_request("pod %s/%s has no kubelet worker" % (ns, name))
        w.action(action, message)

    # -- API operations --------------------------------------------------------------------
    def api_create(self, resource, ns, body):
        if not isinstance(body, dict):
            raise bad_request("Object 'Kind' is missing in '%s'" % json.dumps(body)[:200])
        kind, version = RESOURCES[resource][0], api_version(resource)
        if body.get("kind") not in (None, "", kind) or body.get("apiVersion") not in (None, "", version):
            raise bad_request('the API version in the data (%s) does not match the expected API '
                              'version (%s)' % (body.get("apiVersion"), version)
                              if body.get("apiVersion") not in (None, "", version)
                              else "%s in version \"%s\" cannot be handled as a %s: no kind \"%s\" is "
                              "registered for version \"%s\"" % (body.get("kind"), version, kind,
                                                                 body.get("kind"), version))
        md = body.get("metadata") or {}
        if md.get("namespace") not in (None, "", ns):
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        self.validator.validate(resource, body)
        if ns not in self.namespaces:
            raise not_found("namespaces", ns)
        if resource == "pods":
            self._admit_service_account(ns, body)
        obj = copy.deepcopy(body)
        obj["kind"], obj["apiVersion"] = kind, version
        md = obj.setdefault("metadata", {})
        for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "generation", "managedFields", "selfLink"):
            md.pop(k, None)
        if not md.get("name"):
            alphabet = "bcdfghjklmnpqrstvwxz2456789"
            md["name"] = md["generateName"] + "".join(random.choice(alphabet) for _ in range(5))
        md["namespace"] = ns
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_rfc3339()
        getattr(self, "_default_" + resource, lambda o: None)(obj)
        created = self.store.insert(resource, ns, obj)
        if resource == "pods":
            self._start_kubelet(created)
        return created

    def _default_pods(self, pod):
        spec = pod.setdefault("spec", {})
        pod["metadata"]["generation"] = 1
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("securityContext", {})
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        spec.setdefault("tolerations", []).extend([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}])
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            img = c.get("image", "")
            tagged = ":" in img.rsplit("/", 1)[-1] or "@" in img
            c.setdefault("imagePullPolicy", "IfNotPresent" if tagged and not img.endswith(":latest") else "Always")
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("resources", {})
            for p in c.get("ports") or []:
                p.setdefault("protocol", "TCP")
            if "limits" in c["resources"] and "requests" not in c["resources"]:
                c["resources"]["requests"] = dict(c["resources"]["limits"])
        if spec.get("automountServiceAccountToken", True) is not False:
            vname = "kube-api-access-" + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            spec.setdefault("volumes", []).append({"name": vname, "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}})
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                if not any(m.get("mountPath") == "/var/run/secrets/kubernetes.io/serviceaccount"
                           for m in c.get("volumeMounts") or []):
                    c.setdefault("volumeMounts", []).append(
                        {"name": vname, "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
        for v in spec.get("volumes") or []:
            for src in ("secret", "configMap", "downwardAPI"):
                if src in v:
                    v[src].setdefault("defaultMode", 420)
        requests_ = [c.get("resources", {}) for c in spec.get("containers", [])]
        if all(not r for r in requests_):
            qos = "BestEffort"
        elif all(r.get("limits") and r.get("limits") == r.get("requests") and
                 {"cpu", "memory"} <= set(r.get("limits")) for r in requests_):
            qos = "Guaranteed"
        else:
            qos = "Burstable"
        pod["status"] = {"phase": "Pending", "qosClass": qos}

    def _default_services(self, svc):
        spec = svc.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if "clusterIP" not in spec:
            n = int(svc["metadata"]["uid"][:4], 16)
            spec["clusterIP"] = "10.96.%d.%d" % (n // 254 % 254, n % 254 + 1)
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for p in spec.get("ports") or []:
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p.get("port"))
        svc["status"] = {"loadBalancer": {}}

    def _default_secrets(self, sec):
        sec.setdefault("type", "Opaque")
        sd = sec.pop("stringData", None) or {}
        if sd:
            data = sec.setdefault("data", {})
            for k, v in sd.items():
                data[k] = base64.b64encode(v.encode()).decode()

    def _start_kubelet(self, pod):
        worker = self._kubelet_mod.PodWorker(self, pod)
        with self._kubelet_lock:
            self._kubelets[pod["metadata"]["uid"]] = worker
        worker.start()

    def _admit_service_account(self, ns, pod):
        """The ServiceAccount admission plugin: a pod's account must exist."""
        spec = pod.get("spec") or {}
        sa = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        if self.store.get("serviceaccounts", ns, sa) is None:
            name = (pod.get("metadata") or {}).get("name") or (pod.get("metadata") or {}).get("generateName", "")
            raise ApiError(403, "Forbidden", 'pods "%s" is forbidden: error looking up service account %s/%s: '
                           'serviceaccount "%s" not found' % (name, ns, sa, sa), {"name": name, "kind": "pods"})

    # What a PATCH or PUT may not change: the server's own metadata, and the status (a
    # subresource of its own).  A pod's spec is immutable but for these fields.
    _SERVER_METADATA = ("uid", "name", "namespace", "creationTimestamp", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "generation", "resourceVersion")
    _POD_MUTABLE = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")

    def _apply_change(self, resource, cur, new):
        """NEW (a changed copy of CUR) as it is stored, or the ApiError the server answers."""
        kind = RESOURCES[resource][0]
        name = cur["metadata"]["name"]
        if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
            raise invalid(kind, name, [("metadata", "FieldValueRequired", "Required value")])
        want_rv = new["metadata"].get("resourceVersion")
        if want_rv and want_rv != cur["metadata"]["resourceVersion"]:
            raise conflict(resource, name)
        for k in self._SERVER_METADATA:
            if k in cur["metadata"]:
                new["metadata"][k] = cur["metadata"][k]
            else:
                new["metadata"].pop(k, None)
        new["kind"], new["apiVersion"] = kind, api_version(resource)
        if "status" in cur:
            new["status"] = copy.deepcopy(cur["status"])
        if resource == "pods":
            before, after = copy.deepcopy(cur.get("spec") or {}), copy.deepcopy(new.get("spec") or {})
            for spec in (before, after):
                for k in self._POD_MUTABLE:
                    spec.pop(k, None)
                for c in spec.get("containers", []) + spec.get("initContainers", []):
                    c.pop("image", None)
            if before != after:
                raise invalid(kind, name, [("spec", "FieldValueForbidden",
                                            "Forbidden: pod updates may not change fields other than "
                                            "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                                            "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                                            "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it "
                                            "to be set to 1 if it was previously negative)")])
        if cur.get("immutable") and {k: v for k, v in new.items() if k != "metadata"} != \
                {k: v for k, v in cur.items() if k != "metadata"}:
            raise invalid(kind, name, [("data", "FieldValueForbidden",
                                        "Forbidden: field is immutable when `immutable` is set")])
        self.validator.validate(resource, new)
        return new

    def api_patch(self, resource, ns, name, content_type, patch):
        if self.store.get(resource, ns, name) is None:
            raise not_found(resource, name)

        def change(o):
            try:
                new = patches.apply(o, content_type, patch)
            except patches.PatchError as e:
                reasons = {400: "BadRequest", 415: "UnsupportedMediaType", 422: "Invalid"}
                raise ApiError(e.code, reasons.get(e.code, "BadRequest"), e.message)
            new = self._apply_change(resource, o, new)
            if new == o:
                return False  # a patch that changes nothing does not bump the resourceVersion
            o.clear()
            o.update(new)
        out = self.store.update(resource, ns, name, change)
        if out is None:
            raise not_found(resource, name)
        self._after_change(resource, out)
        return out

    def api_update(self, resource, ns, name, body):
        if not isinstance(body, dict):
            raise bad_request("Object 'Kind' is missing")
        if (body.get("metadata") or {}).get("name") not in (None, name):
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                              % (body["metadata"]["name"], name))
        if self.store.get(resource, ns, name) is None:
            raise not_found(resource, name)

        def change(o):
            new = self._apply_change(resource, o, copy.deepcopy(body))
            if new == o:
                return False
            o.clear()
            o.update(new)
        out = self.store.update(resource, ns, name, change)
        if out is None:
            raise not_found(resource, name)
        self._after_change(resource, out)
        return out

    def _after_change(self, resource, obj):
        """A change may have removed the last finalizer of an object being deleted."""
        md = obj["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers") and resource != "pods":
            self.store.remove(resource, md["namespace"], md["name"], md["uid"])
        self._gc_kick()

    def api_get(self, resource, ns, name):
        obj = self.store.get(resource, ns, name)
        if obj is None:
            raise not_found(resource, name)
        return obj

    def api_list(self, resource, ns, query):
        lp = parse_label_selector(query.get("labelSelector", ""))
        fp = parse_field_selector(resource, query.get("fieldSelector", ""))
        items, rv = self.store.list(resource, ns)
        items = [o for o in items if matches(o, lp, fp)]
        meta = {"resourceVersion": rv}
        start = 0
        if query.get("continue"):
            try:
                tok = json.loads(base64.b64decode(query["continue"]))
                start, rv_tok = int(tok["start"]), tok["rv"]
            except Exception:
                raise bad_request("continue key is not valid: illegal base64 data at input byte 0")
            if int(rv_tok) < self.store.oldest_rv:
                raise ApiError(410, "Expired", "The provided continue parameter is too old to display "
                               "a consistent list result. You can start a new list without the continue "
                               "parameter, or use the continue token in this response to retrieve the "
                               "remainder of the results.")
            meta["resourceVersion"] = rv = rv_tok
        limit = int(query.get("limit") or 0)
        if limit > 0:
            page = items[start:start + limit]
            if start + limit < len(items):
                meta["continue"] = base64.b64encode(json.dumps({"start": start + limit, "rv": rv}).encode()).decode()
                meta["remainingItemCount"] = len(items) - start - limit
            items = page
        for o in items:
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return {"kind": RESOURCES[resource][0] + "List", "apiVersion": api_version(resource), "metadata": meta,
                "items": items}

    def api_delete(self, resource, ns, name, options):
        obj = self.store.get(resource, ns, name)
        if obj is None:
            raise not_found(resource, name)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": Precondition failed: '
                           'UID in precondition: %s, UID in object meta: %s'
                           % (resource, name, pre["uid"], obj["metadata"]["uid"]),
                           {"name": name, "kind": resource})
        if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise conflict(resource, name)
        policy = options.get("propagationPolicy") or ("Orphan" if options.get("orphanDependents") else "Background")
        if policy not in ("Background", "Foreground", "Orphan"):
            raise invalid("DeleteOptions", "", [("propagationPolicy", "FieldValueNotSupported",
                          'Unsupported value: %s: supported values: "Foreground", "Background", "Orphan", "nil"' % _qv(policy))])
        return self.delete_object(resource, ns, name, policy, options.get("gracePeriodSeconds"),
                                  obj["metadata"]["uid"])

    def delete_object(self, resource, ns, name, policy="Background", grace=None, uid=None):
        """Delete as the API server does; returns the response body (object or Status)."""
        obj = self.store.get(resource, ns, name)
        if obj is None or (uid and obj["metadata"]["uid"] != uid):
            raise not_found(resource, name)
        uid = obj["metadata"]["uid"]
        if policy in ("Foreground", "Orphan"):
            fin = "foregroundDeletion" if policy == "Foreground" else "orphan"

            def mark(o):
                md = o["metadata"]
                if fin not in md.setdefault("finalizers", []):
                    md["finalizers"].append(fin)
                md.setdefault("deletionTimestamp", now_rfc3339())
                md.setdefault("deletionGracePeriodSeconds", 0)
            obj = self.store.update(resource, ns, name, mark, uid)
            if resource == "pods":
                self._pod_delete(obj, grace, finalize=False)
            self._gc_kick()
            return obj
        if resource == "pods":
            return self._pod_delete(obj, grace, finalize=True)
        if obj["metadata"].get("finalizers"):
            return self.store.update(resource, ns, name,
                                     lambda o: o["metadata"].setdefault("deletionTimestamp", now_rfc3339()), uid)
        gone_obj = self.store.remove(resource, ns, name, uid)
        self._gc_kick()
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "kind": resource, "uid": gone_obj["metadata"]["uid"]}}

    def _pod_delete(self, pod, grace, finalize):
        ns, name, uid = pod["metadata"]["namespace"], pod["metadata"]["name"], pod["metadata"]["uid"]
        phase = pod.get("status", {}).get("phase")
        if grace is None:
            grace = pod["metadata"].get("deletionGracePeriodSeconds") or pod["spec"].get("terminationGracePeriodSeconds", 30)
        grace = int(grace)
        with self._kubelet_lock:
            worker = self._kubelets.get(uid)
        if not pod["spec"].get("nodeName") or phase in ("Succeeded", "Failed"):
            grace = 0
        if grace == 0:
            if worker:
                worker.request_delete(0)
            if finalize and not pod["metadata"].get("finalizers"):
                gone_obj = self.store.remove("pods", ns, name, uid)
                self._gc_kick()
                return gone_obj or pod

            def mark0(o):
                o["metadata"].setdefault("deletionTimestamp", now_rfc3339())
                o["metadata"]["deletionGracePeriodSeconds"] = 0
            return self.store.update("pods", ns, name, mark0, uid) or pod
        deadline = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=grace)
                    ).strftime("%Y-%m-%dT%H:%M:%SZ")

        def mark(o):
            if "deletionTimestamp" not in o["metadata"]:
                o["metadata"]["deletionTimestamp"] = deadline
            o["metadata"]["deletionGracePeriodSeconds"] = grace
        updated = self.store.update("pods", ns, name, mark, uid) or pod
        if worker is not None and worker.is_alive():
            worker.request_delete(grace)
        elif finalize and not pod["metadata"].get("finalizers"):
            self.store.remove("pods", ns, name, uid)  # no kubelet runs it any more
            self._gc_kick()
        return updated

    def pod_terminated(self, pod_uid, ns, name):
        """The kubelet is done with a pod that is being deleted: remove it unless finalizers."""
        obj = self.store.get("pods", ns, name)
        if obj is None or obj["metadata"]["uid"] != pod_uid:
            return
        if obj["metadata"].get("finalizers"):
            self._gc_kick()
            return
        self.store.remove("pods", ns, name, pod_uid)
        self._gc_kick()

    # -- garbage collector -----------------------------------------------------------------
    def _gc_kick(self):
        with self.store.cond:
            self._gc_pending = True
            self.store.cond.notify_all()

    def _gc_loop(self):
        seen_rv = -1
        while True:
            with self.store.cond:
                while not self.store.stopping and self.store.rv == seen_rv and not self._gc_pending:
                    self.store.cond.wait(0.5)
                if self.store.stopping:
                    return
                seen_rv = self.store.rv
                self._gc_pending = False
            try:
                self._gc_pass()
            except ApiError:
                pass
            except Exception:  # a bug in the fake: say so, keep collecting
                import traceback
                traceback.print_exc()
            try:
                self._refresh_dns()
            except Exception:  # a bug in the fake: say so, keep collecting
                import traceback
                traceback.print_exc()

    def _gc_pass(self):
        objs = self.store.list()[0]
        live = {o["metadata"]["uid"]: o for o in objs}
        for o in objs:
            md = o["metadata"]
            res = resource_of(o["kind"])
            ns = md["namespace"]
            refs = md.get("ownerReferences") or []
            # owners being deleted: foreground waits for dependents, orphan strips references
            fins = md.get("finalizers") or []
            if md.get("deletionTimestamp") and ("foregroundDeletion" in fins or "orphan" in fins):
                deps = [d for d in objs if any(r.get("uid") == md["uid"] for r in d["metadata"].get("ownerReferences") or [])]
                if "orphan" in fins:
                    for d in deps:
                        self.store.update(resource_of(d["kind"]), d["metadata"]["namespace"], d["metadata"]["name"],
                                          lambda x, u=md["uid"]: x["metadata"].__setitem__(
                                              "ownerReferences", [r for r in x["metadata"]["ownerReferences"] if r.get("uid") != u]))
                    deps = []
                for d in deps:
                    if not d["metadata"].get("deletionTimestamp"):
                        try:
                            self.delete_object(resource_of(d["kind"]), d["metadata"]["namespace"],
                                               d["metadata"]["name"], "Foreground", None, d["metadata"]["uid"])
                        except ApiError:
                            pass
                blocking = [d for d in deps if any(r.get("uid") == md["uid"] and r.get("blockOwnerDeletion")
                                                   for r in d["metadata"].get("ownerReferences") or [])]
                pod_running = res == "pods" and self._pod_worker_alive(md["uid"])
                if not blocking and not pod_running:
                    new = self.store.update(res, ns, md["name"], lambda x: x["metadata"].__setitem__(
                        "finalizers", [f for f in x["metadata"]["finalizers"] if f not in ("foregroundDeletion", "orphan")]), md["uid"])
                    if new is not None and not new["metadata"].get("finalizers"):
                        self.store.remove(res, ns, md["name"], md["uid"])
                continue
            if not refs or md.get("deletionTimestamp"):
                continue
            alive = [r for r in refs if r.get("uid") in live and live[r["uid"]]["kind"] == r.get("kind")
                     and live[r["uid"]]["metadata"]["name"] == r.get("name")
                     and live[r["uid"]]["metadata"]["namespace"] == ns]
            if alive:
                owner_fg = [r for r in alive if "foregroundDeletion" in (live[r["uid"]]["metadata"].get("finalizers") or [])]
                if owner_fg and len(owner_fg) == len(alive):
                    try:
                        self.delete_object(res, ns, md["name"], "Foreground", None, md["uid"])
                    except ApiError:
                        pass
                continue
            try:
                self.delete_object(res, ns, md["name"], "Background", None, md["uid"])
            except ApiError:
                pass

    def _refresh_dns(self):
        """Every running pod's /etc/hosts follows the Services and pods (dns.py)."""
        with self._kubelet_lock:
            workers = list(self._kubelets.values())
        for w in workers:
            w.refresh_hosts()

    def _pod_worker_alive(self, uid):
        with self._kubelet_lock:
            w = self._kubelets.get(uid)
        return w is not None and w.is_alive() and not w.done

    # -- requests --------------------------------------------------------------------------
    def record(self, req):
        with self._req_lock:
            self.requests.append(req)


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake Kubernetes API server for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--token")
    ap.add_argument("--namespace", default="default")
    ap.add_argument("--path", help="PATH used to resolve containers' command[0]")
    ap.add_argument("--node-env", action="append", default=[], metavar="K=V",
                    help="environment every container gets (as if set in its image)")
    args = ap.parse_args(argv)
    node_env = dict(kv.split("=", 1) for kv in args.node_env)
    fake = FakeKube(args.state_dir, port=args.port, token=args.token, namespace=args.namespace,
                    path=args.path, node_env=node_env)
    fake.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    print(json.dumps({"ready": True, "url": fake.url, "port": fake.port, "kubeconfig": fake.kubeconfig,
                      "token": fake.token, "ca": fake.ca, "sa_dir": fake.sa_dir, "namespace": fake.namespace,
                      "pid": os.getpid(), "pod_runtime_error": fake.pod_runtime_error}), flush=True)
    while not stop.wait(1):
        pass
    fake.stop()
    return 0

