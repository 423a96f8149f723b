"""support.maven — a local Maven repository over HTTP, for the tests of what fetches jars
(`spark-k8s jars fetch`, tests/lakehouse/jars.py) without Maven Central."""
import http.server
import threading


class MavenRepo:
    """A Maven repository at URL (http://127.0.0.1:PORT/maven) serving FILES, a mapping of
    a path below it ("org/example/tiny/1.0/tiny-1.0.jar") to bytes that a test may change
    while it serves; the path of every GET is kept in `requests`, in order."""

    def __init__(self, files):
        self.files = dict(files)
        self.requests = []
        repo = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                repo.requests.append(self.path)
                body = repo.files.get(self.path.lstrip("/").removeprefix("maven/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/maven"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def asked(self, file_name):
        """The requests for FILE_NAME (the last part of a path)."""
        return [r for r in self.requests if r.endswith("/" + file_name)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
