"""The browser view behind a TLS reverse proxy, in headless Chromium: the session cookie is `__Host-` and Secure, and
logging out removes it from the browser (a deletion without the attributes it was set with would be ignored, and the
browser would keep the session)."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_web_browser import BOT, ROSTERS, free_port
from tests.harness.botrunner import BotRunner, write_config
from tests.harness.browser import chromium, screenshot_path
from tests.harness.synapse import PASSWORD
from tests.harness.tlsproxy import TlsProxy

pytestmark = pytest.mark.integration


async def test_logout_behind_a_tls_proxy_removes_the_cookie(synapse, people, tmp_path):
    police = await people("polis1")
    chef = await people("chef.c")
    room = await police.create_room([BOT])
    web_port, proxy_port = free_port(), free_port()
    proxy = TlsProxy(f"http://127.0.0.1:{web_port}", tmp_path, proxy_port)
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [room], [police.user_id], rosters=ROSTERS,
                          extra=f'\n[web]\nenabled = true\nport = {web_port}\npublic_url = "{proxy.url}"\n')
    bot = BotRunner(config)
    await bot.start()
    await proxy.start()
    try:
        dm = await chef.create_room([BOT])
        await chef.wait_joined(dm, BOT)
        start = len(chef.received)
        await chef.send(dm, "!webb")
        message = await chef.wait_for(lambda m: m.sender == BOT and "/login/" in m.body, timeout=30, start=start)
        link = re.search(r"https://127\.0\.0\.1:\d+/login/\S+", message.body)
        assert link, message.body
        async with chromium() as browser:
            context = await browser.new_context(ignore_https_errors=True, locale="sv-SE")
            page = await context.new_page()
            await page.goto(link.group(0))
            await page.click("#login")
            await page.wait_for_url(f"{proxy.url}/")
            cookies = {c["name"]: c for c in await context.cookies()}
            session = cookies.get("__Host-jourbot")
            assert session is not None and session["secure"] and session["httpOnly"] and session["path"] == "/"
            assert session["sameSite"] == "Strict"
            assert "__Host-jourbot-login" not in cookies, "the pre-login cookie goes once it has served"

            await page.click("form.logout button")
            await page.wait_for_url(f"{proxy.url}/login")
            await page.screenshot(path=screenshot_path("logged-out-tls"))
            names = [c["name"] for c in await context.cookies()]
            assert "__Host-jourbot" not in names, f"the browser kept the session cookie: {names}"
            await page.goto(f"{proxy.url}/")
            assert page.url == f"{proxy.url}/login"
    finally:
        await proxy.stop()
        await bot.stop()
