"""The daily readiness report: at 09:00 the supervisor hears who on the coming week cannot be reached, and why."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.matrix.reachability import Reach
from bot.readiness.report import ReadinessReporter
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, ComponentBot

STOCKHOLM = ZoneInfo("Europe/Stockholm")
HOMESERVER_SAYS = {
    ANNA: Reach(account=True, devices=0, membership="join"),  # logged out of every device
    BERTIL: Reach(account=True, devices=1, cross_signed=1, membership="leave"),  # left the direct room
    CHEF: Reach(account=True, devices=2, cross_signed=2, membership="join"),
}


def local(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).timestamp()


ASKED: list[set[str]] = []
NOW_SAYS = dict(HOMESERVER_SAYS)


@pytest.fixture(autouse=True)
def stand_in_homeserver(monkeypatch):
    """What the homeserver would say of each person, for every bot the test starts (also after a restart)."""

    async def probe(_self: ReadinessReporter, people: Mapping[str, str | None]) -> dict[str, Reach]:
        ASKED.append(set(people))
        return {user: NOW_SAYS[user] for user in people}

    monkeypatch.setattr(ReadinessReporter, "_ask_homeserver", probe)
    ASKED.clear()
    NOW_SAYS.update(HOMESERVER_SAYS)


async def start(tmp_path, at: str) -> ComponentBot:
    bot = await ComponentBot.start(tmp_path, clock=[local(at)])
    with bot.app.store.transaction():
        for user in (ANNA, BERTIL, CHEF):
            bot.app.store.direct_rooms.set(user, bot.matrix.add_room(f"!dm-{user}", user))
    await bot.advance(0)
    return bot


async def advance_to(bot: ComponentBot, at: str) -> None:
    await bot.advance(local(at) - bot.now)
    if bot.app.readiness.task is not None:
        await bot.app.readiness.task
    await bot.settle()


def sent_to(bot: ComponentBot, user: str) -> list[str]:
    return [s.body for s in bot.matrix.to_room(f"!dm-{user}")]


async def test_at_nine_the_supervisor_hears_who_cannot_be_reached_and_what_to_do(tmp_path):
    bot = await start(tmp_path, "2026-11-25T14:02")
    try:
        await advance_to(bot, "2026-11-26T08:59:59")
        assert bot.matrix.sent == []
        await advance_to(bot, "2026-11-26T09:00")
        assert ASKED == [{ANNA, BERTIL, CHEF}]
        (report,) = sent_to(bot, CHEF)
        assert report.startswith("Beredskap tors 26/11 – ons 2/12: 2 av 3 på schemat kan inte säkert nås.")
        anna = report.index("Anna A (@anna.a:localhost)")
        bertil = report.index("Bertil B (@bertil.b:localhost)")
        assert "Inte inloggad någonstans, så sidor kan inte nå hen. Be hen logga in i Element" in report[anna:bertil]
        assert "Har lämnat direktrummet med boten. Boten bjuder in på nytt" in report[bertil:]
        assert "Chef C" not in report
        assert sent_to(bot, ANNA) == [] and sent_to(bot, BERTIL) == [] and bot.police_lines() == []
        assert [e["action"] for e in bot.app.store.audit.entries()][0] == "readiness.reported"
    finally:
        await bot.stop()


async def test_once_a_day_across_a_restart_and_again_the_next_morning(tmp_path):
    bot = await start(tmp_path, "2026-11-26T08:00")
    try:
        assert bot.metric("jourbot_readiness_assessed_timestamp_seconds") == 0, "no report yet"
        await advance_to(bot, "2026-11-26T09:00")
        assert len(sent_to(bot, CHEF)) == 1
        # /metrics: Anna and Bertil cannot surely be reached, as the report found; a restart does not forget it.
        assert bot.metric("jourbot_readiness_problems") == 2
        assert bot.metric("jourbot_readiness_assessed_timestamp_seconds") == local("2026-11-26T09:00")
        bot = await bot.restart()
        assert bot.metric("jourbot_readiness_problems") == 2
        await advance_to(bot, "2026-11-27T08:59")
        assert len(sent_to(bot, CHEF)) == 1, "not again after the restart"
        await advance_to(bot, "2026-11-27T09:00")
        assert len(sent_to(bot, CHEF)) == 2
    finally:
        await bot.stop()


async def test_a_report_due_while_the_bot_was_down_is_made_at_start_and_none_when_all_is_well(tmp_path):
    bot = await start(tmp_path, "2026-11-26T08:00")
    try:
        await bot.stop()
        bot._clock[0] = local("2026-11-26T11:30")  # down over 09:00
        bot = await bot.restart()
        await advance_to(bot, "2026-11-26T11:30")
        assert len(sent_to(bot, CHEF)) == 1
        NOW_SAYS.update({ANNA: HOMESERVER_SAYS[CHEF], BERTIL: HOMESERVER_SAYS[CHEF]})
        await advance_to(bot, "2026-11-27T09:00")
        assert len(ASKED) == 2, "the homeserver was asked at 09:00"
        assert len(sent_to(bot, CHEF)) == 1, "nothing to report: nothing sent"
        assert bot.metric("jourbot_readiness_problems") == 0, "and /metrics says all is well"
        asked = await bot.say(POLICE, "!jour Farsta")  # and the bot answers as ever
        assert bot.answers_to(asked)
    finally:
        await bot.stop()
