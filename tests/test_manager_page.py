"""The manager page at /manager, driven in headless Chromium: log in, an order placed through the
API appears in the live feed, confirming it changes its status.

Needs Debian's `chromium` (`.ci/run` installs it) and the `playwright` Python package; without
them the browser test is skipped, saying why."""

from __future__ import annotations

import shutil

import pytest

from tests.live_server import LiveServer, live_server_fixture, place_order_setup  # noqa: F401 - the fixture

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def test_the_manager_page_is_served_as_static_files(client) -> None:
    page = await client.get("/manager/")
    assert page.status_code == 200 and "<title>Back office" in page.text
    script = await client.get("/manager/manager.js")
    assert script.status_code == 200 and "orderEvents" in script.text
    assert (await client.get("/manager", follow_redirects=False)).status_code in (301, 307, 308)


def _browser_or_skip() -> None:
    if not shutil.which("chromium") and not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install -e '.[dev]')")


async def test_a_manager_sees_a_new_order_live_and_confirms_it(live_server: LiveServer) -> None:
    _browser_or_skip()
    from playwright.async_api import async_playwright

    shop = await place_order_setup(live_server)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = await browser.new_page()
            await page.goto(f"{live_server.http}/manager")
            await page.fill("#email", shop.email)
            await page.fill("#password", shop.password)
            await page.click("#login")
            await page.wait_for_selector("#live:text('live')", timeout=15000)
            # Logged in: the form is gone and the app is there.
            assert not await page.is_visible("#login-form")
            assert await page.is_visible("#app")

            number = await shop.place("browser-1")
            await page.wait_for_selector(
                f"#feed li[data-number='{number}'][data-type='CREATED']", timeout=15000
            )
            row = page.locator(f"#new-orders tr[data-number='{number}']")
            await row.wait_for(timeout=15000)
            assert await row.locator(".status").inner_text() == "NEW"

            await row.locator("button.confirm").click()
            await page.wait_for_selector(
                f"#feed li[data-number='{number}'][data-type='STATUS_CHANGED']", timeout=15000
            )
            assert await shop.status(number) == "CONFIRMED"
            await page.wait_for_selector(
                f"#new-orders tr[data-number='{number}']", state="detached", timeout=15000
            )
        finally:
            await browser.close()
