"""The browser view in a real browser: headless Chromium, the real bot, a real Synapse and real E2EE clients.

A supervisor asks for a link in chat, receives it end-to-end encrypted, logs in, sees who is on call and the planted
gap (Tomby's unit has nobody on its rotations), adds an override and finds it in `!schema` and the calendar feed,
and sees on the readiness page, asked of the real homeserver, that Bertil B on the roster has no account there,
and puts someone on leave.
A screenshot of each page is kept under var/test-artifacts/browser/.
"""

from __future__ import annotations

import re
import socket
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
import pytest
from playwright.async_api import Page

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.browser import (
    ARTIFACTS,
    chromium,
    pdf_fill_colours,
    pdf_page_sizes,
    pdf_pages,
    screenshot_path,
)
from tests.harness.people import Person
from tests.harness.synapse import PASSWORD

BOT = "@jourbot:localhost"
ROSTERS = Path(__file__).resolve().parents[1] / "integration" / "rosters"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
FREE_TEXT = "Pappan hotar med kniv"
PRIMARY_LANE = (0x2F, 0x6D, 0xB5)  # --primary in bot/web/static/style.css
pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def link_for(person: Person) -> str:
    """`person` types !webb to the bot; the link arrives in the encrypted direct room the bot opens."""
    room = await person.create_room([BOT])
    await person.wait_joined(room, BOT)
    start = len(person.received)
    await person.send(room, "!webb")
    message = await person.wait_for(lambda m: m.sender == BOT and "/login/" in m.body, timeout=30, start=start)
    assert message.encrypted and message.room_id != room
    found = re.search(r"http://\S+/login/\S+", message.body)
    assert found
    return found.group(0)


async def shot(page: Page, name: str) -> str:
    await page.screenshot(path=screenshot_path(name), full_page=True)
    html = await page.content()
    assert FREE_TEXT not in html and "kniv" not in html, f"{name} shows the alarm's free text"
    return html


async def test_a_supervisor_in_a_real_browser(synapse, people, tmp_path):
    police = await people("polis1")
    chef = await people("chef.c")
    anna = await people("anna.a")
    room = await police.create_room([BOT])
    port = free_port()
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [room], [police.user_id], rosters=ROSTERS,
                          extra=f"\n[web]\nenabled = true\nport = {port}\n")
    bot = BotRunner(config)
    await bot.start()
    try:
        await police.wait_joined(room, BOT)
        await police.send(room, f"!larm Farsta {FREE_TEXT}")
        await anna.wait_until(lambda: bool(anna.pages(BOT)), 30)
        page_event = anna.pages(BOT)[0]
        await anna.send(page_event.room_id, "!ok")
        await police.wait_for(lambda m: m.sender == BOT and "accepterat av Anna A" in m.body, timeout=30)
        await anna.send(page_event.room_id, "!påväg L1 15")
        await police.wait_for(lambda m: m.sender == BOT and "är på väg" in m.body, timeout=30)

        link = await link_for(chef)
        async with chromium() as browser:
            context = await browser.new_context(viewport={"width": 1100, "height": 800}, locale="sv-SE")
            page = await context.new_page()
            await page.goto(link)
            await page.click("#login")
            await page.wait_for_url(f"http://127.0.0.1:{port}/")
            now = await shot(page, "now")
            assert "Anna A" in now and "Chef C" in now
            tomby = page.locator("#area-tomby")
            assert "gap" in (await tomby.get_attribute("class") or "")
            assert "Ingen primärjour i tjänst" in await tomby.inner_text()
            assert "Ingen primär" not in await page.locator("#area-farsta").inner_text()

            await page.goto(f"http://127.0.0.1:{port}/units/tomjour/week")
            await shot(page, "week-gap")
            assert await page.locator(".lane.gap .bar.gap").count() == 7, "a gap every day of the week"

            # An override for tomorrow, 08:00–20:00: Bertil B primary instead of Anna A.
            tomorrow = (datetime.now(STOCKHOLM) + timedelta(days=1)).date()
            await page.goto(f"http://127.0.0.1:{port}/overrides")
            await page.select_option("select[name=user]", "@bertil.b:localhost")
            await page.select_option("select[name=unit]", "testjour")
            await page.select_option("select[name=role]", "primary")
            await page.fill("input[name=start]", f"{tomorrow}T08:00")
            await page.fill("input[name=end]", f"{tomorrow}T20:00")
            await shot(page, "overrides")
            await page.click("form.stack button[type=submit]")
            await page.wait_for_url(re.compile(r"/units/testjour/week"))
            week = await shot(page, "week")
            override_bar = page.locator(".lane.primary .bar.override")
            assert await override_bar.count() == 1 and await override_bar.inner_text() == "Bertil B"
            assert "Bertil B" in week

            start = len(chef.received)
            asked = await chef.send(chef.received[-1].room_id, f"!schema testjouren {tomorrow}")
            table = await chef.wait_for(lambda m: m.sender == BOT and m.reply_to == asked, timeout=30, start=start)
            assert re.search(r"08:00–20:00 · Primärjour · Bertil B \(byte\)", table.body), table.body

            await page.goto(f"http://127.0.0.1:{port}/feeds")
            await page.select_option("select[name=whose]", "unit:testjour")
            await page.click("form.stack button[type=submit]")
            feed_url = (await page.locator("#feed-url").inner_text()).strip()
            await shot(page, "feeds")
            async with aiohttp.ClientSession() as http, http.get(feed_url) as resp:
                ics = await resp.text()
            starts = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 8, tzinfo=STOCKHOLM)
            assert resp.status == 200
            held = [str(e.get("X-JOURBOT-USER")) for e in icalendar.Calendar.from_ical(ics).walk("VEVENT")
                    if e.decoded("DTSTART") == starts and str(e.get("X-JOURBOT-ROLE")) == "primary"]
            assert held == ["@bertil.b:localhost"], "the override is in the unit's calendar feed"

            # Leave the day after tomorrow for Anna A, made in the browser; every supervisor is told in chat.
            later = tomorrow + timedelta(days=1)
            await page.goto(f"http://127.0.0.1:{port}/leave")
            await page.select_option("select[name=user]", "@anna.a:localhost")
            await page.fill("input[name=start]", f"{later}")
            await page.fill("input[name=end]", f"{later}")
            await page.fill("input[name=reason]", "kurs")
            await page.click("form.stack button[type=submit]")
            await page.wait_for_url(f"http://127.0.0.1:{port}/leave")
            leave = await shot(page, "leave")
            assert f"F1: Anna A ledig {later} 00:00 – {later + timedelta(days=1)} 00:00" in leave
            await chef.wait_for(lambda m: m.sender == BOT and "(webben) lade in ledighet F1: Anna A" in m.body,
                                timeout=30)

            for path, name in (("/alarms", "alarms"), ("/alarms/L1", "alarm"), ("/stats", "stats"),
                               ("/check", "check"), ("/readiness", "readiness"), ("/units/testjour/month", "month"),
                               ("/mine", "mine")):
                await page.goto(f"http://127.0.0.1:{port}{path}")
                html = await shot(page, name)
                assert "Det gick inte" not in html, path
            # Readiness, asked of the real homeserver: Bertil B is on the roster but has no account on it.
            await page.goto(f"http://127.0.0.1:{port}/readiness")
            ready = await page.inner_text("ul.ready")
            assert "Bertil B" in ready and "Kontot finns inte på servern" in ready and "Anna A" not in ready
            timeline = await page.goto(f"http://127.0.0.1:{port}/alarms/L1")
            moments = await page.inner_text("ol.moments")
            assert timeline is not None and moments.index("Accepterat") < moments.index("På väg — Anna A (≈ 15 min)")

            # On a phone: nothing wider than the screen, so nobody scrolls sideways at 03:00.
            await page.set_viewport_size({"width": 390, "height": 844})
            for path, name in (("/", "phone-now"), ("/units/testjour/week", "phone-week"), ("/alarms", "phone-alarms"),
                               ("/readiness", "phone-readiness"), ("/leave", "phone-leave")):
                await page.goto(f"http://127.0.0.1:{port}{path}")
                await shot(page, name)
                assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path

            # Security, as a browser meets it.
            stranger = await browser.new_context()
            other = await stranger.new_page()
            await other.goto(f"http://127.0.0.1:{port}/units/testjour/week")
            assert other.url == f"http://127.0.0.1:{port}/login", "no session: the login page"
            await shot(other, "login")
            response = await other.goto(link)
            assert response is not None and response.status == 403, "a used link fails"
            await shot(other, "used-link")
            refused = await page.request.post(f"http://127.0.0.1:{port}/overrides", form={
                "user": "@anna.a:localhost", "unit": "testjour", "role": "primary",
                "start": f"{tomorrow}T21:00", "end": f"{tomorrow}T22:00"})
            assert refused.status == 403, "a POST without its CSRF token fails"
            assert len(bot.app.store.overrides.active()) == 1  # type: ignore[union-attr]

            responder = await browser.new_context()
            own = await responder.new_page()
            await own.goto(await link_for(anna))
            await own.click("#login")
            await own.wait_for_url(f"http://127.0.0.1:{port}/mine")
            mine = await shot(own, "responder-mine")
            assert "Primär" in mine and "Testjouren" in mine
            response = await own.goto(f"http://127.0.0.1:{port}/")
            assert response is not None and response.status == 403, "a responder cannot open supervisor pages"
            await shot(own, "responder-refused")
    finally:
        await bot.stop()


async def test_screenshots_of_the_example_city(synapse, people, tmp_path):
    """The pictures in the README, of the fictional city in rosters/examples (`make screenshots` puts them in
    docs/screenshots/): Chef C, who supervises Farsta and Socialjouren, looks at who is on call and at a week."""
    police = await people("polis1")
    chef = await people("chef.c")
    room = await police.create_room([BOT])
    port = free_port()
    examples = Path(__file__).resolve().parents[2] / "rosters" / "examples"
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [room], [police.user_id], rosters=examples,
                          extra=f"\n[web]\nenabled = true\nport = {port}\n")
    bot = BotRunner(config)
    await bot.start()
    try:
        link = await link_for(chef)
        async with chromium() as browser:
            context = await browser.new_context(viewport={"width": 1100, "height": 800}, locale="sv-SE")
            page = await context.new_page()
            await page.goto(link)
            await page.click("#login")
            await page.wait_for_url(f"http://127.0.0.1:{port}/")
            now = await shot(page, "example-now")
            assert "Farsta" in now and "Skärholmen" in now
            monday = datetime.now(STOCKHOLM).date() - timedelta(days=datetime.now(STOCKHOLM).weekday())
            await page.goto(f"http://127.0.0.1:{port}/units/socialjouren/week?d={monday}")
            week = await shot(page, "example-week")
            assert "Socialjouren" in week and await page.locator(".lane").count() > 0
            await page.goto(f"http://127.0.0.1:{port}/units/farsta/month?d={monday}")
            await shot(page, "example-month")

            # Printed for the wall: one A4 page, the lanes still in colour, no navigation, and when it was taken.
            await page.goto(f"http://127.0.0.1:{port}/units/socialjouren/week?d={monday}")
            await page.emulate_media(media="print")
            assert not await page.locator("header nav").is_visible() and not await page.locator(".pager").is_visible()
            assert (await page.locator(".printed").inner_text()).startswith("Schemat som det såg ut ")
            await page.set_viewport_size({"width": 1047, "height": 720})  # A4 landscape less the margins, at 96 dpi
            await page.screenshot(path=screenshot_path("example-week-print"), full_page=True)
            # As a print dialog's defaults have it: without "background graphics", which the lanes are made of.
            pdf = await page.pdf(format="A4", prefer_css_page_size=True)
            (ARTIFACTS / "example-week-print.pdf").write_bytes(pdf)
            assert pdf_pages(pdf) == 1, "the week on one sheet"
            assert all(w > h for w, h in pdf_page_sizes(pdf)), "the week on its side, the lanes wide"
            assert PRIMARY_LANE in pdf_fill_colours(pdf), "the primary's lane printed in its colour"
            await page.goto(f"http://127.0.0.1:{port}/units/socialjouren/month?d={monday}")
            month = await page.pdf(format="A4", prefer_css_page_size=True)
            (ARTIFACTS / "example-month-print.pdf").write_bytes(month)
            assert pdf_pages(month) <= 2, "a month on two sheets at most"
            assert all(w < h for w, h in pdf_page_sizes(month)), "a month upright, its days down the page"
            assert PRIMARY_LANE in pdf_fill_colours(month), "the month's lanes printed in colour too"
            await page.emulate_media(media="screen")
            assert await page.locator("header nav").is_visible(), "the screen keeps its navigation"

            # On a phone, as a supervisor's first hour found it wanting.
            await police.wait_joined(room, BOT)
            await police.send(room, "!larm Farsta")
            await police.wait_for(lambda m: m.sender == BOT and "Larm L1 (Farsta) registrerat" in m.body, timeout=30)
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.goto(f"http://127.0.0.1:{port}/")
            await shot(page, "example-phone-now")
            header = await page.locator("header").bounding_box()
            assert header is not None and header["height"] <= 60, f"the navigation takes {header} of the screen"
            phone = page.locator("#area-farsta .tel")
            assert await phone.evaluate("e => e.getClientRects().length") == 1, "a phone number on one line"
            await page.goto(f"http://127.0.0.1:{port}/alarms")
            await shot(page, "example-phone-alarms")
            status = page.locator("table.list tbody tr").first.locator("td").nth(3)
            label = await status.evaluate("e => getComputedStyle(e, '::before').content")
            assert label == '"Läge: "', "each value says which column it was"
            await page.goto(f"http://127.0.0.1:{port}/units/socialjouren/week?d={monday}")
            await shot(page, "example-phone-week")
            # Socialjouren's evening shift (22:00–24:00) is a short bar: its initials, whole, not a clipped name.
            short = page.locator(".lane.primary .bar.short").first
            assert await short.inner_text() in {"AA", "BB"}
            assert await short.evaluate("e => e.scrollWidth <= e.clientWidth"), "nothing cut off"
    finally:
        await bot.stop()
