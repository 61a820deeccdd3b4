"""The police see the acceptor's own phone number, from people.toml, when the roster gives one."""

from __future__ import annotations

import shutil

from tests.harness.component import ANNA, POLICE, ROSTERS, ComponentBot


async def test_acceptance_tells_the_police_the_acceptors_own_number(tmp_path):
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    people = folder / "people.toml"
    people.write_text(people.read_text().replace(
        '"@anna.a:localhost" = "Anna A"', '"@anna.a:localhost" = { name = "Anna A", phone = "+46701740605" }'))
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    try:
        larm = await bot.say(POLICE, "!larm Farsta")
        page = bot.matrix.pages_to(ANNA)[0]
        await bot.react(ANNA, page.room_id, page.event_id, "✅")
        assert [s.body for s in bot.answers_to(larm)][-1] == (
            "polis1: ✅ L1 accepterat av Anna A (Testjouren) 14:02 — tel 070-174 06 05 (Testjouren: 08-000 111 22)"
        )
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()
