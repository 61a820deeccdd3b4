"""Shift check-in: the person coming on for the night is asked at 22:00; no answer by 22:30, the supervisor is told."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.matrix.port import DeliveryFailure
from tests.harness.botrunner import write_config
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, POLICE_ROOM, ROSTERS, UNIT_ROOM, ComponentBot

STOCKHOLM = ZoneInfo("Europe/Stockholm")
ASK = "Du har jour 22:00–08:00 (Testjouren, primär). Svara ✅ när du är redo."
NIGHTS = """
[[rotation]]
role = "primary"
name = "Dag"
shift = "08:00-22:00"
every = "daily"
start = 2025-01-06
members = ["@bertil.b:localhost"]

[[rotation]]
role = "primary"
name = "Natt"
shift = "22:00-08:00"
every = "daily"
start = 2025-01-06
members = ["@anna.a:localhost"]
"""
CHECKIN = """
[[checkin]]
unit = "testjour"
roles = ["primary"]
starts = ["22:00"]
answer_within_min = 30
"""


def local(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).timestamp()


async def night_bot(tmp_path: Path, at: str) -> ComponentBot:
    """Testjouren with Bertil on days and Anna on nights, and a check-in for the 22:00 night; the clock at `at`."""
    rosters = tmp_path / "rosters"
    shutil.copytree(ROSTERS, rosters)
    unit = rosters / "testjour.toml"
    unit.write_text(unit.read_text().split("[[rotation]]")[0] + NIGHTS)
    write_config(tmp_path / "bot", "http://127.0.0.1:9", "unused", [POLICE_ROOM], [POLICE], rosters=rosters,
                 extra=f'\n[units.testjour]\nroom = "{UNIT_ROOM}"\n{CHECKIN}')
    bot = await ComponentBot.start(tmp_path, clock=[local(at)])
    await bot.advance(0)  # the first sweep plans the coming shift starts, as it does a second after a real start
    return bot


async def advance_to(bot: ComponentBot, at: str) -> None:
    await bot.advance(local(at) - bot.now)


def bodies(bot: ComponentBot, user: str) -> list[str]:
    """What reached `user`, without the mention that makes a phone notify."""
    return [s.text for s in bot.matrix.to_user(user)]


def audit_actions(bot: ComponentBot) -> list[str]:
    return [e["action"] for e in reversed(bot.app.store.audit.entries()) if e["action"].startswith("checkin.")]


async def test_the_night_check_in_goes_at_22_exactly_to_the_person_on_call_and_nobody_else(tmp_path):
    bot = await night_bot(tmp_path, "2026-11-25T14:02")
    try:
        await advance_to(bot, "2026-11-25T21:59:59")
        assert bot.matrix.sent == []
        await advance_to(bot, "2026-11-25T22:00")
        assert bodies(bot, ANNA) == [ASK]
        question = bot.matrix.to_user(ANNA)[0]
        assert question.msgtype == "m.text" and question.mentions == [ANNA]  # it rings
        assert question.body == f"Anna A: {ASK}", "named as people know her, not by her Matrix id"
        assert len(bot.matrix.sent) == 1, "nobody else hears of it"
        await bot.react(ANNA, bot.dm_room(ANNA), question.event_id)
        assert bodies(bot, ANNA)[1] == "Tack, du är incheckad 22:00."
        await advance_to(bot, "2026-11-25T23:30")
        assert bodies(bot, CHEF) == [] and bodies(bot, BERTIL) == []
        assert audit_actions(bot) == ["checkin.asked", "checkin.answered"]
    finally:
        await bot.stop()


async def test_a_reply_redo_answers_it(tmp_path):
    bot = await night_bot(tmp_path, "2026-11-25T21:00")
    try:
        await advance_to(bot, "2026-11-25T22:00")
        question = bot.matrix.to_user(ANNA)[0]
        await bot.say(ANNA, "Redo!", room=bot.dm_room(ANNA), reply_to=question.event_id)
        await advance_to(bot, "2026-11-25T22:31")
        assert bodies(bot, CHEF) == []
        assert bot.app.store.checkins.last_asked(ANNA, bot.now).status == "answered"
    finally:
        await bot.stop()


async def test_unanswered_the_supervisor_is_told_at_22_30_once_across_a_restart(tmp_path):
    bot = await night_bot(tmp_path, "2026-11-25T21:00")
    try:
        await advance_to(bot, "2026-11-25T22:00")
        assert bodies(bot, ANNA) == [ASK]
        await advance_to(bot, "2026-11-25T22:10")
        bot = await bot.restart()
        await advance_to(bot, "2026-11-25T22:29:59")
        assert bodies(bot, CHEF) == []
        assert bot.metric("jourbot_checkins_unanswered") == 0, "not late yet"
        await advance_to(bot, "2026-11-25T22:30")
        assert bot.metric("jourbot_checkins_unanswered") == 1  # /metrics, for the alert JourbotCheckinUnanswered
        told = bodies(bot, CHEF)
        assert len(told) == 1 and told[0].startswith("⚠️ Anna A har inte svarat på incheckningen till jouren"
                                                      " 22:00–08:00 (Testjouren, primär), frågan skickades 22:00.")
        assert bodies(bot, ANNA) == [ASK], "asked once, not again after the restart"
        assert bodies(bot, BERTIL) == []
        for _ in range(3):
            await bot.advance(600)
        bot = await bot.restart()
        await bot.advance(60)
        assert len(bodies(bot, CHEF)) == 1, "told exactly once"
        # A late answer is still welcome, and the supervisor hears of it.
        await bot.react(ANNA, bot.dm_room(ANNA), bot.matrix.to_user(ANNA)[0].event_id)
        assert bodies(bot, CHEF)[1].startswith("✅ Anna A har nu checkat in 23:01")
        assert bot.metric("jourbot_checkins_unanswered") == 0
        assert audit_actions(bot) == ["checkin.asked", "checkin.unanswered", "checkin.answered"]
    finally:
        await bot.stop()


async def test_a_check_on_a_page_still_accepts_the_alarm_and_leaves_the_check_in_open(tmp_path):
    bot = await night_bot(tmp_path, "2026-11-25T21:50")
    try:
        await advance_to(bot, "2026-11-25T22:00")
        await bot.say(POLICE, "!larm Farsta")
        page = bot.matrix.pages_to(ANNA)[-1]
        assert "Farsta" in page.body
        await bot.react(ANNA, bot.dm_room(ANNA), page.event_id)
        assert any("accepterat av Anna A" in line for line in bot.police_lines())
        assert bot.app.store.checkins.waiting_for(ANNA, bot.now) is not None
    finally:
        await bot.stop()


async def test_jour_shows_the_check_in_state(tmp_path):
    bot = await night_bot(tmp_path, "2026-11-25T21:50")
    try:
        await advance_to(bot, "2026-11-25T22:05")
        asked = await bot.say(CHEF, "!jour Farsta", room=UNIT_ROOM)
        assert "Primär: Anna A (väntar på incheckning sedan 22:05)" in bot.answers_to(asked)[0].body
        await advance_to(bot, "2026-11-25T22:36")
        asked = await bot.say(CHEF, "!jour Farsta", room=UNIT_ROOM)
        assert "Primär: Anna A (⚠️ har inte checkat in, frågad 22:05)" in bot.answers_to(asked)[0].body
        await bot.react(ANNA, bot.dm_room(ANNA), bot.matrix.to_user(ANNA)[0].event_id)
        asked = await bot.say(CHEF, "!jour Farsta", room=UNIT_ROOM)
        assert "Primär: Anna A (incheckad 22:36)" in bot.answers_to(asked)[0].body
        asked = await bot.say(POLICE, "!jour Farsta")
        assert "Primär: Anna A\n" in bot.answers_to(asked)[0].body + "\n", "the police see the chain only"
    finally:
        await bot.stop()


async def test_on_the_dst_nights_the_check_in_follows_the_wall_clock(tmp_path):
    bot = await night_bot(tmp_path, "2026-03-28T12:00")  # clocks go forward in the night to Sunday 29 March
    try:
        await advance_to(bot, "2026-03-28T22:00")
        assert bodies(bot, ANNA) == [ASK]  # a 9-hour night, still shown as 22:00–08:00
        await advance_to(bot, "2026-03-29T21:59")
        assert len(bodies(bot, ANNA)) == 1
        await advance_to(bot, "2026-03-29T22:00")  # 20:00 UTC now, not 21:00
        assert bodies(bot, ANNA)[-1] == ASK and len(bodies(bot, ANNA)) == 2
        assert len(bodies(bot, CHEF)) == 1, "the first night went unanswered: told once"
    finally:
        await bot.stop()


async def test_a_question_that_cannot_reach_its_person_is_the_supervisors_at_once(tmp_path):
    bot = await night_bot(tmp_path, "2026-11-25T21:50")
    bot.matrix.refuse[ANNA] = DeliveryFailure("no_trusted_device", "@anna.a:localhost has no cross-signed device")
    try:
        await advance_to(bot, "2026-11-25T22:00")
        (told,) = bodies(bot, CHEF)
        assert told == ("⚠️ Incheckningen till jouren 22:00–08:00 (Testjouren, primär) kunde inte nå Anna A: hen har"
                        " ingen inloggning som hen själv har verifierat. Ring hen innan ett larm kommer.")
        await advance_to(bot, "2026-11-25T22:45")
        assert len(bodies(bot, CHEF)) == 1, "not told again at the answer deadline"
        assert audit_actions(bot) == ["checkin.asked", "checkin.undelivered"]
    finally:
        await bot.stop()


async def test_an_override_made_after_planning_is_asked_with_its_own_hours(tmp_path):
    bot = await night_bot(tmp_path, "2026-11-25T12:00")
    try:
        asked = await bot.say(CHEF, "!byt @bertil.b:localhost 2026-11-25T22:00 2026-11-26T02:00 testjour primär",
                              room=UNIT_ROOM)
        assert "B1" in bot.answers_to(asked)[0].body
        await advance_to(bot, "2026-11-25T22:00")
        assert bodies(bot, BERTIL) == ["Du har jour 22:00–02:00 (Testjouren, primär). Svara ✅ när du är redo."]
        assert bodies(bot, ANNA) == []
    finally:
        await bot.stop()
