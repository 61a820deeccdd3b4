"""Builders for the alarm state machine's tests: a fictional chain, an alarm raised from it, time in minutes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alarm import machine
from bot.alarm.machine import Alarm, Outcome, Page, on_page_delivered
from rosters.chain import Chain, ChainStep, OnCall

STHLM = ZoneInfo("Europe/Stockholm")
T0 = datetime(2025, 3, 4, 13, 2, tzinfo=UTC)  # 14:02 in Stockholm (CET)
POLICE_ROOM = "!polis:localhost"
POLICE_EVENT = "$larm-event"
COP = "@polis.per:localhost"
CHEF = "@chef.greta:localhost"  # the unit's static supervisor, not in the chain
PHONE = "08-600 00 00"

ANNA = OnCall("primary", "@anna.a:localhost", "Anna A")
BO = OnCall("secondary", "@bo.b:localhost", "Bo B")
CILLA = OnCall("supervisor", "@cilla.c:localhost", "Cilla C")
DAN = OnCall("unit", "@dan.d:localhost", "Dan D")
EVA = OnCall("unit", "@eva.e:localhost", "Eva E")
STRANGER = "@okand.person:localhost"
DELIVERY_S = 60


def step(role: str, *people: OnCall, wait_s: int = 120) -> ChainStep:
    return ChainStep(role, wait_s, tuple(people))


def chain(*steps: ChainStep, at: datetime = T0) -> Chain:
    return Chain("farsta", "Farsta", at.astimezone(STHLM), "socialjouren", "Socialjouren", PHONE, tuple(steps))


def default_chain() -> Chain:
    return chain(
        step("primary", ANNA),
        step("secondary", BO),
        step("supervisor", CILLA),
        step("unit", ANNA, BO, CILLA, DAN, EVA),
    )


def delivered(o: Outcome, when: datetime) -> Outcome:
    """Every page of `o` reaches its reader at `when`, as when the homeserver is up: their wait starts then."""
    alarm = o.alarm
    for e in o.effects:
        if isinstance(e, Page):
            alarm = on_page_delivered(alarm, e.user, e.step, when).alarm
    return replace(o, alarm=alarm)


def raised(c: Chain | None = None, number: int = 42, now: datetime = T0, arrive: bool = True,
           repeat_share: float = 0.0) -> Outcome:
    o = machine.raise_alarm(number, c or default_chain(), POLICE_ROOM, POLICE_EVENT, COP, (CHEF,), now,
                            delivery_s=DELIVERY_S, repeat_share=repeat_share)
    return delivered(o, now) if arrive else o


def on_deadline(a: Alarm, now: datetime, due: datetime | None = None) -> Outcome:
    return delivered(machine.on_deadline(a, now, due=due), now)


def on_decline(a: Alarm, user: str, reason: str, now: datetime) -> Outcome:
    return delivered(machine.on_decline(a, user, reason, now), now)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)
