"""A real headless chromium driven through chromium-driver and Selenium, for page tests.

Debian's ``chromium`` and ``chromium-driver`` (no Selenium Manager download: both paths are
given), a fresh profile in the test's tmp dir and no background traffic to Google's services.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1600,1000", "--hide-scrollbars")


def require_chromium() -> None:
    """Skip the calling test, saying why, when chromium, chromium-driver or Selenium is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing: install Debian's chromium and chromium-driver (make setup)")
    pytest.importorskip("selenium", reason="selenium missing: pip install -e '.[test]'")


@contextmanager
def chromium(tmp_path: Path):
    """A Selenium WebDriver of a fresh headless chromium; quits it (and its chromedriver) on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tmp_path / "chromium-profile"
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
