"""A headless Chromium for the console's tests and screenshots, driven by selenium.

Debian's ``chromium`` and ``chromium-driver`` packages (``/usr/bin/chromium``,
``/usr/bin/chromedriver``; ``.ci/run`` installs them). Without them the tests are skipped,
except in CI (``CI`` set), where they fail: the same rule as Java and Go.

Chromium is started with its background services off: on a closed network (CI, this
machine) its own connections (component updates, sync, QUIC probes) are refused and it logs
them as errors, which would be read as the page's. Each browser gets a fresh profile
directory, so no state passes from one run to the next.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver",)

FLAGS = (
    "--headless",
    "--no-sandbox",  # root in containers, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=en-US",
)

WINDOW = (1280, 800)


def _first_existing(candidates: tuple[str, ...], env: str) -> str | None:
    chosen = os.environ.get(env)
    if chosen:
        return chosen if Path(chosen).exists() else None
    for path in candidates:
        if Path(path).exists():
            return path
    return None


def chromium_paths() -> tuple[str, str] | str:
    """(chromium, chromedriver), or the reason they cannot be used. ``KPY_CHROMIUM`` and
    ``KPY_CHROMEDRIVER`` name other paths."""
    chromium = _first_existing(CHROMIUM_CANDIDATES, "KPY_CHROMIUM")
    driver = _first_existing(CHROMEDRIVER_CANDIDATES, "KPY_CHROMEDRIVER")
    if chromium is None or driver is None:
        return "headless Chromium needs Debian's chromium and chromium-driver packages"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the browser tests need selenium (pip install -e '.[test]')"
    return chromium, driver


def require_chromium() -> tuple[str, str]:
    """The paths, else skip the test (fail it in CI, where .ci/run installs the packages)."""
    found = chromium_paths()
    if isinstance(found, str):
        if os.environ.get("CI"):
            pytest.fail(f"{found} (CI installs them: .ci/run)")
        pytest.skip(found)
    return found


class Browser:
    """One headless Chromium with its driver: ``open(url)``, ``errors()`` of the console log,
    ``screenshot(path)``; ``quit()`` ends both processes and removes the profile."""

    def __init__(self, chromium: str, chromedriver: str, *, window=WINDOW) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="kpy-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.add_argument(f"--window-size={window[0]},{window[1]}")
        # Everything the pages log (console.* and failed loads) is readable by get_log.
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            self.driver = webdriver.Chrome(service=Service(chromedriver), options=options)
        except Exception:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self.driver.set_page_load_timeout(30)
        # The page's viewport exactly ``window`` (--window-size counts the window, and
        # screenshots are of the viewport).
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": window[0], "height": window[1], "deviceScaleFactor": 1, "mobile": False},
        )

    def open(self, url: str) -> Any:
        """Load ``url`` (until the document's load event) and return the driver."""
        self.driver.get(url)
        return self.driver

    def log(self) -> list[dict[str, Any]]:
        """The browser log since the last call (chromedriver hands each entry out once)."""
        return self.driver.get_log("browser")

    def errors(self) -> list[str]:
        """The SEVERE entries since the last call: console.error, uncaught exceptions,
        resources that failed to load (a 404 for a stylesheet, a script)."""
        return [entry["message"] for entry in self.log() if entry["level"] == "SEVERE"]

    def screenshot(self, path: str | os.PathLike[str]) -> None:
        self.driver.save_screenshot(str(path))

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()
