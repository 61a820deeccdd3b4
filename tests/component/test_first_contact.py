"""Nobody on a roster meets the bot for the first time through a page (bot/trust/first_contact.py): everyone on the
rosters in force is invited to their direct room ahead of time, one room at a time, never beside a page, by the
acting instance only; they are welcomed when they join, and a page that came into the room before they joined comes
again, as its reminder, when they do.

The test roster has Anna A primary and Bertil B secondary round the clock, and Chef C supervisor."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bot.core.i18n import t
from bot.matrix.port import DeliveryFailure
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, POLICE_ROOM, T0, ComponentBot
from tests.harness.fakematrix import FakeMatrix
from tests.harness.postgres import PostgresServer

ON = "first_contact = true\nfirst_contact_every_s = 120"
ROSTERS = Path(__file__).resolve().parents[1] / "integration" / "rosters"
DORA = "@dora.d:localhost"
WELCOME = t("trust.welcome", "sv")


def made(bot: ComponentBot) -> list[str]:
    return [user for user, _ in bot.matrix.direct_made]


async def test_everyone_on_the_rosters_is_invited_ahead_one_room_every_interval_soonest_on_duty_first(tmp_path):
    bot = await ComponentBot.start(tmp_path, bot_toml=ON)
    try:
        await bot.advance(0)
        assert made(bot) == [ANNA], "one room at a time: Anna's shift is the first (primary)"
        await bot.advance(119)
        assert made(bot) == [ANNA], "not before the interval"
        await bot.advance(1)
        await bot.advance(120)
        assert made(bot) == [ANNA, BERTIL, CHEF], "the secondary, then the supervisor"
        await bot.advance(600)
        assert made(bot) == [ANNA, BERTIL, CHEF], "nobody twice"
        assert bot.matrix.sent == [], "nothing is said before they join: their client could not read it yet"
        assert bot.app.first_contact.next_at() is None, "nobody left: the sweep is not woken for it"
    finally:
        await bot.stop()


async def test_the_welcome_comes_at_the_first_join_once_and_not_again_after_a_restart(tmp_path):
    bot = await ComponentBot.start(tmp_path, bot_toml=ON)
    try:
        await bot.advance(0)
        room = bot.dm_room(ANNA)
        await bot.matrix.enter(room, ANNA, previous="invite")
        await bot.settle()
        (welcome,) = bot.matrix.to_user(ANNA)
        assert welcome.body == WELCOME and welcome.msgtype == "m.notice", welcome
        assert "!hjälp" in welcome.body
        assert bot.paged() == {"anna.a": 0, "bertil.b": 0, "chef.c": 0}, "a welcome is no page"
        await bot.matrix.enter(room, ANNA, previous="join")  # a new display name: no join of hers
        await bot.settle()

        bot = await bot.restart()
        await bot.advance(0)
        await bot.advance(120)
        await bot.advance(120)
        assert made(bot) == [ANNA, BERTIL, CHEF], "Anna's room is not made again after the restart"
        await bot.matrix.enter(room, ANNA, previous="invite")  # the same join, synced again after the restart
        await bot.settle()
        assert len(bot.matrix.to_user(ANNA)) == 1, "one welcome"
    finally:
        await bot.stop()


async def test_someone_on_no_roster_is_not_welcomed_to_a_direct_room_the_bot_made_for_another_reason(tmp_path):
    bot = await ComponentBot.start(tmp_path, bot_toml=ON)
    try:
        room = await bot.app.guard.direct_room(POLICE, urgent=False)  # as for a message to the officer
        await bot.matrix.enter(room, POLICE, previous="invite")
        await bot.settle()
        assert bot.matrix.to_user(POLICE) == [], "the welcome speaks of pages: the officer has none"
    finally:
        await bot.stop()


async def test_a_roster_reload_that_brings_a_new_person_invites_her(tmp_path):
    rosters = tmp_path / "rosters"
    shutil.copytree(ROSTERS, rosters)
    bot = await ComponentBot.start(tmp_path, bot_toml=ON, rosters=rosters)
    try:
        for _ in range(3):
            await bot.advance(120)
        assert made(bot) == [ANNA, BERTIL, CHEF]
        people = rosters / "people.toml"
        people.write_text(people.read_text() + f'"{DORA}" = "Dora D"\n')
        unit = rosters / "tomjour.toml"  # Dora supervises Tomjouren with Chef
        unit.write_text(unit.read_text().replace('supervisors = ["@chef.c:localhost"]',
                                                 f'supervisors = ["@chef.c:localhost", "{DORA}"]'))
        assert (await bot.app.reload_rosters("test")) is not None
        await bot.advance(120)
        assert made(bot) == [ANNA, BERTIL, CHEF, DORA]
    finally:
        await bot.stop()


async def test_no_room_is_opened_while_a_page_waits_and_a_page_never_waits_for_a_room_being_opened(tmp_path):
    matrix = FakeMatrix()
    bot = await ComponentBot.start(tmp_path, bot_toml=ON, matrix=matrix, wait_s=3600,  # no escalation here
                                   alarms_toml="page_delivery_s = 600")
    try:
        await bot.advance(0)
        assert made(bot) == [ANNA]
        # Anna's page cannot be delivered yet (the homeserver refuses it for now): it waits, and so does Bertil's room,
        # due meanwhile.
        matrix.refuse[ANNA] = DeliveryFailure("network", "not now (fake)")
        await bot.say(POLICE, "!larm Farsta")
        for _ in range(30):
            await bot.advance(5)
        assert made(bot) == [ANNA], "no room while a page waits"
        del matrix.refuse[ANNA]
        matrix.homeserver_back()  # what waited goes now
        await bot.advance(0)
        assert len(matrix.pages_to(ANNA)) == 1
        await bot.advance(5)
        assert made(bot) == [ANNA, BERTIL], "once nothing urgent waits, the next room"

        # Chef's room is being made (the homeserver takes its time) when the next alarm comes: its page to Anna
        # goes out meanwhile.
        matrix.hold_direct[CHEF] = asyncio.Event()
        bot._clock[0] += 120  # type: ignore[index]
        await bot.app.sweep()
        await asyncio.sleep(0)
        assert bot.app.first_contact.next_at() is None, "Chef's room is being made"
        await matrix.feed(bot.event(POLICE, POLICE_ROOM, "!larm Farsta brand"))
        await bot.app.sender.drain()
        assert len(matrix.pages_to(ANNA)) == 2, "the page went out while Chef's room was still being made"
        assert made(bot) == [ANNA, BERTIL]
        matrix.hold_direct[CHEF].set()
        await bot.settle()
        assert made(bot) == [ANNA, BERTIL, CHEF]
        assert bot.paged() == {"anna.a": 2, "bertil.b": 0, "chef.c": 0}
    finally:
        for held in matrix.hold_direct.values():
            held.set()
        await bot.stop()


async def test_a_page_that_came_before_the_join_comes_again_as_its_reminder_at_the_join(tmp_path):
    bot = await ComponentBot.start(tmp_path, bot_toml=ON)
    try:
        # The alarm comes before the bot has opened anybody's room: Anna's page makes her room, she only invited.
        await bot.say(POLICE, "!larm Farsta")
        assert len(bot.matrix.pages_to(ANNA)) == 1
        room = bot.dm_room(ANNA)
        await bot.matrix.enter(room, ANNA, previous="invite")
        await bot.settle()
        (again,) = bot.matrix.reminders_to(ANNA)
        assert "L1" in again.body and ANNA in again.mentions, again
        assert [s.body for s in bot.matrix.to_user(ANNA)].count(WELCOME) == 0, "no welcome before her page"
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}, "nobody else paged, Anna's wait goes on"

        await bot.react(ANNA, room, again.event_id)
        assert any("L1 accepterat" in line for line in bot.police_lines()), "a ✅ on it takes the alarm"
    finally:
        await bot.stop()


async def test_switched_off_the_bot_opens_nothing_ahead_and_says_nothing_at_a_join(tmp_path):
    bot = await ComponentBot.start(tmp_path, bot_toml="first_contact = false", wait_s=3600)
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.matrix.enter(bot.dm_room(ANNA), ANNA, previous="invite")
        await bot.advance(600)
        assert made(bot) == [ANNA]
        assert bot.matrix.reminders_to(ANNA) == []
    finally:
        await bot.stop()


@pytest.fixture
def url(postgres: PostgresServer) -> Iterator[str]:
    made_db = postgres.create_database()
    yield made_db
    postgres.drop_database(made_db)


async def test_a_standby_opens_no_room_and_says_nothing_at_a_join(tmp_path, url):
    clock = [T0]
    first = await ComponentBot.start(tmp_path / "a", database=url, clock=clock, bot_toml=ON,
                                     matrix=FakeMatrix(device="FIRST"))
    second = await ComponentBot.start(tmp_path / "b", database=url, clock=clock, bot_toml=ON,
                                      matrix=first.matrix.another_device("SECOND"), standby=True)
    try:
        await first.advance(0)
        room = first.dm_room(ANNA)
        for bot in (first, second):  # both sync Anna's join
            await bot.matrix.enter(room, ANNA, previous="invite")
        for _ in range(3):
            await second.advance(120)
        assert first.matrix.direct_made == [(ANNA, "FIRST")], "the standby opened nothing"
        await first.settle()
        assert [s.device for s in first.matrix.to_user(ANNA)] == ["FIRST"], "one welcome, the acting one's"
    finally:
        await second.stop()
        await first.stop()
        with psycopg.connect(url) as conn:  # nothing of the test's left for the next
            conn.close()
