"""An alarm's page in the browser after the second channel merged: who read their page ("sedd 14:03", as !status
says it) and what became of each SMS — never the SMS's text, the number, the free text or the protection decision."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.component.test_web import WEB, ask_link
from tests.harness.botrunner import write_config
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, POLICE_ROOM, UNIT_ROOM, ComponentBot
from tests.harness.handover import CECILIA, FARSTA_ROOM, advance_to, local
from tests.harness.handover import start as city
from tests.harness.sms import PHONES, rosters_with_phones, sms_section
from tests.harness.smsgateway import GatewayStandIn
from tests.harness.webclient import WebClient

FREE_TEXT = "Pappan hotar med kniv"


@pytest.fixture
async def gateway():
    stand_in = await GatewayStandIn().start()
    yield stand_in
    await stand_in.stop()


async def start(tmp_path: Path, gateway: GatewayStandIn) -> tuple[ComponentBot, WebClient]:
    config_dir = tmp_path / "bot"
    write_config(config_dir, "http://127.0.0.1:9", "unused", [POLICE_ROOM], [POLICE],
                 rosters=rosters_with_phones(tmp_path / "rosters"),
                 extra=f"\n[alarms]\nstep_wait_override_s = 120\n[units.testjour]\nroom = \"{UNIT_ROOM}\"\n"
                       f"{sms_section(config_dir, gateway.url, unseen_after_s=30, timeout_s=1)}\n{WEB}")
    bot = await ComponentBot.start(tmp_path)
    assert bot.app.web is not None and bot.app.web.bound_port
    return bot, WebClient(bot.app.web.bound_port)


async def test_the_timeline_shows_who_read_their_page_and_each_sms_but_never_its_text(tmp_path, gateway):
    bot, web = await start(tmp_path, gateway)
    try:
        gateway.refused_numbers.add(PHONES[BERTIL])
        await bot.say(POLICE, f"!larm Farsta {FREE_TEXT}")  # 14:02: Anna is paged
        await bot.advance(30)  # 14:02:30: not read yet, so an SMS
        await bot.advance(30)
        page = bot.matrix.pages_to(ANNA)[0]
        await bot.matrix.read(ANNA, page.room_id, page.event_id, bot.now)  # 14:03: read
        await bot.advance(60)  # 14:04: Bertil is paged too
        await bot.advance(30)  # 14:04:30: Bertil's page unread; his number is refused
        bertil = bot.matrix.pages_to(BERTIL)[0]
        await bot.say(BERTIL, "!ok", room=bertil.room_id)
        await bot.say(BERTIL, "!skydd L1 gjord anhörig", room=bertil.room_id)
        asked = await bot.say(CHEF, "!status L1", room=bot.matrix.add_room("!chef-status:localhost", CHEF))
        assert bot.answers_to(asked), "the same alarm, as chat shows it"

        await web.log_in(await ask_link(bot, CHEF))
        status, _, shown = await web.get("/alarms/L1")
        assert status == 200
        timeline = shown[shown.index('<ol class="moments">'):shown.index("</ol>")]
        assert "Sökte: Anna A (sedd 14:03)" in timeline and "Sökte: Bertil B</li>" in timeline.replace("\n", "")
        seen = re.search(r"<time>[^<]* 14:03:00</time> <strong>Sidan sedd</strong>\s+— Anna A", timeline)
        sent = re.search(r"<time>[^<]* 14:02:30</time> <strong>SMS skickat</strong>\s+— Anna A"
                         r" \(sidan inte läst i tid\)", timeline)
        assert seen and sent and sent.start() < seen.start()
        assert "Accepterat" in timeline and "Skyddsbedömning gjord" in timeline
        sms = [re.sub(r"<[^>]+>", "|", row).strip("|") for row in re.findall(r'<tr class="sms [a-z]+">.*?</tr>', shown)]
        assert sms == ["Anna A||sidan inte läst i tid||skickat 14:02",
                       "Bertil B||sidan inte läst i tid||gick inte att skicka: numret godtogs inte"]
        for secret in ("Öppna Element", PHONES[ANNA], PHONES[BERTIL], "kniv", "nhörig"):
            assert secret not in shown, secret
    finally:
        await web.close()
        await bot.stop()


async def test_after_the_merges_every_page_renders_phases_and_the_handover_but_no_words_of_anyones_own(tmp_path):
    """A night alarm with every phase, handed over to the district office and received there: the timeline still
    shows it all, and no page (readiness included) shows the free text, the decision or the close note."""
    bot = await city(tmp_path, local("2026-11-26T23:00"), extra=WEB)
    assert bot.app.web is not None and bot.app.web.bound_port
    web = WebClient(bot.app.web.bound_port)
    try:
        await bot.say(POLICE, f"!larm Farsta {FREE_TEXT}")
        page = bot.matrix.pages_to(ANNA)[0]
        for command in ("!ok", "!påväg L1 20", "!framme L1", "!skydd L1 gjord anhörig", "!överlämnad L1 Farsta",
                        "!klar L1 barnen hos mormor"):
            await bot.say(ANNA, command, room=page.room_id)
            await bot.advance(300)
        await advance_to(bot, local("2026-11-27T08:00"))  # Friday: the office opens and gets it
        await bot.say(CECILIA, "!mottaget L1", room=FARSTA_ROOM)

        await web.log_in(await ask_link(bot, CHEF))
        pages = {}
        for path in ("/", "/alarms", "/alarms/L1", "/stats", "/check", "/readiness", "/units/socialjouren/week",
                     "/units/socialjouren/month", "/overrides", "/feeds", "/mine"):
            status, _, body = await web.get(path)
            assert status == 200, path
            pages[path] = body
        moments = re.sub(r"<[^>]+>", "", pages["/alarms/L1"].split('<ol class="moments">')[1].split("</ol>")[0])
        order = ["Larmat", "Accepterat", "På väg", "Framme", "Skyddsbedömning gjord", "Överlämnat", "Avslutat",
                 "Listat för distriktskontoret", "Mottaget av distriktskontoret"]
        assert [moments.index(word) for word in order] == sorted(moments.index(word) for word in order), moments
        assert "Beslut efter skyddsbedömning" in pages["/stats"], "the decisions only as figures"
        for path, body in pages.items():
            for secret in ("kniv", "mormor", "Öppna Element"):
                assert secret not in body, (path, secret)
            if path != "/stats":
                assert "nhörig" not in body, path
    finally:
        await web.close()
        await bot.stop()
