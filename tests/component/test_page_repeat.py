"""An unanswered page is repeated once, ringing again, half-way through the step's wait, through the whole App.

Each test says who was reminded and that nobody else was; a reminder is a page (m.text that mentions its reader) in
the same direct room, opening with a "Påminnelse" line.
"""

from __future__ import annotations

import shutil

from bot.matrix.port import DeliveryFailure
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, ROSTERS, ComponentBot

DORA = "@dora.d:localhost"
EVERYONE = (ANNA, BERTIL, CHEF, DORA)


def reminded(bot: ComponentBot) -> dict[str, int]:
    return {u.split(":")[0][1:]: len(bot.matrix.reminders_to(u)) for u in EVERYONE}


def paged(bot: ComponentBot) -> dict[str, int]:
    return {u.split(":")[0][1:]: len(bot.matrix.pages_to(u)) for u in EVERYONE}


async def test_an_unanswered_page_is_repeated_once_half_way_and_the_wait_goes_on(tmp_path):
    bot = await ComponentBot.start(tmp_path)  # a two-minute step; repeat_page_at is 0.5 by default
    try:
        await bot.say(POLICE, "!larm Farsta två barn i lägenheten")
        (page,) = bot.matrix.pages_to(ANNA)
        await bot.advance(59)
        assert reminded(bot) == {"anna.a": 0, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
        await bot.advance(1)
        assert reminded(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
        (again,) = bot.matrix.reminders_to(ANNA)
        assert again.room_id == page.room_id, "in the same direct room"
        assert (again.msgtype, again.mentions) == ("m.text", [ANNA])
        first, rest = again.body.split("\n", 1)
        assert first == "Anna A: 🔁 Påminnelse: du har inte svarat på L1 än, och ingen har accepterat det."
        assert rest == page.text, "then the page as it was, free text and how to answer"
        assert paged(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}, "a reminder, not a new step"
        assert bot.app.alarms.get("L1").escalations == 0
        await bot.advance(59)
        assert reminded(bot)["anna.a"] == 1 and paged(bot)["bertil.b"] == 0, "once; the step's wait is not reset"
        await bot.advance(1)  # two minutes after the page: the next step, as without a reminder
        assert paged(bot) == {"anna.a": 1, "bertil.b": 1, "chef.c": 0, "dora.d": 0}
        assert bot.app.alarms.get("L1").escalations == 1
        await bot.advance(60)  # Bertil's step: only he is reminded; Anna's page belongs to the step before
        assert reminded(bot) == {"anna.a": 1, "bertil.b": 1, "chef.c": 0, "dora.d": 0}
        actions = [e["action"] for e in bot.app.store.audit.entries()]
        assert actions.count("alarm.repeated") == 2 and actions.count("alarm.escalated") == 1
    finally:
        await bot.stop()


async def test_a_checkmark_on_the_reminder_takes_the_alarm(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        larm = await bot.say(POLICE, "!larm Farsta")
        await bot.advance(60)
        (again,) = bot.matrix.reminders_to(ANNA)
        await bot.react(ANNA, again.room_id, again.event_id, "✅")
        assert any("L1 accepterat av Anna A" in s.body for s in bot.answers_to(larm))
        await bot.advance(600)
        assert paged(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
    finally:
        await bot.stop()


async def test_an_acceptance_before_the_reminder_cancels_it(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(30)
        await bot.say(ANNA, "!ok", room=bot.dm_room(ANNA))
        assert bot.app.store.deadlines.count() == 0
        await bot.advance(600)
        assert reminded(bot) == {"anna.a": 0, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
    finally:
        await bot.stop()


async def test_the_reminder_reaches_only_who_of_the_step_has_the_page_and_has_not_answered(tmp_path):
    """A step of three (the whole unit): Dora declines, Bertil cannot be reached; only Anna is reminded."""
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    (folder / "people.toml").write_text((folder / "people.toml").read_text() + f'"{DORA}" = "Dora D"\n')
    unit = folder / "testjour.toml"
    head, _, rotations = unit.read_text().partition("[[escalation]]")
    rotations = "[[rotation]]" + rotations.partition("[[rotation]]")[2]
    unit.write_text(head.replace('supervisors = ["@chef.c:localhost"]',
                                 f'supervisors = ["@chef.c:localhost"]\nmembers = ["{DORA}"]')
                    + '[[escalation]]\nrole = "unit"\nwait_s = 120\n\n[[escalation]]\nrole = "supervisor"\n'
                    + "wait_s = 120\n\n" + rotations)
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    bot.matrix.refuse[BERTIL] = DeliveryFailure("forbidden", "M_FORBIDDEN")
    try:
        await bot.say(POLICE, "!larm Farsta")
        assert paged(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 1}
        await bot.say(DORA, "!nej L1", room=bot.dm_room(DORA))
        await bot.advance(60)
        assert reminded(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
        await bot.advance(60)
        assert paged(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 1, "dora.d": 1}
        assert reminded(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
    finally:
        await bot.stop()


async def test_a_restart_neither_loses_nor_doubles_the_reminder(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(30)
        await bot.stop()
        bot._clock[0] += 45  # down when the reminder was due
        bot = await bot.restart()
        await bot.advance(0)
        assert reminded(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}, "not lost"
        bot = await bot.restart()
        await bot.advance(1)
        assert reminded(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}, "not doubled"
        await bot.advance(44)  # two minutes after the page
        assert paged(bot) == {"anna.a": 1, "bertil.b": 1, "chef.c": 0, "dora.d": 0}
    finally:
        await bot.stop()


async def test_a_reminder_queued_during_an_outage_leaves_once_when_the_homeserver_is_back(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta")
        bot.matrix.down = True
        await bot.advance(60)
        bot = await bot.restart()
        bot.matrix.homeserver_back()
        await bot.settle()
        assert reminded(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
    finally:
        await bot.stop()


async def test_a_reminder_that_cannot_be_delivered_leaves_its_reader_paged_and_the_wait_as_it_was(tmp_path):
    """Anna has her page; that the reminder does not reach her (late, or refused) makes her no less reachable."""
    bot = await ComponentBot.start(tmp_path, alarms_toml="page_delivery_s = 20")
    try:
        await bot.say(POLICE, "!larm Farsta")
        bot.matrix.refuse[ANNA] = DeliveryFailure("server", "502 Bad Gateway")  # transient, again and again
        await bot.advance(60)
        await bot.advance(25)  # the reminder is past its delivery deadline
        bot.matrix.refuse[ANNA] = DeliveryFailure("forbidden", "M_FORBIDDEN")  # and then refused for good
        await bot.advance(30)
        assert not any("kunde inte nås" in line for line in bot.police_lines())
        assert paged(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
        await bot.advance(5)  # two minutes after her page
        assert paged(bot) == {"anna.a": 1, "bertil.b": 1, "chef.c": 0, "dora.d": 0}
        assert reminded(bot)["anna.a"] == 0
    finally:
        await bot.stop()


async def test_the_share_is_configurable_and_a_unit_can_turn_it_off(tmp_path):
    bot = await ComponentBot.start(tmp_path / "quarter", alarms_toml="repeat_page_at = 0.25")
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(29)
        assert reminded(bot)["anna.a"] == 0
        await bot.advance(1)
        assert reminded(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
    finally:
        await bot.stop()
    bot = await ComponentBot.start(tmp_path / "off", extra="repeat_page = false\n")
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(60)
        await bot.advance(59)
        assert reminded(bot) == {"anna.a": 0, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
        assert paged(bot) == {"anna.a": 1, "bertil.b": 0, "chef.c": 0, "dora.d": 0}
    finally:
        await bot.stop()
