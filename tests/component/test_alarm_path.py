"""The alarm path through the whole App, with an in-memory homeserver and a clock the test moves.

Every test asserts who was paged and that nobody else was.
"""

from __future__ import annotations

from tests.harness.component import ANNA, CHEF, POLICE, POLICE_ROOM, UNIT_ROOM, ComponentBot


async def test_alarm_pages_the_primary_only_and_tells_police_and_unit(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        larm = await bot.say(POLICE, "!larm Farsta två barn i lägenheten")
        (page,) = bot.matrix.pages_to(ANNA)
        assert "två barn i lägenheten" in page.body and "!ok L1" in page.body
        assert [s.body for s in bot.answers_to(larm)] == [
            "🚨 Larm L1 (Farsta) registrerat 14:02. Söker: Anna A (Testjouren)."
        ]
        assert [s.body for s in bot.matrix.to_room(UNIT_ROOM)] == ["🚨 L1 (Farsta) 14:02: söker Anna A."]
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_checkmark_on_the_page_accepts_and_an_ok_reply_to_another_page_too(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        first = await bot.say(POLICE, "!larm Farsta")
        page = bot.matrix.pages_to(ANNA)[0]
        await bot.react(ANNA, page.room_id, page.event_id, "✅")
        assert "polis1: ✅ L1 accepterat av Anna A (Testjouren) 14:02 — tel 08-000 111 22" in [
            s.body for s in bot.answers_to(first)]
        second = await bot.say(POLICE, "!larm Farsta hem 2")
        page2 = bot.matrix.pages_to(ANNA)[1]
        await bot.say(ANNA, "Ja!", room=page2.room_id, reply_to=page2.event_id)
        assert any("L2 accepterat av Anna A" in s.body for s in bot.answers_to(second))
        # A ✅ on something that is not a page is nobody's business: no answer, no change.
        await bot.react(ANNA, POLICE_ROOM, second, "✅")
        assert bot.paged() == {"anna.a": 2, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_escalation_walks_the_chain_then_falls_back(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=60)
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(59)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        await bot.advance(1)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
        await bot.advance(60)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 1}
        await bot.advance(60)
        assert bot.police_lines() == [
            "🚨 Larm L1 (Farsta) registrerat 14:02. Söker: Anna A (Testjouren).",
            "polis1: ⏫ L1: ingen har accepterat larmet än. Söker nu även: Bertil B (Testjouren).",
            "polis1: ⏫ L1: ingen har accepterat larmet än. Söker nu även: Chef C (Testjouren).",
            "polis1: ⚠️ Ingen har accepterat L1. Ring Testjouren direkt: 08-000 111 22",
        ]
        assert any("Ingen har accepterat L1" in s.body for s in bot.matrix.to_user(CHEF))
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 1}
        assert bot.app.store.deadlines.count() == 0
    finally:
        await bot.stop()
