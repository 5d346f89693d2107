"""Browser tests: Playwright for Python driving Debian's Chromium (installed by .ci/run with apt; Playwright's
own browser download is not used) at a phone's 360 x 640, against the real platform. Every page visited is
checked with axe-core (no serious or critical violation) and photographed under var/screenshots/."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ROOT
from tests.platform import start_platform

from .platform_web import ADMIN_PASSWORD, ADMIN_USER, SERVICES, WEB, WebPlatform, ensure_built

CHROMIUM = os.environ.get("NRMM_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 640}
expect.set_options(timeout=10_000)  # two shared cores: a registration crosses three services


@pytest.fixture(scope="package")
def web(infra):
    ensure_built()
    platform = start_platform(infra, SERVICES, {"NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
                                                "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
                                                "NRMM_SMS_RESEND_SECONDS": "0"})
    try:
        yield WebPlatform(platform)
    finally:
        platform.stop()


def launch_args(*extra: str) -> dict:
    return {"executable_path": CHROMIUM, "args": ["--no-sandbox", "--use-fake-ui-for-media-stream", *extra]}


# Playwright's sync API runs an event loop in this thread while it lives: it is started for this package only
# (not for the whole session, as pytest-playwright's own fixtures would), so asyncio tests elsewhere still run
@pytest.fixture(scope="package")
def playwright():
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright):
    launched = playwright.chromium.launch(**launch_args())
    yield launched
    launched.close()


@pytest.fixture
def page(browser, web):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=web.url, timezone_id="Asia/Shanghai")
    yield context.new_page()
    context.close()


class Watch:
    """What a user would suffer without seeing it in a screenshot: CSP refusals and script errors."""

    def __init__(self, page):
        self.problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and "Content Security Policy" in m.text
                and self.problems.append(m.text))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def assert_clean(self):
        assert not self.problems, self.problems


@pytest.fixture
def watch(page):
    watched = Watch(page)
    yield watched
    watched.assert_clean()


def audit(page, name: str) -> None:
    """axe-core on the page as it stands (no serious or critical violation), and a screenshot of it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # a dropdown just chosen from is still fading out (Element Plus poppers close with a transition): audit the
    # page as it settles, not the half-closed list
    page.wait_for_function("() => ![...document.querySelectorAll('.el-select__popper')]"
                           ".some(e => e.offsetParent !== null && getComputedStyle(e).display !== 'none')",
                           timeout=5000)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by the driver: not subject to the page's CSP
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.html)}));
    }""")
    assert result == [], f"axe on {name}: " + json.dumps(result, ensure_ascii=False, indent=1)
