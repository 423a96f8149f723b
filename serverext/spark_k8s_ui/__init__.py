"""spark_k8s_ui — a Jupyter server extension: each running spark-k8s kernel's Spark UI
under the server's own URL and login, at <base URL>spark-k8s/ui/<kernel id>/.

At load it puts that route's prefix in the server's environment (SPARK_K8S_UI_PROXY),
which the kernels it starts inherit. A spark-k8s launcher that finds it gives its
kernel the link (SPARK_K8S_UI_PATH) and has the UI's address registered in
spark-k8s-ui-<kernel id>.json beside Jupyter's connection file (launcher/runtime/
ui_route.h): the local runtime's kernel writes it when its UI listens, the Kubernetes
runtime's launcher when the kernel pod runs (its IP, port 4040). This handler serves
GET and HEAD of a registered UI whose connection file belongs to one of this server's
running kernels, as any other page of the server: only the server's user (its token or
login, the "kernels" permission) gets it. Spark writes its links under the route
because each request says where it is (X-Forwarded-Context, which Spark's UIUtils
reads as Apache Knox sends it); its redirects to its own address are turned into the
route's."""
import json
import os
import re
from urllib.parse import urlsplit

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

ROUTE = "spark-k8s/ui"
ENV = "SPARK_K8S_UI_PROXY"
KERNEL_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# what the browser may send on to Spark, and what comes back from it
REQUEST_HEADERS = ("Accept", "Accept-Language", "If-Modified-Since", "If-None-Match", "Range")
RESPONSE_HEADERS = ("Content-Type", "Cache-Control", "Expires", "Last-Modified", "ETag",
                    "Content-Range", "Accept-Ranges", "Content-Disposition")
TIMEOUT_S = 60.0


def _jupyter_server_extension_points():
    return [{"module": "spark_k8s_ui"}]


def _load_jupyter_server_extension(serverapp):
    web_app = serverapp.web_app
    prefix = url_path_join(web_app.settings["base_url"], ROUTE) + "/"
    os.environ[ENV] = prefix
    web_app.add_handlers(".*$", [
        (url_path_join(prefix, r"(%s)(/.*)?" % KERNEL_ID), SparkUIHandler, {"prefix": prefix}),
    ])
    serverapp.log.info("spark-k8s: kernels' Spark UIs at %s<kernel id>/", prefix)


def registration(kernel_manager, kernel_id):
    """The registered address of kernel KERNEL_ID's UI (a launcher's id), when it
    belongs to one of KERNEL_MANAGER's running kernels; else None."""
    path = os.path.join(kernel_manager.connection_dir, "spark-k8s-ui-%s.json" % kernel_id)
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    url, conn = doc.get("url"), doc.get("connection_file")
    if not isinstance(url, str) or not re.fullmatch(r"http://[0-9A-Za-z.\-\[\]:]+:\d+", url):
        return None
    ours = set()
    for kid in kernel_manager.list_kernel_ids():
        try:
            ours.add(os.path.realpath(kernel_manager.get_kernel(kid).connection_file))
        except Exception:
            continue
    return url if isinstance(conn, str) and os.path.realpath(conn) in ours else None


class SparkUIHandler(JupyterHandler):
    """GET/HEAD <prefix><kernel id>/<path>: that path of the kernel's Spark UI."""

    auth_resource = "kernels"

    def initialize(self, prefix):
        self.prefix = prefix

    @web.authenticated
    @authorized
    async def get(self, kernel_id, path):
        await self.relay(kernel_id, path, "GET")

    @web.authenticated
    @authorized
    async def head(self, kernel_id, path):
        await self.relay(kernel_id, path, "HEAD")

    async def relay(self, kernel_id, path, method):
        base = url_path_join(self.prefix, kernel_id)
        if not path:
            self.redirect(base + "/")
            return
        upstream = registration(self.kernel_manager, kernel_id)
        if upstream is None:
            raise web.HTTPError(404, "no Spark UI for kernel %s: it is not a running spark-k8s "
                                "kernel of this server, or its Spark session has not started yet "
                                "(the first cell that uses spark starts it)" % kernel_id)
        url = upstream + path + ("?" + self.request.query if self.request.query else "")
        headers = {h: self.request.headers[h] for h in REQUEST_HEADERS if h in self.request.headers}
        headers["X-Forwarded-Context"] = base
        request = HTTPRequest(url, method=method, headers=headers, follow_redirects=False,
                              connect_timeout=10.0, request_timeout=TIMEOUT_S,
                              decompress_response=True)
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 599:
            raise web.HTTPError(502, "the Spark UI of kernel %s does not answer at %s: %s"
                                % (kernel_id, upstream, response.error))
        self.set_status(response.code, response.reason)
        for h in RESPONSE_HEADERS:
            if h in response.headers:
                self.set_header(h, response.headers[h])
        location = response.headers.get("Location")
        if location:
            self.set_header("Location", self.routed(location, upstream, base))
        if method != "HEAD" and response.body:
            self.write(response.body)
        await self.finish()

    @staticmethod
    def routed(location, upstream, base):
        """A Location of Spark's (its own address, or a path) as the route's."""
        parts = urlsplit(location)
        if parts.scheme and parts.netloc:
            up = urlsplit(upstream)
            if (parts.hostname, parts.port) != (up.hostname, up.port):
                return location  # somewhere else: as Spark said
            location = parts.path + ("?" + parts.query if parts.query else "")
        if location.startswith(base + "/") or location == base:
            return location
        return base + (location if location.startswith("/") else "/" + location)
