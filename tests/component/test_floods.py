"""Floods: a stranger's or a colleague's flood of commands costs few answers and never delays a page."""

from __future__ import annotations

from tests.harness.component import ANNA, CHEF, POLICE, POLICE_ROOM, STRANGER, ComponentBot


async def test_a_strangers_flood_gets_one_answer_and_does_not_hold_up_a_police_page(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        room = bot.matrix.add_room("!strangers-own:localhost", STRANGER)
        flood = [bot.event(STRANGER, room, "!jour") for _ in range(1000)]
        larm = bot.event(POLICE, POLICE_ROOM, "!larm Farsta")
        await bot.matrix.feed(*flood, larm)
        await bot.settle()
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        assert len(bot.matrix.to_room(room)) == 1, "one refusal, then silence"
        order = [s.room_id for s in bot.matrix.sent]
        before_page = order[: order.index(bot.dm_room(ANNA))]
        assert before_page.count(room) <= 1, "at most the stranger's one answer leaves before the page"
        await bot.advance(301)
        asked = await bot.say(STRANGER, "!jour", room=room)
        assert bot.answers_to(asked), "after the quiet time the stranger is answered again"
    finally:
        await bot.stop()


async def test_a_colleague_over_the_limit_is_told_once_and_alarm_commands_always_pass(tmp_path):
    bot = await ComponentBot.start(tmp_path, bot_toml="command_rate_count = 5\ncommand_rate_window_s = 60")
    try:
        chef_room = bot.matrix.add_room("!chef:localhost", CHEF)
        asked = [await bot.say(CHEF, "!jour Farsta", room=chef_room) for _ in range(8)]
        answered = [e for e in asked if bot.answers_to(e)]
        assert len(answered) == 6  # five answers and one notice
        assert "många kommandon" in bot.answers_to(asked[5])[0].body
        await bot.say(POLICE, "!larm Farsta")
        taken = await bot.say(CHEF, "!ok L1", room=chef_room)  # over the limit, but an alarm command
        assert "L1" in bot.answers_to(taken)[0].body
        assert bot.app.alarms.get("L1").status == "accepted"  # type: ignore[union-attr]
        await bot.advance(61)
        again = await bot.say(CHEF, "!jour Farsta", room=chef_room)
        assert bot.answers_to(again) and "Jour för" in bot.answers_to(again)[0].body
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}, "Anna paged once, before Chef took it"
    finally:
        await bot.stop()
