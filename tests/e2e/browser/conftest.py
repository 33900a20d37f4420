"""A real Chromium driven by Playwright, and the services it talks to (directory over HTTPS, MDM over HTTP).

The browser is the system's Chromium (``/usr/bin/chromium`` from the distribution, or
``POSTUREBRIDGE_CHROMIUM``); Playwright's own browser downloads are not needed. Without Chromium or
Playwright the browser tests skip with the reason, so the suite still passes on a machine without them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.directory.conftest import (  # noqa: F401  (fixtures)
    DirectoryServer,
    SeededTenant,
    _reset_clock,
    directory_server,
    tenant,
)
from tests.integration.mdm.conftest import LiveMdm, live_mdm  # noqa: F401  (fixture)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

pytestmark = pytest.mark.e2e


def chromium_path() -> str | None:
    candidates = [os.environ.get("POSTUREBRIDGE_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((path for path in candidates if path and Path(path).exists()), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module: Playwright's sync API keeps an event loop running in this thread while
    it is open, so it must be closed before other modules' tests call asyncio.run()."""
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (apt-get install chromium, or set POSTUREBRIDGE_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (scripts/bootstrap test installs it)")
    with sync_playwright() as playwright:
        # --no-sandbox: the tests may run as root (containers), where Chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile; HTTPS errors ignored because the directory's certificate comes from the
    test's own local CA, which the system's Chromium does not trust."""
    created = browser.new_context(ignore_https_errors=True)
    created.set_default_timeout(15_000)
    try:
        yield created
    finally:
        created.close()
