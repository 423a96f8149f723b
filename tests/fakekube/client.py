"""fakekube.client: a small Kubernetes API client (http.client + ssl) for tests of the fake.

It verifies the server certificate against the fake's CA and sends the bearer token, like the
product's libcurl client.  Not the product: tests of the product use the product's client.
"""

import http.client
import json
import ssl
import urllib.parse


class KubeClient:
    def __init__(self, url, token=None, ca=None, certfile=None, keyfile=None, timeout=60):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 443
        self.token = token
        self.ctx = ssl.create_default_context(cafile=ca)
        if certfile:
            self.ctx.load_cert_chain(certfile, keyfile)
        self.timeout = timeout

    def _conn(self, timeout=None):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                           timeout=timeout or self.timeout)

    def _headers(self, body):
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if body is not None:
            h["Content-Type"] = "application/json"
        return h

    @staticmethod
    def _path(path, query):
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return path

    def request(self, method, path, body=None, query=None):
        """-> (HTTP status, parsed JSON body or text)."""
        conn = self._conn()
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, self._path(path, query), body=data, headers=self._headers(body))
            resp = conn.getresponse()
            raw = resp.read()
            ctype = resp.getheader("Content-Type", "")
            return resp.status, (json.loads(raw) if ctype.startswith("application/json") else raw.decode())
        finally:
            conn.close()

    # conveniences on /api/v1/namespaces/NS/RESOURCE
    @staticmethod
    def collection(resource, ns):
        return "/api/v1/namespaces/%s/%s" % (ns, resource)

    def create(self, resource, ns, obj):
        return self.request("POST", self.collection(resource, ns), obj)

    def get(self, resource, ns, name):
        return self.request("GET", self.collection(resource, ns) + "/" + name)

    def list(self, resource, ns, **query):
        return self.request("GET", self.collection(resource, ns), query=query or None)

    def delete(self, resource, ns, name, options=None, **query):
        return self.request("DELETE", self.collection(resource, ns) + "/" + name, options, query or None)

    def watch(self, resource, ns, timeout=30, **query):
        query = dict(query, watch="1")
        return Watch(self, self._path(self.collection(resource, ns), query), timeout)


class Watch:
    """A watch stream: iterate for events (dicts); .status is the HTTP status."""

    def __init__(self, client, path, timeout):
        self.conn = client._conn(timeout)
        self.conn.request("GET", path, headers=client._headers(None))
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = dict(self.resp.getheaders())

    def next(self):
        """The next event, or None at the end of the stream."""
        line = self.resp.readline()
        if not line:
            return None
        return json.loads(line)

    def __iter__(self):
        while True:
            ev = self.next()
            if ev is None:
                return
            yield ev

    def until(self, predicate):
        """Read events until predicate(event) is true; returns (that event, all events read)."""
        seen = []
        for ev in self:
            seen.append(ev)
            if predicate(ev):
                return ev, seen
        raise AssertionError("watch ended before the expected event; saw %s"
                             % [(e["type"], e["object"].get("metadata", {}).get("name")) for e in seen])

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
