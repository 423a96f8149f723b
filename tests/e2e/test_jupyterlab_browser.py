"""test_jupyterlab_browser.py — JupyterLab 4, served by `make run`, in headless Chromium:
the launcher offers the eight kernels with their display names and logos; a notebook
started from the "Spark 4.1" card runs a Spark query and shows the result with a link
to the Spark UI, which opens Spark's jobs, stages and executors pages through
JupyterLab's own address and login (serverext/spark_k8s_ui); a longer query shows its progress bar moving under the cell, then
one summary line; the toolbar's stop button interrupts a running Spark job (the next
cell finds no job running); Kernel > Restart Kernel replaces every process of the
kernel; Kernel > Shut Down Kernel leaves no process, folder or connection file.
Screenshots go to $SPARK_K8S_SCREENSHOTS (else build/screenshots), named below.
"""
import os
import re
import shutil
import tempfile
import time
import urllib.error

import pytest

from support import jupyterlab as h
from support.procs import describe, living, processes_naming, wait_until

CARD = "Spark 4.1"
KERNEL = "spark-4.1-baseline"


@pytest.fixture(scope="module")
def run():
    r = h.MakeRun()
    yield r
    stopped, left, free = r.stop()
    assert stopped, "`make run` ignored SIGTERM"
    assert left == [], f"processes left after `make run` stopped: {left}"
    assert free, f"port {r.port} still taken"


@pytest.fixture(scope="module")
def browser(run):
    why = h.browser_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)
    profile = tempfile.mkdtemp(prefix="sk8s-e2e-chromium-")
    driver = h.start_chromium(profile)
    procs = h.chromium_processes(driver)
    driver.get(run.url)
    try:
        yield driver
    finally:
        procs += [p for p in h.chromium_processes(driver) + processes_naming(profile)
                  if p not in procs]
        driver.quit()
        gone = wait_until(lambda: not living(procs) and not processes_naming(profile),
                            h.EXIT_S)
        for p in living(procs + processes_naming(profile)):
            p.kill()
        shutil.rmtree(profile, ignore_errors=True)
        assert gone, "Chromium left processes"


def find(driver, css, timeout=h.CELLS_DONE_S, where=None):
    from selenium.webdriver.common.by import By
    found = wait_until(lambda: (where or driver).find_elements(By.CSS_SELECTOR, css), timeout)
    assert found, f"nothing matches {css!r} within {timeout} s"
    return found


def shot(driver, name):
    path = h.screenshot_dir() / name
    assert driver.save_screenshot(str(path))
    assert h.png_size(path.read_bytes()) is not None
    return path


def menu(driver, top, item):
    """Click menu TOP of the menu bar, then its entry starting with ITEM."""
    for label in find(driver, ".lm-MenuBar-itemLabel"):
        if label.text == top:
            label.click()
            break
    else:
        raise AssertionError(f"no menu {top!r}")
    entries = find(driver, ".lm-Menu-content .lm-Menu-itemLabel")
    for e in entries:
        if e.text.startswith(item):
            e.click()
            return
    raise AssertionError(f"no entry {item!r} in {[e.text for e in entries]}")


def run_cell(driver, code, until, timeout=h.CELLS_DONE_S):
    """Type CODE into the notebook's last cell, run it (Shift+Enter), wait until
    UNTIL(text of that cell's outputs) is true; that text."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    idle = wait_until(lambda: "| Idle" in driver.execute_script(
        "return document.querySelector('#jp-main-statusbar')?.innerText || ''"), h.CELLS_DONE_S)
    assert idle, "the notebook's kernel never became idle"
    cells = find(driver, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    cell = cells[-1]
    editor = find(driver, ".cm-content", where=cell)[0]
    editor.click()
    ActionChains(driver).send_keys(code).perform()
    typed = wait_until(lambda: editor.text.replace("\n", "") == code.replace("\n", ""), 10)
    assert typed, f"the editor holds {editor.text!r}, not {code!r}"
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    text = wait_until(lambda: (lambda t: t if until(t) else None)(outputs_of(cell)), timeout)
    assert text, f"the cell {code!r} never showed what was expected: {outputs_of(cell)!r}"
    return text


def outputs_of(cell):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    try:
        return "\n".join(o.text for o in cell.find_elements(By.CSS_SELECTOR,
                                                              ".jp-OutputArea-output"))
    except StaleElementReferenceException:
        return ""


def test_launcher_offers_the_eight_kernels_with_logos(run, browser):
    cards = wait_until(lambda: (lambda c: c if len(c) == len(h.KERNELSPECS) else None)(
        browser.find_elements("css selector", '.jp-LauncherCard[data-category="Notebook"]')),
        h.SERVER_START_S)
    assert cards, "the launcher never showed the eight kernels"
    titles = sorted(c.get_attribute("title") for c in cards)
    assert titles == sorted(h.KERNELSPECS.values()), titles
    script = """
        return Array.from(document.querySelectorAll(
            '.jp-LauncherCard[data-category="Notebook"] img')).map(
            i => [i.closest('.jp-LauncherCard').title, i.getAttribute('src'),
                  i.complete && i.naturalWidth > 0]);"""
    # every logo loaded (and drawn with a size) once the images have come in
    logos = wait_until(lambda: (lambda ls: ls if all(ok for _, _, ok in ls) else None)(
        browser.execute_script(script)), 30) or browser.execute_script(script)
    by_title = {title: (src, ok) for title, src, ok in logos}
    for name, title in h.KERNELSPECS.items():
        src, ok = by_title[title]
        assert src.endswith(f"/kernelspecs/{name}/logo-svg.svg"), (title, src)
        assert ok, f"the logo of {title} did not load"
    shot(browser, "jupyterlab-launcher.png")


def spark_ui_pages(run, browser, url):
    """The first cell's Spark UI link, in a new tab of the same browser: Spark's jobs,
    stages and executors pages through JupyterLab's own address and login (no
    port-forward, no port of the driver's), every link and script below the route."""
    from selenium.webdriver.common.by import By
    notebook = browser.current_window_handle
    browser.switch_to.new_window("tab")
    try:
        browser.get(url)
        assert wait_until(lambda: browser.current_url == url + "jobs/", 60), browser.current_url
        assert wait_until(lambda: "Spark Jobs" in browser.find_element(By.TAG_NAME, "body").text, 60)
        assert "collect at" in browser.find_element(By.TAG_NAME, "body").text
        shot(browser, "spark-ui-jobs.png")
        for tab, page, want in (("Stages", "stages/", "Completed Stages"),
                                ("Executors", "executors/", "driver")):
            browser.find_element(By.LINK_TEXT, tab).click()
            assert wait_until(lambda: browser.current_url == url + page, 60), browser.current_url
            # the executors table is filled by Spark's script from its REST API (the route too)
            # ... and says "Loading ..." until the last of its requests came back
            assert wait_until(lambda: want in browser.find_element(By.TAG_NAME, "body").text and
                              "Loading" not in browser.find_element(By.TAG_NAME, "body").text, 60), \
                browser.find_element(By.TAG_NAME, "body").text[:2000]
            shot(browser, "spark-ui-%s.png" % page.rstrip("/"))
        srcs = browser.execute_script(
            "return Array.from(document.querySelectorAll('script[src], link[href]'))"
            ".map(e => e.src || e.href);")
        assert srcs and all(x.startswith(url) for x in srcs), srcs
    finally:
        browser.close()
        browser.switch_to.window(notebook)
    # the same pages need the server's login: with its token they come, without it a
    # client gets the login page, never Spark's
    path = url[len(run.url.split("/lab?")[0]):]
    status, kind, body = run.api.request("GET", path + "executors/")
    assert status == 200 and kind.startswith("text/html") and b"Executors" in body
    status, final, body = h.browse(url + "jobs/")
    assert "/login" in final and "Spark Jobs" not in body, final
    # another kernel id is no one's UI
    missing = re.sub(r"/ui/[0-9a-f-]{36}/", "/ui/00000000-0000-4000-8000-000000000000/", url)
    try:
        run.api.request("GET", missing[len(run.url.split("/lab?")[0]):] + "jobs/")
        raise AssertionError("a kernel id of no kernel was served")
    except urllib.error.HTTPError as e:
        assert e.code == 404, e.code


def test_notebook_query_interrupt_restart_shutdown(run, browser):
    # a notebook from the launcher's "Spark 4.1" card
    for card in find(browser, '.jp-LauncherCard[data-category="Notebook"]'):
        if card.get_attribute("title") == CARD:
            card.click()
            break
    find(browser, ".jp-NotebookPanel .jp-Notebook .jp-Cell .cm-content")

    text = run_cell(browser, 'spark.range(10**6).selectExpr("sum(id)").collect()[0][0]',
                    lambda t: "499999500000" in t)
    links = browser.execute_script("""
        return Array.from(document.querySelectorAll('.jp-OutputArea-output a')).map(
            a => [a.innerText, a.href]);""")
    ui = [href for t, href in links if t == "Spark UI"]
    origin = run.url.split("/lab?")[0]
    assert len(ui) == 1 and re.fullmatch(re.escape(origin) + r"/spark-k8s/ui/[0-9a-f-]{36}/", ui[0]), \
        (links, text)
    shot(browser, "jupyterlab-query.png")
    spark_ui_pages(run, browser, ui[0])

    # Spark's progress under the running cell: the bar moves, then one summary line
    seen, shots = [], []
    before = browser.execute_script(
        "return document.querySelectorAll('.spark-k8s-progress').length")

    def progress(t):
        live = browser.execute_script("""
            var d = document.querySelectorAll('.spark-k8s-progress');
            return d.length > arguments[0] ? d[arguments[0]].innerText : '';""", before)
        if live and (not seen or seen[-1] != live):
            seen.append(live)
            if re.search(r"[1-9][0-9]*/[0-9]+ tasks", live) and "running" in live and not shots:
                shots.append(shot(browser, "jupyterlab-progress.png"))
        return "Spark:" in live and " jobs, " in live and "tasks," in live and "running" not in live

    text = run_cell(browser, "spark.range(0, 3 * 10**8, numPartitions=8).selectExpr('id % 13 AS k')"
                    ".groupBy('k').count().orderBy('k').collect()[0]['count']", progress)
    moving = [x for x in seen if "/" in x and "tasks" in x and " jobs, " not in x]
    assert len(moving) >= 2, f"the progress display did not move: {seen}"
    assert seen[-1].startswith("Spark:") and " jobs, " in seen[-1], seen[-1]
    assert shots, "no progress display was seen while the job ran"
    shot(browser, "jupyterlab-progress-summary.png")

    kernels = run.api.json("GET", "/api/kernels")[1]
    assert [k["name"] for k in kernels] == [KERNEL], kernels
    before = run.kernel_processes()
    assert any(p.name() == "java" for p in living(before)), describe(before)

    # the stop button interrupts a Spark job that would run for hours
    started = []

    def started_then_stop(t):
        if "job starting" in t and not started:
            started.append(time.monotonic())
        if started and len(started) == 1 and time.monotonic() - started[0] > 4:
            started.append(time.monotonic())
            # the toolbar's ■ (a jp-button web component in JupyterLab 4)
            find(browser, '.jp-NotebookPanel-toolbar [data-jp-item-name="interrupt"] '
                          'jp-button, .jp-NotebookPanel-toolbar '
                          '[data-jp-item-name="interrupt"] button', timeout=30)[0].click()
        return "KeyboardInterrupt" in t

    text = run_cell(browser, 'print("job starting", flush=True)\n'
                    'spark.range(0, 10**13, numPartitions=2).selectExpr("max(id)").collect()',
                    started_then_stop)
    shot(browser, "jupyterlab-interrupted.png")
    # (one line: the editor indents typed blocks on its own)
    text = run_cell(browser,
                    'exec("import time\\nt = time.monotonic()\\nwhile sc.statusTracker()'
                    '.getActiveJobsIds() and time.monotonic() - t < 60: time.sleep(0.2)"); '
                    "print('active jobs:', sorted(sc.statusTracker().getActiveJobsIds()))",
                    lambda t: "active jobs:" in t)
    assert "active jobs: []" in text, text

    # Kernel > Restart Kernel…: every process of the kernel replaced
    menu(browser, "Kernel", "Restart Kernel")
    find(browser, ".jp-Dialog-button.jp-mod-accept")[0].click()
    gone = wait_until(lambda: not living(before), h.EXIT_S * 2)
    assert gone, f"left after the restart: {describe(living(before))}"
    text = run_cell(browser, "6 * 7", lambda t: "42" in t)
    after = run.kernel_processes()
    assert after and not set(p.pid for p in after) & set(p.pid for p in before)

    # Kernel > Shut Down Kernel: nothing left
    menu(browser, "Kernel", "Shut Down Kernel")
    accept = wait_until(lambda: browser.find_elements(
        "css selector", ".jp-Dialog-button.jp-mod-accept"), 3)
    if accept:
        accept[0].click()
    assert wait_until(lambda: not run.api.json("GET", "/api/kernels")[1], h.EXIT_S)
    gone = wait_until(lambda: not living(after) and not run.home.private_dirs()
                        and not run.home.connection_files(), h.EXIT_S)
    assert gone, (describe(living(after)), run.home.private_dirs(),
                  run.home.connection_files())
    shot(browser, "jupyterlab-shutdown.png")
