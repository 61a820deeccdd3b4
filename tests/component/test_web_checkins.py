"""The browser's "now" page shows each person's check-in for the shift they hold, as `!jour` does: waiting since
22:00, not answered, checked in at 22:35 — and nothing beside someone whose shift has no check-in."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.component.test_checkins import CHECKIN, NIGHTS, advance_to, local
from tests.component.test_web import WEB, ask_link
from tests.harness.botrunner import write_config
from tests.harness.component import ANNA, CHEF, POLICE, POLICE_ROOM, ROSTERS, UNIT_ROOM, ComponentBot
from tests.harness.webclient import WebClient


async def night_bot(tmp_path: Path, at: str) -> ComponentBot:
    """Testjouren with Bertil on days and Anna on nights, a check-in for the 22:00 night, and the browser view."""
    rosters = tmp_path / "rosters"
    shutil.copytree(ROSTERS, rosters)
    unit = rosters / "testjour.toml"
    unit.write_text(unit.read_text().split("[[rotation]]")[0] + NIGHTS)
    write_config(tmp_path / "bot", "http://127.0.0.1:9", "unused", [POLICE_ROOM], [POLICE], rosters=rosters,
                 extra=f'\n[units.testjour]\nroom = "{UNIT_ROOM}"\n{CHECKIN}\n{WEB}idle_timeout_s = 43200\n')
    bot = await ComponentBot.start(tmp_path, clock=[local(at)])
    await bot.advance(0)
    return bot


def primary_in_farsta(page: str) -> str:
    card = page[page.index('id="area-farsta"'):page.index('id="area-tomby"')]
    found = re.search(r"Primär</span>\s*(.*?)</li>", card, re.S)
    assert found, card
    return re.sub(r"\s+", " ", found.group(1)).strip()


async def test_the_now_page_shows_the_night_check_in_as_it_goes(tmp_path):
    bot = await night_bot(tmp_path, "2026-11-25T21:00")
    assert bot.app.web is not None and bot.app.web.bound_port
    web = WebClient(bot.app.web.bound_port)
    try:
        _, _, page = await web.log_in(await ask_link(bot, CHEF))
        assert primary_in_farsta(page) == "Bertil B", "a day shift without a check-in: nothing beside the name"

        await advance_to(bot, "2026-11-25T22:00")
        page = (await web.get("/"))[2]
        assert primary_in_farsta(page) == 'Anna A <span class="checkin asked">väntar på incheckning sedan 22:00</span>'

        await advance_to(bot, "2026-11-25T22:31")
        page = (await web.get("/"))[2]
        assert primary_in_farsta(page) == \
            'Anna A <span class="checkin unanswered">⚠️ har inte checkat in, frågad 22:00</span>'

        await advance_to(bot, "2026-11-25T22:35")
        question = next(s for s in bot.matrix.to_user(ANNA) if "Svara ✅" in s.body)
        await bot.react(ANNA, bot.dm_room(ANNA), question.event_id)
        page = (await web.get("/"))[2]
        assert primary_in_farsta(page) == 'Anna A <span class="checkin answered">incheckad 22:35</span>'
        assert page.count('class="checkin') == 1, "only the shift that has a check-in: not Chef C's"
    finally:
        await web.close()
        await bot.stop()
