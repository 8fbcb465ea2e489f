"""The reviewer's site in a real browser: open the paper, follow a figure to its notebook.

Serves ``BUILD/site`` on localhost and drives headless Chromium (Debian's
``chromium`` and ``chromedriver``) with Selenium. Screenshots of the paper and
of the linked notebook are saved under ``build/screenshots/`` for a person to
look at. Skipped, with the reason, where Chromium or its driver is missing.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from .browser_helpers import CHROMEDRIVER, CHROMIUM, headless_chromium
from .conftest import ROOT

SCREENSHOTS = ROOT / "build" / "screenshots"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Chromium and chromedriver are not installed (Debian packages chromium and "
           "chromium-driver; .ci/run installs them where apt-get can)")


@pytest.fixture(scope="module")
def site_url(built: Path):
    site = built / "site"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(tmp_path_factory.mktemp("chromium-profile"), "1280,1600", 60)
    yield driver
    driver.quit()


def test_paper_figure_links_to_the_notebook_that_made_it(site_url: str, browser):
    from selenium.webdriver.common.by import By

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.get(f"{site_url}/index.html")
    browser.find_element(By.LINK_TEXT, "The paper").click()
    assert browser.current_url.endswith("/paper.html")
    figure = browser.find_element(By.ID, "fig-comparison")
    browser.execute_script("arguments[0].scrollIntoView();", figure)
    assert figure.find_element(By.TAG_NAME, "img").get_property("naturalWidth") > 100
    caption = figure.find_element(By.TAG_NAME, "figcaption")
    assert "03-dual-perspective.ipynb" in caption.text and "sha256" in caption.text
    browser.save_screenshot(str(SCREENSHOTS / "paper-figure.png"))

    link = caption.find_element(By.PARTIAL_LINK_TEXT, "03-dual-perspective.ipynb")
    link.click()
    assert browser.current_url.endswith("/notebooks/comparison.html")
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "fig-comparison.svg" in page  # the cell that saved the figure
    images = [img for img in browser.find_elements(By.TAG_NAME, "img")
              if img.get_property("naturalWidth") > 100]
    assert images, "the notebook page shows no figure"
    browser.execute_script("arguments[0].scrollIntoView();", images[0])
    browser.save_screenshot(str(SCREENSHOTS / "notebook-comparison.png"))


def test_site_pages_use_relative_links_only(built: Path):
    import re

    for page in (built / "site").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for href in re.findall(r'(?:href|src)="([^"#][^"]*)"', text):
            assert not href.startswith("/"), (page.name, href)
            if href.startswith(("http://", "https://", "data:", "mailto:")):
                continue  # outbound links (licence, DOIs) and embedded images load nothing
            target = (page.parent / href.split("#")[0]).resolve()
            assert target.exists(), (page.name, href[:80])
