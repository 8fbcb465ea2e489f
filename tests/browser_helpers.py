"""Debian's Chromium under Selenium, as the browser tests drive it (headless, offline, root)."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

#: Flags for a root, offline, headless run: no sandbox, GPU or background traffic.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync")


def headless_chromium(profile: Path, window: str, page_load_timeout: int):
    """A Chrome WebDriver on Debian's Chromium with a fresh profile in ``profile``.

    ``window`` is the window size as "WIDTH,HEIGHT"; the caller quits the driver.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={window}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(page_load_timeout)
    return driver
