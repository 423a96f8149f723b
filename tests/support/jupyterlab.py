"""support.jupyterlab — JupyterLab as the end-to-end tests drive it: `make run` as a user runs
it (JupyterLab 4 from the Jupyter environment, the installed kernelspecs and their kernel
environments) in a private support.homes.JupyterHome, the server's REST API, a server's
output and process group, and headless Chromium.

Every wait is bounded by a deadline and generous enough for a loaded 2-core machine.
"""
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from support.homes import JupyterHome
from support.paths import ROOT
from support.procs import describe, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# Generous bounds: a loaded 2-core CI machine must pass, a hang must not go unnoticed.
SERVER_START_S = 120.0     # server answering /api/status
MAKE_RUN_URL_S = 600.0     # `make run` may build and install before it serves
CELLS_DONE_S = 300.0       # a kernel starts Spark and a cell has run
EXIT_S = 30.0              # processes gone, ports free

# The eight kernelspecs and the display names the installer gives them (the baseline
# variant adds no word: "Spark 4.1", as tests/kernelspec checks).
KERNELSPECS = {
    f"spark-{line}-{variant}": f"Spark {line}" + "".join(
        {"gpu": " · GPU", "iceberg": " · Iceberg"}[w] for w in variant.split("-")
        if w != "baseline")
    for line in ("3.5", "4.1") for variant in ("baseline", "gpu", "iceberg", "gpu-iceberg")
}

URL_RE = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-f]+)")

def free_port():
    """A TCP port nothing listens on now (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    """True when nothing accepts on 127.0.0.1:PORT and 0.0.0.0:PORT can be bound again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as c:
        c.settimeout(2.0)
        if c.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado binds
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


# ---- the notebook server's REST API --------------------------------------------------


class Api:
    """Token-authenticated calls to a notebook server's REST API."""

    def __init__(self, base_url, token):
        self.base_url = base_url.rstrip("/")
        self.token = token

    def request(self, method, path, body=None, timeout=30.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()

    def json(self, method, path, body=None):
        status, _, raw = self.request(method, path, body)
        return status, (json.loads(raw) if raw else None)

    def answers(self):
        try:
            return self.request("GET", "/api/status", timeout=5.0)[0] == 200
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            return False


def browse(url, timeout=30.0):
    """GET URL as a browser would (cookies kept across redirects): (status, final url, body)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(url, timeout=timeout) as resp:
        return resp.status, resp.geturl(), resp.read().decode("utf-8", "replace")


def png_size(data):
    """(width, height) of a PNG, or None when DATA is not one."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# ---- processes ----------------------------------------------------------------------


class OutputReader:
    """Collects a child's merged stdout/stderr on a thread; waits for a pattern in it."""

    def __init__(self, stream):
        self.lines = []
        self._cond = threading.Condition()
        self._eof = False
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream):
        for raw in iter(stream.readline, b""):
            with self._cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def wait_for(self, regex, timeout):
        """The first match of REGEX in the output, or None at EOF or after TIMEOUT."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    m = regex.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._cond.wait(min(left, 1.0))

    def text(self):
        with self._cond:
            return "\n".join(self.lines)

    def join(self, timeout):
        self._thread.join(timeout)


def start_group(argv, cwd, env):
    """Start ARGV as the leader of a new process group, output merged and collected."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    return proc, OutputReader(proc.stdout)


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stop_group(proc, timeout=EXIT_S):
    """SIGTERM the process group led by PROC (as a terminal's stop would reach it all),
    wait for it to go; SIGKILL whatever is left. True when SIGTERM was enough."""
    pgid = proc.pid
    if proc.poll() is None or group_alive(pgid):
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    clean = wait_until(lambda: proc.poll() is not None and not group_alive(pgid), timeout)
    if not clean:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=timeout)
    return bool(clean)


# ---- the browser ----------------------------------------------------------------------


def browser_missing():
    """Why the browser test cannot run here, or None when it can."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (the Jupyter environment, kernelspecs/envs/jupyter.lock)")
    if missing:
        return ("needs " + ", ".join(missing) +
                " (Debian packages chromium, chromium-driver; `make deps`)")
    return None


def start_chromium(user_data_dir):
    """Headless Chromium under /usr/bin/chromedriver, offline (no first-run, sync,
    component or background network traffic), with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1280,900", f"--user-data-dir={user_data_dir}"):
        options.add_argument(arg)
    service = Service(executable_path=CHROMEDRIVER, log_path=os.devnull)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(60)
    return driver


def chromium_processes(driver):
    """chromedriver and everything under it (Chromium and its helpers)."""
    try:
        root = psutil.Process(driver.service.process.pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


# ---- `make run` -------------------------------------------------------------------------


class MakeRun:
    """`make run` as a user runs it, but on a free PORT, with its install (RUN_PREFIX)
    and notebooks (NOTEBOOK_DIR) in a private JupyterHome: the URL it prints, the
    server's API, and everything it started."""

    def __init__(self):
        self.home = JupyterHome()
        self.run_prefix = self.home.base / "run"
        self.notebooks = self.home.base / "nb"
        self.port = free_port()
        self.proc, self.out = start_group(
            ["make", "--no-print-directory", "run", f"PORT={self.port}",
             f"RUN_PREFIX={self.run_prefix}", f"NOTEBOOK_DIR={self.notebooks}"],
            cwd=ROOT, env=self.home.env())
        m = self.out.wait_for(URL_RE, MAKE_RUN_URL_S)
        if not m:
            self.stop()
            raise AssertionError(f"`make run` printed no http://127.0.0.1:PORT/lab?token=... "
                                 f"URL:\n{self.out.text()}")
        self.url, self.token = m.group(0), m.group(2)
        self.api = Api(f"http://127.0.0.1:{self.port}", self.token)
        if not wait_until(self.api.answers, SERVER_START_S):
            self.stop()
            raise AssertionError(f"the server does not answer:\n{self.out.text()}")

    def kernel_processes(self, exclude=()):
        """Processes of this run's kernels: launchers, runtimes, JVMs (their
        environment names this home's folders), not the server itself."""
        return [p for p in self.home.processes(exclude={self.proc.pid, *exclude})
                if "jupyterlab" not in " ".join(p.cmdline()) and p.name() != "make"]

    def stop(self):
        """SIGTERM the group; (stopped by SIGTERM, processes left, port free)."""
        stopped = stop_group(self.proc)
        self.out.join(EXIT_S)
        left = describe(self.home.processes())
        free = wait_until(lambda: port_is_free(self.port), EXIT_S)
        self.home.close()
        return stopped, left, free


def screenshot_dir():
    """Where the browser tests save their screenshots ($SPARK_K8S_SCREENSHOTS, else
    build/screenshots); created."""
    d = Path(os.environ.get("SPARK_K8S_SCREENSHOTS") or ROOT / "build" / "screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d
