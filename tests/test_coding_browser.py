"""A student codes in JupyterLab by clicking: tick two codes, move on, reload, find them kept.

Starts JupyterLab (the project's environment, as ``make lab`` does) on a
temporary copy of notebook 7, so the student's save folder is temporary too,
and drives it with headless Chromium (Debian's ``chromium`` and
``chromedriver``) through Selenium. Screenshots go to ``build/screenshots/``
for a person to look at. Skipped, with the reason, where Chromium is missing.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .browser_helpers import CHROMEDRIVER, CHROMIUM, headless_chromium
from .conftest import ROOT
from .test_lab import free_port

SCREENSHOTS = ROOT / "build" / "screenshots"
NOTEBOOK = "07-code-it-yourself.ipynb"
TOKEN = "coding-test-token"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Chromium and chromedriver are not installed (Debian packages chromium and "
           "chromium-driver; .ci/run installs them where apt-get can)")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a temporary copy of notebook 7 beside the real data.

    Yields (url, folder).
    """
    root = tmp_path_factory.mktemp("class-lab")
    (root / "notebooks").mkdir()
    shutil.copyfile(ROOT / "notebooks" / NOTEBOOK, root / "notebooks" / NOTEBOOK)
    (root / "data").symlink_to(ROOT / "data", target_is_directory=True)
    port = free_port()
    # A person is watching this lab: the kernel must not inherit the test suite's headless flag.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MAKE") and k != "COMPENDIUM_HEADLESS"}
    env["JUPYTER_CONFIG_DIR"] = str(root / ".jupyter")  # no user settings, no news prompt
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root / 'notebooks'}",
               f"--IdentityProvider.token={TOKEN}", "--LabApp.news_url=",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(root / "lab.log", "w")
    process = subprocess.Popen(command, cwd=root / "notebooks", env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api?token={TOKEN}",
                                            timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = (root / "lab.log").read_text()[-2000:]
                    pytest.fail(f"JupyterLab did not start:\n{log}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", root / "notebooks"
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(tmp_path_factory.mktemp("chromium-profile"), "1400,1800", 90)
    yield driver
    driver.quit()


def _menu(browser, top: str, item: str) -> None:
    """Click JupyterLab's menu bar entry ``top``, then its item ``item``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    wait.until(ec.element_to_be_clickable(
        (By.XPATH, f"//li[contains(@class,'lm-MenuBar-item')][.//div[text()='{top}']]"))).click()
    wait.until(ec.element_to_be_clickable(
        (By.XPATH, f"//li[contains(@class,'lm-Menu-item')][.//div[text()='{item}']]"))).click()


def _open_and_run(browser, url: str, restart: bool) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{url}/lab/tree/{NOTEBOOK}?token={TOKEN}&reset")
    wait = WebDriverWait(browser, 90)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")))
    # the kernel must be up before running; its status shows in the toolbar
    # The kernel is connected once the status bar names it as idle.
    wait.until(ec.presence_of_element_located(
        (By.XPATH, "//*[contains(@class,'jp-StatusBar-Widget')]"
                   "[contains(., 'Python 3') and contains(., 'Idle')]")))
    if restart:
        _menu(browser, "Kernel", "Restart Kernel and Run All Cells…")
        wait.until(ec.element_to_be_clickable(
            (By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept"))).click()
    else:
        _menu(browser, "Run", "Run All Cells")
    try:
        WebDriverWait(browser, 120).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, ".compendium-coding")))
    except Exception:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / "coding-widget-failed.png"))
        raise


def _checkbox(browser, code_id: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f".compendium-code-{code_id} input[type=checkbox]")


def _scroll_to(browser, element) -> None:
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)


def _wait_text(browser, selector: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))


def test_student_codes_by_clicking_and_finds_choices_after_reload(lab, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, folder = lab
    saved = folder / "my-coding" / "you.csv"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _open_and_run(browser, url, restart=False)
    _wait_text(browser, ".compendium-progress", "segment 1 of 8")

    first, second = "MOT-LEADS", "OUT-TIME"
    for code in (first, second):
        box = _checkbox(browser, code)
        _scroll_to(browser, box)
        box.click()
    WebDriverWait(browser, 30).until(
        lambda _: saved.exists() and len(saved.read_text().splitlines()) == 3)
    with saved.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["segment_id"], r["code_id"], r["coder"]) for r in rows} == {
        ("E01-001", first, "you"), ("E01-001", second, "you")}
    panel = browser.find_element(By.CSS_SELECTOR, ".compendium-coding")
    _scroll_to(browser, browser.find_element(By.CSS_SELECTOR, ".compendium-progress"))
    browser.save_screenshot(str(SCREENSHOTS / "coding-widget-ticked.png"))

    next_button = browser.find_element(By.CSS_SELECTOR, "button.compendium-next")
    _scroll_to(browser, next_button)
    next_button.click()
    _wait_text(browser, ".compendium-progress", "segment 2 of 8")
    assert not _checkbox(browser, first).is_selected()  # the second segment starts empty

    agreement = browser.find_element(By.CSS_SELECTOR, "button.compendium-agreement")
    _scroll_to(browser, agreement)
    agreement.click()
    # the table is worded as in the paper: code names and the pooled row's label, not ids
    _wait_text(browser, ".compendium-agreement-output", "All codes (pooled)")
    _scroll_to(browser, panel)
    browser.save_screenshot(str(SCREENSHOTS / "coding-widget-agreement.png"))

    # Reload the page and restart the kernel: the choices come back from the saved file.
    _open_and_run(browser, url, restart=True)
    _wait_text(browser, ".compendium-progress", "segment 1 of 8")
    _wait_text(browser, ".compendium-status", "1 of 8 segments have a code")
    assert _checkbox(browser, first).is_selected() and _checkbox(browser, second).is_selected()
    assert not _checkbox(browser, "MOT-PARTNERS").is_selected()
    _scroll_to(browser, browser.find_element(By.CSS_SELECTOR, ".compendium-progress"))
    browser.save_screenshot(str(SCREENSHOTS / "coding-widget-resumed.png"))
