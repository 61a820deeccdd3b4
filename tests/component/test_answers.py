"""Every error a user can cause gets a precise one-line answer, never "Något gick fel"."""

from __future__ import annotations

from tests.harness.component import ANNA, CHEF, POLICE, ComponentBot


async def test_a_day_far_away_is_answered_not_crashed_on(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        chef_room = bot.matrix.add_room("!chef:localhost", CHEF)
        asked = await bot.say(CHEF, "!schema testjouren 9999-12-31", room=chef_room)
        (answer,) = bot.answers_to(asked)
        assert "för långt bort" in answer.body and "Något gick fel" not in answer.body
    finally:
        await bot.stop()


async def test_a_malformed_alarm_id_never_accepts_another_alarm(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta")
        page = bot.matrix.pages_to(ANNA)[0]
        for text in ("!ok Lx", "!ok L1x", "!nej L-1 sjuk", "!klar L1,"):
            asked = await bot.say(ANNA, text, room=page.room_id)
            (answer,) = bot.answers_to(asked)
            assert "kan inte läsa" in answer.body, text
        assert bot.app.alarms.get("L1").status == "open"  # type: ignore[union-attr]
        declined = await bot.say(ANNA, "!nej ledig idag", room=page.room_id)  # a reason, not an id
        assert "avböjt L1" in bot.answers_to(declined)[0].body
    finally:
        await bot.stop()


async def test_the_catch_up_notice_says_a_short_window_in_seconds(tmp_path):
    bot = await ComponentBot.start(tmp_path, bot_toml="catchup_window_s = 30")
    try:
        stale = bot.event(POLICE, "!police:localhost", "!jour Farsta", origin_ts=bot.now + 1)
        await bot.advance(120)
        await bot.matrix.feed(stale)
        await bot.settle()
        (notice,) = bot.answers_to(stale.event_id)
        assert "äldre än 30 sekunder" in notice.body
    finally:
        await bot.stop()


async def test_every_refusal_in_the_police_room_ends_with_whom_to_call(tmp_path):
    bot = await ComponentBot.start(tmp_path, alarms_toml="rate_limit_count = 1")
    try:
        for text in ("!larm Frasta två barn", "!larmm Farsta", "!larm", "!ok L1"):
            asked = await bot.say(POLICE, text)
            (answer,) = bot.answers_to(asked)
            assert answer.body.endswith("Ring Testjouren direkt: 08-000 111 22."), (text, answer.body)
        chef_room = bot.matrix.add_room("!chef:localhost", CHEF)
        asked = await bot.say(CHEF, "!larmm", room=chef_room)
        assert "Ring" not in bot.answers_to(asked)[0].body, "the number is for the police"
    finally:
        await bot.stop()
