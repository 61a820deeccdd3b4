"""Two whole bots on one PostgreSQL database, each its own device of the bot's account (bot/ha/; issue 21): only the
acting one records, handles and sends; when it dies the other takes over, handles what was said meanwhile once,
fires the deadlines that passed once, and sends again, marked, what may have left just before the death. The clock is
the test's; waiting for the standby's next try at the lock (once a second) is the only real time that passes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio

from bot.ha.role import LostActing
from bot.matrix.port import Incoming
from bot.store.db import Fenced
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, POLICE_ROOM, STRANGER, T0, ComponentBot
from tests.harness.fakematrix import FakeMatrix
from tests.harness.postgres import PostgresServer

FIRST, SECOND = "FIRST", "SECOND"
REPEAT = "(upprepning)"


@pytest.fixture
def url(postgres: PostgresServer) -> Iterator[str]:
    made = postgres.create_database()
    yield made
    postgres.drop_database(made)


class Instances:
    """Two bots on one database and one homeserver; `clock` is theirs both (one wall clock, as NTP would keep)."""

    def __init__(self, first: ComponentBot, second: ComponentBot) -> None:
        self.first = first
        self.second = second
        self.dead: set[str] = set()

    @classmethod
    async def start(cls, tmp_path: Path, url: str, wait_s: int = 120) -> Instances:
        clock = [T0]
        first = await ComponentBot.start(tmp_path / "a", wait_s=wait_s, database=url, clock=clock,
                                         matrix=FakeMatrix(device=FIRST))
        second = await ComponentBot.start(tmp_path / "b", wait_s=wait_s, database=url, clock=clock,
                                          matrix=first.matrix.another_device(SECOND), standby=True)
        return cls(first, second)

    @property
    def bots(self) -> list[ComponentBot]:
        return [bot for bot in (self.first, self.second) if bot.matrix.device not in self.dead]

    @property
    def acting(self) -> ComponentBot:
        (bot,) = [bot for bot in self.bots if bot.app.role.acting]
        return bot

    async def say(self, sender: str, body: str) -> Incoming:
        """Every living instance syncs the same event."""
        event = self.first.event(sender, POLICE_ROOM, body)
        await asyncio.gather(*(bot.matrix.feed(event) for bot in self.bots))
        for bot in self.bots:
            if bot.app.role.acting:
                await bot.settle()
        return event

    async def advance(self, seconds: float) -> None:
        await self.acting.advance(seconds)

    async def kill(self, bot: ComponentBot) -> None:
        await bot.die()
        self.dead.add(bot.matrix.device)

    async def stopped_acting(self, bot: ComponentBot) -> None:
        """Until `bot`'s `jourbot run` ends as it must when it may act no more: with LostActing (exit status 4;
        systemd starts it again, as a standby)."""
        assert bot._task is not None
        with pytest.raises(LostActing):
            await asyncio.wait_for(bot._task, 10)
        bot._task = None
        self.dead.add(bot.matrix.device)

    async def stop(self) -> None:
        for bot in self.bots:
            await bot.stop()

    def sent_by(self, device: str) -> list[str]:
        return [s.body for s in self.first.matrix.sent if s.device == device]


@pytest_asyncio.fixture
async def instances(tmp_path: Path, url: str) -> AsyncIterator[Callable[..., Awaitable[Instances]]]:
    """Starts two instances (`await instances(wait_s=…)`), stopped after the test."""
    started: list[Instances] = []

    async def start(wait_s: int = 120) -> Instances:
        started.append(await Instances.start(tmp_path, url, wait_s))
        return started[-1]

    yield start
    for pair in started:
        await pair.stop()


async def taken_over(bot: ComponentBot) -> None:
    """Until the standby acts and works (its next try at the lock comes within a second)."""
    await asyncio.wait_for(bot.app.role.working.wait(), 10)
    await bot.settle()


async def test_only_the_acting_instance_handles_and_pages(instances):
    pair = await instances()
    assert pair.first.app.role.name == "acting" and pair.second.app.role.name == "standing_by"
    assert pair.first.metric("jourbot_acting") == 1 and pair.second.metric("jourbot_acting") == 0
    await pair.say(POLICE, "!larm Farsta två barn")
    assert pair.first.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    assert pair.sent_by(SECOND) == []
    assert pair.second.app.health_report().role == "standing_by"
    # The standby wrote nothing: its position is its own and unsaved, and the police heard once.
    assert pair.second.app.store.meta.get(f"sync_token:{SECOND}") is None
    assert sum("L1" in line for line in pair.first.police_lines()) == 1


async def test_after_the_acting_instance_dies_the_other_pages_what_was_pending_once(instances):
    pair = await instances(60)
    await pair.say(POLICE, "!larm Farsta")
    assert pair.first.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    await pair.kill(pair.first)
    # Said while nobody acted: the standby synced it, and handles it once it has taken over.
    second_alarm = await pair.say(POLICE, "!larm Farsta pojke 12 år, mamma på sjukhus")
    # L1's step (60 s) passed while nobody acted; the gap is shorter than what the police are told of
    # (monitoring.outage_notice_after_s).
    pair.second._clock[0] += 90  # type: ignore[index]
    await taken_over(pair.second)
    await pair.advance(0)
    second = pair.second
    assert second.app.role.took_from == FIRST
    assert second.metric("jourbot_takeovers_total") == 1
    # L2 paged once, L1 escalated once, nobody else paged, and nothing repeated (nothing was in flight).
    assert len(second.matrix.pages_to(ANNA)) == 2  # L1 before the death, L2 after the takeover
    assert len(second.matrix.pages_to(BERTIL)) == 1  # L1's escalation, once
    assert second.matrix.pages_to(CHEF) == []
    assert not any(body.split("\n")[0].endswith(REPEAT) for body in pair.sent_by(SECOND))
    assert second.metric("jourbot_resent_after_takeover_total") == 0
    # The supervisors heard of the takeover in one line; the police room heard nothing of it.
    told = [s for s in second.matrix.to_user(CHEF) if SECOND in s.body]
    assert len(told) == 1 and FIRST in told[0].body
    # The police heard each alarm registered once, and L1's escalation once; nothing of the takeover.
    lines = second.police_lines()
    assert [line.split(" registrerat")[0] for line in lines if " registrerat" in line] == [
        "🚨 Larm L1 (Farsta)", "🚨 Larm L2 (Farsta)"]
    assert sum("L1: ingen har accepterat" in line for line in lines) == 1
    assert len(lines) == 3, lines
    assert second.app.store.events.outcome(second_alarm.event_id) == "handled"


async def test_a_stranger_who_entered_a_direct_room_while_nobody_acted_is_removed_after_the_takeover(instances):
    pair = await instances()
    await pair.say(POLICE, "!larm Farsta")
    dm = pair.first.dm_room(ANNA)
    await pair.kill(pair.first)
    # Only the standby syncs it: nobody acts, so nobody removes her yet, and the standby writes nothing.
    await pair.second.matrix.enter(dm, STRANGER)
    assert pair.second.matrix.kicked == []
    await taken_over(pair.second)
    assert pair.second.matrix.kicked == [(dm, STRANGER)]
    assert STRANGER not in pair.second.matrix.rooms[dm].members
    assert any(STRANGER in s.body and "tagits bort" in s.body for s in pair.second.matrix.to_user(ANNA))


async def test_a_page_in_flight_at_the_death_goes_again_marked_as_a_repeat(instances):
    pair = await instances(120)
    pair.first.matrix.hang_after_accepting = True  # the homeserver takes the page; the bot never hears back
    event = pair.first.event(POLICE, POLICE_ROOM, "!larm Farsta")
    await asyncio.gather(*(bot.matrix.feed(event) for bot in pair.bots))
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(pair.first.matrix.pages_to(ANNA)) == 1
    await pair.kill(pair.first)
    await taken_over(pair.second)
    pages = pair.second.matrix.pages_to(ANNA)
    assert len(pages) == 2, "the page again, by the taker"
    assert REPEAT not in pages[0].body and pages[1].device == SECOND
    first_line = pages[1].body.split("\n")[0]
    assert first_line.endswith(REPEAT) and "L1" in pages[1].body, "the same alarm id, marked"
    assert pair.second.metric("jourbot_resent_after_takeover_total") == 1
    assert pair.second.paged() == {"anna.a": 2, "bertil.b": 0, "chef.c": 0}
    # Sent once more only: the next message to Anna is not marked.
    await pair.advance(120)
    assert all(REPEAT not in s.body for s in pair.second.matrix.pages_to(BERTIL))


async def test_a_fenced_instance_sends_nothing_and_stops_and_the_other_takes_over(instances, url):
    pair = await instances()
    first, second = pair.first, pair.second
    first.matrix.down = True  # the page waits in the outbox, its attempt started by the first instance
    await pair.say(POLICE, "!larm Farsta")
    assert first.paged() == {"anna.a": 0, "bertil.b": 0, "chef.c": 0}
    first.matrix.down = False
    # Another instance raises the fencing epoch (as a takeover does) while this one still holds its lock — a
    # paused machine, say, cut off — and before its next beat it tries to send:
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("UPDATE acting SET epoch = epoch + 1")
    with pytest.raises(Fenced):
        first.app.sender.dispatch()
    assert not first.app.role.acting
    await pair.stopped_acting(first)
    assert pair.sent_by(FIRST) == []
    # Its connection, and lock, went with it: the other takes over and sends the page, marked, as an attempt
    # had been started at it.
    await taken_over(second)
    pages = second.matrix.pages_to(ANNA)
    assert [p.device for p in pages] == [SECOND]
    assert pages[0].body.split("\n")[0].endswith(REPEAT)
    assert second.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}


async def test_a_standby_writes_nothing_to_the_shared_database(instances):
    pair = await instances()
    second = pair.second
    begun: list[str] = []
    begin = second.app.store.db._begin

    def counted() -> None:
        begun.append("BEGIN")
        begin()

    second.app.store.db._begin = counted  # type: ignore[method-assign]
    larm = await pair.say(POLICE, "!larm Farsta")
    await asyncio.gather(*(bot.matrix.read(ANNA, POLICE_ROOM, larm.event_id, T0) for bot in pair.bots))
    await asyncio.gather(*(bot.matrix.enter(POLICE_ROOM, "@okand:localhost") for bot in pair.bots))
    await pair.advance(200)
    second.app.reload_requested()
    assert begun == [], "every write is the acting instance's"
    assert len(second.app.recent) == 1, "the command kept for a takeover"


async def test_an_acting_instance_that_loses_the_database_stops_and_the_other_takes_over(instances, url):
    pair = await instances()
    first, second = pair.first, pair.second
    with psycopg.connect(url, autocommit=True) as admin:  # the server, or the network to it, gone for this one
        admin.execute("SELECT pg_terminate_backend(%s)", [first.app.store.db.conn.info.backend_pid])
    await pair.stopped_acting(first)  # at its next beat
    await taken_over(second)
    await pair.say(POLICE, "!larm Farsta")
    assert second.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    assert pair.sent_by(FIRST) == []


async def test_an_instance_stopped_on_purpose_hands_over_without_a_word_and_the_other_pages_on(instances):
    pair = await instances(60)
    await pair.say(POLICE, "!larm Farsta")
    await pair.first.stop()  # a deploy: SIGTERM
    pair.dead.add(FIRST)
    pair.second._clock[0] += 90  # type: ignore[index]  # L1's step runs out meanwhile
    await taken_over(pair.second)
    await pair.advance(0)
    second = pair.second
    assert second.app.role.took_from == "" and second.metric("jourbot_takeovers_total") == 0
    assert not any(SECOND in s.body for s in second.matrix.to_user(CHEF)), "nobody died: nobody is told"
    assert second.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
    assert [p.device for p in second.matrix.pages_to(BERTIL)] == [SECOND]
