"""test_jupyterlab_progress.py — JupyterLab 4 in headless Chromium with a kernel on the kubernetes
runtime (the fake cluster): while the kernel pod cannot be scheduled, the waiting cell shows
why ("pod pending: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu."), and once the pod
starts, the steps of its start and then the cell's own result.

Self-contained (Jupyter Server from the Jupyter environment, kernelspecs of support/cluster.py,
Chromium through /usr/bin/chromedriver); a screenshot of the cell goes to
$SPARK_K8S_SCREENSHOTS (else build/screenshots)/kubernetes-progress.png.  Deadlines are
generous; no duration is asserted."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import psutil
import pytest

from support import cluster as kubecluster
from support.jupyterlab import browser_missing, free_port, screenshot_dir, start_chromium
from support.procs import wait_until

JPY = Path(sys.executable)
UNSCHEDULABLE = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
WAIT_S = 300


class Server:
    """Jupyter Server (JupyterLab 4) for the kubernetes kernelspec, in a home of its own."""

    def __init__(self, cluster, base):
        self.base = Path(base)
        self.port, self.token = free_port(), os.urandom(16).hex()
        self.notebooks = self.base / "nb"
        self.notebooks.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if k not in cluster.foreign_settings()}
        env.update(cluster.launcher_env())
        env.update({"HOME": str(self.base), "JUPYTER_CONFIG_DIR": str(self.base / "cfg"),
                    "JUPYTER_DATA_DIR": str(self.base / "data"),
                    "JUPYTER_RUNTIME_DIR": str(self.base / "rt"), "IPYTHONDIR": str(self.base / "ipy")})
        self.log = open(self.base / "server.log", "w")
        self.proc = subprocess.Popen(
            [str(JPY), "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             "--port-retries=0", f"--ServerApp.token={self.token}", "--allow-root",
             f"--ServerApp.root_dir={self.notebooks}",
             '--KernelSpecManager.allowed_kernelspecs=["spark-4.1-baseline"]'],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        assert wait_until(self.answers, 120, interval=0.2), self.log_text()

    def api(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "token " + self.token,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
            return json.loads(data) if data else None

    def answers(self):
        try:
            return self.api("GET", "/api/status") is not None
        except OSError:
            return False

    def log_text(self):
        self.log.flush()
        return (self.base / "server.log").read_text(errors="replace")[-4000:]

    def stop(self):
        for k in self.api("GET", "/api/kernels") or []:
            self.api("DELETE", "/api/kernels/" + k["id"])
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


@pytest.fixture
def cluster(fakekube_factory, tmp_path):
    fake = fakekube_factory(check_leftovers=True, **kubecluster.fake_options(str(tmp_path)))
    c = kubecluster.Cluster(fake, tmp_path / "cluster")
    c.install("4.1", "baseline", "--driver-memory", "512m")
    return c


@pytest.fixture
def browser():
    why = browser_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {why}")
        pytest.skip(why)
    profile = tempfile.mkdtemp(prefix="sk8s-kube-chromium-")
    driver = start_chromium(profile)
    root = psutil.Process(driver.service.process.pid)
    procs = [root, *root.children(recursive=True)]
    try:
        yield driver
    finally:
        procs += [p for p in root.children(recursive=True) if p not in procs] if root.is_running() else []
        driver.quit()
        gone = wait_until(lambda: not [p for p in procs if p.is_running() and p.status() != "zombie"], 30)
        for p in procs:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        shutil.rmtree(profile, ignore_errors=True)
        assert gone, "Chromium left processes"


CELL = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


def fresh(action):
    """ACTION(), again while JupyterLab re-renders what it found (a stale element: None)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    try:
        return action()
    except (StaleElementReferenceException, WebDriverException):
        return None


def first_cell_outputs(driver):
    """The text of the notebook's first cell's outputs, looked up afresh."""
    from selenium.webdriver.common.by import By
    return fresh(lambda: "\n".join(o.text for o in driver.find_elements(By.CSS_SELECTOR, CELL)[0]
                                   .find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output"))) or ""


def first_cell_prompt(driver):
    """'[ ]:' before the cell runs, '[*]:' while it waits or runs, '[1]:' after."""
    from selenium.webdriver.common.by import By
    return fresh(lambda: driver.find_elements(By.CSS_SELECTOR, CELL)[0].find_element(
        By.CSS_SELECTOR, ".jp-InputPrompt").text.strip()) or ""


def type_into_first_cell(driver, code):
    """Click the first cell's editor and type CODE; True once the editor holds it."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    def editor():
        cells = driver.find_elements(By.CSS_SELECTOR, CELL)
        shown = [e for e in cells[0].find_elements(By.CSS_SELECTOR, ".cm-content") if e.is_displayed()] if cells else []
        return shown[0] if shown else None

    def click_and_type():
        e = editor()
        if e is None:
            return False
        if e.text != code:
            ActionChains(driver).move_to_element(e).click().perform()
            ActionChains(driver).send_keys(code).perform()
        return editor().text == code
    return wait_until(lambda: fresh(click_and_type), 60, interval=1.0)


def test_a_waiting_cell_shows_the_pods_progress_and_why_it_waits(cluster, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    fake = cluster.fake
    fake.faults.unschedulable(message=UNSCHEDULABLE)
    server = Server(cluster, tmp_path / "jupyter")
    try:
        server.api("PUT", "/api/contents/k8s.ipynb", {"type": "notebook", "content": {
            "cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [], "execution_count": None,
                       "id": "c1"}],
            "metadata": {"kernelspec": {"name": "spark-4.1-baseline", "display_name": "Spark 4.1",
                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}})
        shots = screenshot_dir()
        browser.get(f"{server.url}/lab/tree/k8s.ipynb?token={server.token}")
        assert type_into_first_cell(browser, "print(6 * 7)"), server.log_text()
        for _ in range(3):  # Shift+Enter, again if JupyterLab had not taken the keys yet
            ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
            if wait_until(lambda: first_cell_prompt(browser) not in ("", "[ ]:"), 30):
                break
        # the pod cannot be scheduled: the waiting cell says why
        pending = wait_until(lambda: "pod pending: " + UNSCHEDULABLE in first_cell_outputs(browser), WAIT_S)
        browser.save_screenshot(str(shots / "kubernetes-pending.png"))
        assert pending, first_cell_outputs(browser)
        fake.faults.clear_unschedulable()
        done = wait_until(lambda: "\n42" in "\n" + first_cell_outputs(browser), WAIT_S)
        browser.save_screenshot(str(shots / "kubernetes-progress.png"))
        text = first_cell_outputs(browser)
        assert done, text
        # the steps of the start came before the result, in order
        # (the kubelet's events and the pod's status come on two watches: "Started container"
        # may come before or after "is running")
        steps = ["pod pending: " + UNSCHEDULABLE, "pod scheduled on fake-node-1", "Pulling image",
                 "is running", "connecting to the kernel"]
        at = [text.find(s) for s in steps]
        assert -1 not in at and at == sorted(at), text
        assert text.splitlines()[-1] == "42", text
    finally:
        server.stop()
    fake.wait_no_leftovers(timeout=60)
