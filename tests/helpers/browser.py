"""Headless Chromium for the HTML report: find it, start it isolated, screenshot a page.

Used by ``tests/reports/test_html_browser.py`` and the scripts in ``benchmarks/``. Debian's
``chromium`` and ``chromium-driver`` packages are what CI installs (``.ci/run``).
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVER_NAMES = ("chromedriver",)
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def find_browser() -> tuple[str | None, str | None, str]:
    """(chromium, chromedriver, why-not) -- why-not is empty when both were found."""
    browser = next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)
    driver = next((p for n in DRIVER_NAMES if (p := shutil.which(n))), None)
    missing = [
        name for name, path in (("chromium", browser), ("chromedriver", driver)) if path is None
    ]
    why = ""
    if missing:
        why = (
            f"{' and '.join(missing)} not found on PATH "
            "(Debian: apt-get install chromium chromium-driver)"
        )
    return browser, driver, why


def start_chromium(user_data_dir: Path, width: int = 1280, height: int = 1000) -> Any:
    """A selenium Chrome driver on headless Chromium, with browser console logging on."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path, why = find_browser()
    if why:
        raise RuntimeError(why)
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=str(driver_path)), options=options)


def screenshot(
    driver: Any, path: Path, *, full_page: bool = False, height: int | None = None
) -> None:
    """Save a PNG of the page: the window, the first ``height`` px, or the whole page."""
    if not full_page and height is None:
        driver.save_screenshot(str(path))
        return
    width = int(driver.execute_script("return document.documentElement.clientWidth"))
    total = int(driver.execute_script("return document.documentElement.scrollHeight"))
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {
                "x": 0,
                "y": 0,
                "width": width,
                "height": min(total, height or total),
                "scale": 1,
            },
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def severe_console_messages(driver: Any) -> list[str]:
    """Console errors (and failed loads, CSP violations) since the last call."""
    return [
        entry.get("message", "")
        for entry in driver.get_log("browser")
        if entry.get("level") in ("SEVERE", "ERROR")
    ]
