"""The mini-program's pages in Chromium, on loopback: the first load of /m/ (a fresh browser profile each time:
nothing cached) and the gate's scan-to-verdict time, typed and through the (fake) camera. Prints figures; asserts
nothing.

    uv run python bench/web_bench.py [--loads 10] [--scans 20] [--camera-scans 5]

It starts the gateway (serving web/dist, built first when missing), notifications, registry and sites as real
processes on the real broker and database (NRMM_KAFKA_BOOTSTRAP / NRMM_MONGODB_URL, else deploy/native.sh),
registers a site and issues a China IV code through the API, and drives Debian's Chromium (--no-sandbox) at
360 x 640. The browser runs on the same cores as the services.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, endpoints  # noqa: E402

sys.path.insert(0, str(ROOT))
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.conftest import Infra  # noqa: E402
from tests.platform import start_platform  # noqa: E402
from tests.web.conftest import PHONE, launch_args  # noqa: E402
from tests.web.platform_web import ADMIN_PASSWORD, ADMIN_USER, SERVICES, WebPlatform, ensure_built, write_y4m  # noqa: E402


def figures(label: str, values: list[float], unit: str = "ms") -> None:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    print(f"{label:<46} n={len(values):<3} median {statistics.median(values):7.0f} {unit}   p90 {p90:7.0f} {unit}"
          f"   min {values[0]:7.0f} {unit}", flush=True)


def first_loads(browser, url: str, count: int) -> None:
    wall, dcl, load, kilobytes = [], [], [], []
    for _ in range(count):
        context = browser.new_context(viewport=PHONE, locale="zh-CN")  # a fresh profile: nothing cached
        page = context.new_page()
        started = time.perf_counter()
        page.goto(f"{url}/m/")
        expect(page.get_by_role("heading", name="重庆市非道路移动机械监管")).to_be_visible()
        wall.append((time.perf_counter() - started) * 1000)
        timing = page.evaluate("""() => {
            const n = performance.getEntriesByType('navigation')[0];
            const bytes = performance.getEntriesByType('resource').reduce((s, r) => s + r.transferSize, n.transferSize);
            return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, bytes};
        }""")
        dcl.append(timing["dcl"])
        load.append(timing["load"])
        kilobytes.append(timing["bytes"] / 1024)
        context.close()
    figures("first load /m/: DOMContentLoaded", dcl)
    figures("first load /m/: load event", load)
    figures("first load /m/: home page usable (heading shown)", wall)
    figures("first load /m/: bytes transferred", kilobytes, "KiB")


def gate_page(browser, url: str, site: str, password: str):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", permissions=["camera"])
    page = context.new_page()
    page.goto(f"{url}/m/login?as=site_admin")
    page.get_by_label("场地编号").fill(site)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="扫码或输入环保编码")).to_be_visible()
    return context, page


def typed_scans(browser, url: str, site: str, password: str, code: str, count: int) -> None:
    context, page = gate_page(browser, url, site, password)
    times = []
    for _ in range(count):
        page.get_by_label("环保编码").fill(code)
        started = time.perf_counter()
        page.get_by_role("button", name="核验编码").click()
        expect(page.get_by_role("alertdialog")).to_have_attribute("data-colour", "blue")
        times.append((time.perf_counter() - started) * 1000)
        page.get_by_role("button", name="返回").click()
    context.close()
    figures("gate: typed code -> full-screen verdict", times)


def camera_scans(playwright, url: str, site: str, password: str, code: str, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        video = write_y4m(Path(folder) / "card.y4m", f"NRMM:1:{code}")
        browser = playwright.chromium.launch(**launch_args("--use-fake-device-for-media-stream",
                                                           f"--use-file-for-fake-video-capture={video}"))
        context, page = gate_page(browser, url, site, password)
        times = []
        for _ in range(count):
            started = time.perf_counter()
            page.get_by_role("button", name="扫描信息卡二维码").click()
            expect(page.get_by_role("alertdialog")).to_have_attribute("data-colour", "blue", timeout=30_000)
            times.append((time.perf_counter() - started) * 1000)
            page.get_by_role("button", name="返回").click()
        browser.close()
    figures("gate: camera on -> QR decoded -> verdict", times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--camera-scans", type=int, default=5)
    args = parser.parse_args()
    ensure_built()
    kafka, mongo = endpoints()
    platform = start_platform(Infra(kafka, mongo, "bench"), SERVICES, {
        "NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER, "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "NRMM_LOG_LEVEL": "WARNING", "NRMM_SMS_RESEND_SECONDS": "0"})
    try:
        web = WebPlatform(platform)
        site, password = web.register_site(district="04", street="解放碑街道")
        code = web.issue_code(district="04", stage="4")
        web.gate_knows(site, password, code, "admitted")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**launch_args())
            first_loads(browser, web.url, args.loads)
            typed_scans(browser, web.url, site, password, code, args.scans)
            browser.close()
            camera_scans(playwright, web.url, site, password, code, args.camera_scans)
    finally:
        platform.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
