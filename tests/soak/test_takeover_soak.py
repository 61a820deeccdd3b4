"""The soak of issue 21: 100 alarms raised at a steady pace against two `jourbot run` processes on one PostgreSQL
database and a real Synapse, the acting process killed with kill -9 every minute and started again at once as the
standby, so one always stands by. The police officer and the people on the roster are real E2EE clients and do what
people do: Anna accepts most alarms and records the phases in the alarm room, some she lets run out (Bertil, paged
after the step's wait, takes them) or declines, some the officer cancels, and Chef closes the rest as supervisor.

Then, from what the clients received and decrypted, and from the database: every alarm was paged (0 lost), nothing
came twice but as one marked repeat of a message in flight at a kill (0 unmarked doubles), every alarm ended once, as
its fate says, and nobody off the chain was paged. The takeovers and their times are printed (pytest -s).

Not part of `make test`: `make test-ha` runs it (CI runs both). JOURBOT_SOAK_ALARMS, JOURBOT_SOAK_PACE_S and
JOURBOT_SOAK_KILL_EVERY_S set its size, pace and the time between kills."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass

import pytest

from tests.harness.instances import BOT, Process, two_processes
from tests.harness.people import Person
from tests.soak.findings import RAISED, TAKEOVER, Database, distinct, doubles, first_line, marked, names, pages_of

ALARMS = int(os.environ.get("JOURBOT_SOAK_ALARMS", "100"))
PACE_S = float(os.environ.get("JOURBOT_SOAK_PACE_S", "3.5"))
KILL_EVERY_S = float(os.environ.get("JOURBOT_SOAK_KILL_EVERY_S", "60"))
STEP_WAIT_S = 8  # every step's wait: Anna's unanswered pages go on to Bertil after it
WAIT_S = 120  # the longest any one expected message may take, takeovers and load included
# Ten alarms' fates, over and over: who answers, and how the alarm ends.
FATES = ("room", "supervisor", "room", "escalated", "supervisor", "cancelled", "room", "declined", "supervisor",
         "cancelled")

pytestmark = [pytest.mark.integration, pytest.mark.soak, pytest.mark.timeout(ALARMS * PACE_S + 1200)]


@dataclass
class Alarm:
    number: int
    fate: str
    id: str = ""

    @property
    def acceptor(self) -> str:
        return "" if self.fate == "cancelled" else "Bertil B" if self.fate in ("escalated", "declined") else "Anna A"


@dataclass
class Scene:
    room: str  # the police room
    chef_room: str  # Chef's direct room with the bot
    police: Person
    anna: Person
    bertil: Person
    chef: Person

    def to_police(self, text: str):
        return lambda m: m.sender == BOT and m.room_id == self.room and text in m.body


def page_for(alarm_id: str):
    return lambda m: m.sender == BOT and f"🚨 Larm {alarm_id} —" in first_line(m) and m.msgtype == "m.text"


async def live(s: Scene, alarm: Alarm) -> None:
    """One alarm from `!larm` to its end, as its fate says."""
    larm = await s.police.send(s.room, f"!larm Farsta soak {alarm.number}")  # a text of its own: no repeat of another
    raised = await s.police.wait_for(lambda m: m.sender == BOT and m.reply_to == larm and "registrerat" in m.body,
                                     WAIT_S)
    found = RAISED.search(raised.body)
    assert found, raised.body
    aid = alarm.id = found.group(1)
    page = await s.anna.wait_for(page_for(aid), WAIT_S)
    if alarm.fate == "cancelled":
        await s.police.send(s.room, f"!avbryt {aid}")
        await s.police.wait_for(s.to_police(f"🚫 {aid} (Farsta) avbrutet"), WAIT_S)
        return
    acceptor = s.anna
    if alarm.fate in ("escalated", "declined"):
        if alarm.fate == "declined":
            await s.anna.send(page.room_id, f"!nej {aid}")
        acceptor = s.bertil
        page = await s.bertil.wait_for(page_for(aid), WAIT_S + STEP_WAIT_S)
    await acceptor.send(page.room_id, f"!ok {aid}")
    await s.police.wait_for(s.to_police(f"✅ {aid} accepterat av {alarm.acceptor}"), WAIT_S)
    if alarm.fate in ("supervisor", "declined"):
        await s.chef.send(s.chef_room, f"!klar {aid} ändå")
    else:  # in the alarm room without the id (Anna), or in the direct room naming it (Bertil)
        if alarm.fate == "room":
            facts = await acceptor.wait_for(lambda m: m.sender == BOT and f"🚨 {aid} — " in first_line(m), WAIT_S)
            where, named = facts.room_id, ""
        else:
            where, named = page.room_id, f" {aid}"
        for phase in (f"!påväg{named} 10", f"!framme{named}", f"!skydd{named} gjord plan",
                      f"!överlämnad{named} Testjouren"):
            await acceptor.send(where, phase)
        await s.police.wait_for(s.to_police(f"📋 {aid}: lämnas över"), WAIT_S)
        await acceptor.send(where, f"!klar {aid}")
    await s.police.wait_for(s.to_police(f"☑️ {aid} avslutat av"), WAIT_S)


@dataclass
class Takeover:
    killed_at: float
    took_s: float
    taker: str


async def kill_the_acting_one(processes: tuple[Process, Process], every: float, stop: asyncio.Event,
                              takeovers: list[Takeover]) -> None:
    """Every `every` seconds kill -9 the acting process and start it again at once, as the standby; a takeover's time
    is from the kill until the other says it acts."""
    started = time.monotonic()
    while not stop.is_set():
        due = started + every * (len(takeovers) + 1)
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, due - time.monotonic()))
            return
        except TimeoutError:
            pass
        roles = [(await p.health()).get("role") for p in processes]
        assert roles.count("acting") == 1, f"not one acting process: {roles}"
        victim = processes[roles.index("acting")]
        killed = time.monotonic()
        victim.kill()
        assert victim.process is not None
        await victim.process.wait()
        await victim.start()
        while not (taker := [p for p in processes if (await p.health()).get("role") == "acting"]):
            assert time.monotonic() - killed < WAIT_S, "nobody took over"
            await asyncio.sleep(0.05)
        takeovers.append(Takeover(killed - started, time.monotonic() - killed, taker[0].config.parent.name))
        await victim.role("standing_by", WAIT_S)  # synced and healthy: ready to take over in its turn


async def test_a_hundred_alarms_with_the_acting_instance_killed_every_minute_none_lost_none_doubled_each_ends_once(
        people, synapse, tmp_path, url):
    police, anna = await people("polis1"), await people("anna.a")
    bertil, chef = await people("bertil.b"), await people("chef.c")
    room = await police.create_room([BOT])
    more = "rate_limit_count = 1000\n"  # one officer raising a hundred: no volume notices in the way of counting
    async with two_processes(tmp_path, synapse, room, police, url, STEP_WAIT_S, more=more) as processes:
        chef_room = await chef.create_room([BOT])
        await chef.wait_joined(chef_room, BOT)
        s = Scene(room, chef_room, police, anna, bertil, chef)
        stop, takeovers = asyncio.Event(), []
        killing = asyncio.create_task(kill_the_acting_one(processes, KILL_EVERY_S, stop, takeovers))
        began = time.monotonic()
        alarms, lives = [], []
        for number in range(1, ALARMS + 1):
            alarms.append(Alarm(number, FATES[(number - 1) % len(FATES)]))
            lives.append(asyncio.create_task(live(s, alarms[-1])))
            await asyncio.sleep(PACE_S)  # the pace at which the police raise alarms: the load, not a wait for anything
        ended = await asyncio.gather(*lives, return_exceptions=True)
        stop.set()
        await killing
        failed = [(a.number, a.id, a.fate, repr(e)[:300]) for a, e in zip(alarms, ended, strict=True) if e]
        if failed:
            report(takeovers, [police, anna, bertil, chef], time.monotonic() - began)
        assert not failed, f"alarms that did not go as their fate says: {failed}"
        db = Database(url)
        await db.settled([police, anna, bertil, chef])
        report(takeovers, [police, anna, bertil, chef], time.monotonic() - began)
        check_what_people_read(s, alarms)
        check_the_store(db, alarms, s)
        assert len(takeovers) >= (ALARMS * PACE_S) // KILL_EVERY_S - 1, "the acting instance was killed every minute"
        told = [m for m in chef.from_sender(BOT) if TAKEOVER in m.body]
        assert len([m for m in told if not marked(m)]) == len(takeovers), "the supervisors told once a takeover"


def check_what_people_read(s: Scene, alarms: list[Alarm]) -> None:
    people = {"police": s.police, "anna": s.anna, "bertil": s.bertil, "chef": s.chef}
    for who, person in people.items():
        twice, repeated_twice, _ = doubles(person)
        assert not twice, f"{who} read these twice, neither marked as a repeat: {twice}"
        assert not repeated_twice, f"{who} read these repeated more than once: {repeated_twice}"
        assert not person.undecryptable, f"{who} could not read {person.undecryptable} of the bot's messages"
    police_lines = s.police.from_sender(BOT, s.room)
    for alarm in alarms:
        aid, about = alarm.id, [m for m in police_lines if names(alarm.id, m.body)]
        assert pages_of(s.anna, aid), f"{aid} lost: Anna was never paged"
        paged_on = distinct(about, f"⏫ {aid}:")
        assert len(paged_on) <= 1 and bool(pages_of(s.bertil, aid)) == bool(paged_on), (aid, paged_on)
        if alarm.fate in ("escalated", "declined"):
            assert paged_on, f"{aid} was not paged on to Bertil"
        assert len(distinct(about, f"Larm {aid} (Farsta) registrerat")) == 1, (aid, about)
        accepted = distinct(about, f"✅ {aid} accepterat av")
        assert len(accepted) == (alarm.fate != "cancelled"), (aid, accepted)
        assert all(f"accepterat av {alarm.acceptor}" in line for line in accepted), (aid, accepted)
        ends = distinct(about, f"☑️ {aid} avslutat av") + distinct(about, f"🚫 {aid} (Farsta) avbrutet")
        assert len(ends) == 1, f"{aid} ({alarm.fate}) did not end once for the police: {ends}"
        assert ("🚫" in ends[0]) == (alarm.fate == "cancelled"), (aid, alarm.fate, ends)
    assert s.chef.pages(BOT) == [], "the supervisor step was never reached: Chef is not paged"


def check_the_store(db: Database, alarms: list[Alarm], s: Scene) -> None:
    statuses, endings = db.statuses(), db.endings()
    assert len(statuses) == len(alarms), "one alarm for each !larm"
    for alarm in alarms:
        end = "cancelled" if alarm.fate == "cancelled" else "closed"
        assert statuses[alarm.id] == end, (alarm.id, alarm.fate, statuses[alarm.id])
        assert [(key, n) for key, n in endings.items() if key[0] == alarm.id] == [((alarm.id, f"alarm.{end}"), 1)]
    rows = db.outbox()
    assert not [row for row in rows if row[0] == "failed"], "nothing the bot queued was given up"
    paged = {target for _, kind, target, purpose, _ in rows if purpose.startswith("page:")}
    assert paged <= {s.anna.user_id, s.bertil.user_id}, f"paged off the chain: {paged}"
    told = {target for _, kind, target, _, _ in rows if kind == "user"}
    assert told <= {s.anna.user_id, s.bertil.user_id, s.chef.user_id}, f"told off the chain: {told}"


def report(takeovers: list[Takeover], people: list[Person], wall_s: float) -> None:
    times = [t.took_s for t in takeovers]
    repeats = {p.user_id.split(":")[0][1:]: doubles(p)[2] for p in people}
    print(f"\nsoak: {ALARMS} alarms in {wall_s:.0f} s, {len(takeovers)} takeovers by kill -9 every {KILL_EVERY_S:g} s")
    if times:
        print(f"takeover (kill -9 → the other acts): median {statistics.median(times):.2f} s, max {max(times):.2f} s;"
              f" each: {', '.join(f'{t.took_s:.2f}' for t in takeovers)}")
    print(f"marked repeats read: {repeats}")


