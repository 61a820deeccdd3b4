"""Hostile and accidental input, generated: 20 runs of 500 events each through the whole App.

Random Unicode, very long text, edits, redactions, replies with and without fallbacks, reactions to arbitrary events,
every command from every role in every room. What must hold whatever arrives:
- nothing crashes (no event ends in the generic error, and the bot keeps running);
- only police in a police room raise alarms, and every such !larm raises exactly one or is answered;
- no alarm changes hands by someone it does not concern (only the paged or a supervisor accepts);
- every message the bot sends fits the homeserver's limit;
- no free text reaches the log.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.matrix.content import MAX_CONTENT_BYTES, content_size
from bot.matrix.port import Incoming
from bot.matrix.reading import read_message
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, POLICE_ROOM, STRANGER, ComponentBot

OFFICER_2 = "@polis2:localhost"
SENDERS = [POLICE, OFFICER_2, ANNA, BERTIL, CHEF, STRANGER]
MARK = "FRITEXTMARKÖR"  # planted in every free text; must never be logged
WORDS = ["larm", "alarm", "ok", "ack", "nej", "klar", "avbryt", "cancel", "status", "jour", "schema", "byt",
         "statistik", "hjälp", "help", "webb", "LARM", "ＬＡＲＭ", "okänt"]
# Characters that trip up text handling: white space of every kind, zero-width and direction marks, combining
# accents, full-width and mathematical letters, quotes, markup, emoji, and plain Swedish.
HOSTILE = ("aåäöAÅÄÖz09 \t\n\u00a0\u2003\u200b\u200f\u202e\u0301\u0308！ｌａｒｍ𝐋\"'<>&*\\"
           "😀👍✅🚨\ufeff\u0000#@:!L")
KNOWN_ARGS = ["Farsta", "farsta strand", "Tomby", "Frasta", "L1", "L2", "l3", "Lx", "L-1", "9999-12-31", "22:00",
              "2026-12-24", "08:00", "@anna.a:localhost", "primär", "vecka", "lista", "bort", "B1", "30", "dag",
              "testjouren"]
KINDS = ["message", "message", "message", "reply", "edit", "redaction", "reaction"]


@dataclass(frozen=True)
class Spec:
    kind: str  # message | reply | edit | redaction | reaction
    sender: int
    room: int
    word: str
    args: tuple[str, ...]
    free: str
    target: int  # which earlier event (or sent message) it relates to
    fallback: bool


def hostile(rng: random.Random, longest: int = 12) -> str:
    return "".join(rng.choice(HOSTILE) for _ in range(rng.randint(0, longest)))


def generate(seed: int, count: int) -> list[Spec]:
    """`count` events from one seed: Hypothesis draws (and on failure reports) the seed; the events follow from it,
    which keeps 10,000 events cheap to make."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        args = tuple(rng.choice(KNOWN_ARGS) if rng.random() < 0.7 else hostile(rng) or "x"
                     for _ in range(rng.randint(0, 4)))
        free = rng.choice(["", hostile(rng, 40), hostile(rng, 40), "åäö " * 3000, "x" * 70_000]) if (
            rng.random() < 0.5) else ""
        out.append(Spec(rng.choice(KINDS), rng.randrange(len(SENDERS)), rng.randrange(4), rng.choice(WORDS), args,
                        free, rng.randrange(10_000), rng.random() < 0.5))
    return out


def body_of(spec: Spec) -> str:
    free = f" {MARK} {spec.free}" if spec.free else f" {MARK}"
    sep = ["\u00a0", "\t", " ", "\n"][spec.target % 4]
    return f"!{spec.word}{sep}{' '.join(spec.args)}{free}"


async def run(events: list[Spec], tmp: Path) -> None:
    bot = await ComponentBot.start(tmp, wait_s=30, more_police=(OFFICER_2,),
                                   alarms_toml="rate_limit_count = 1000", bot_toml="command_rate_count = 1000")
    rooms = [POLICE_ROOM, bot.matrix.add_room("!anna-dm:localhost", ANNA),
             bot.matrix.add_room("!chef:localhost", CHEF), bot.matrix.add_room("!stranger:localhost", STRANGER)]
    seen: list[str] = []
    batch: list[Incoming] = []
    police_larms: list[str] = []
    try:
        for n, spec in enumerate(events):
            sender, room = SENDERS[spec.sender], rooms[spec.room]
            if room != POLICE_ROOM:
                bot.matrix.rooms[room].members.add(sender)
            targets = seen + [s.event_id for s in bot.matrix.sent]
            target = targets[spec.target % len(targets)] if targets else "$nothing"
            base = bot.event(sender, room)
            if spec.kind == "reaction":
                event = Incoming("reaction", base.event_id, room, sender, base.origin_ts, reacts_to=target,
                                 key=["✅", "👍", "❌", "ok"][spec.target % 4], sender_device=base.sender_device)
            elif spec.kind == "redaction":
                event = Incoming("redaction", base.event_id, room, sender, base.origin_ts, redacts=target)
            else:
                content: dict[str, Any] = {"msgtype": "m.text", "body": body_of(spec)}
                if spec.kind == "reply":
                    text = ["ok", "Ja!", "nej", body_of(spec)][spec.target % 4]
                    content["body"] = (f"> <{sender}> citat\n> mer\n\n{text}" if spec.fallback else text)
                    content["m.relates_to"] = {"m.in_reply_to": {"event_id": target}}
                elif spec.kind == "edit":
                    content = {"msgtype": "m.text", "body": "* " + body_of(spec),
                               "m.new_content": {"msgtype": "m.text", "body": body_of(spec)},
                               "m.relates_to": {"rel_type": "m.replace", "event_id": target}}
                reading = read_message(content)
                event = Incoming("message", base.event_id, room, sender, base.origin_ts, reading.body,
                                 reading.reply_to, replaces=reading.replaces, sender_device=base.sender_device)
                if (spec.kind == "message" and sender in (POLICE, OFFICER_2) and room == POLICE_ROOM
                        and spec.word in ("larm", "alarm", "LARM", "ＬＡＲＭ")):
                    police_larms.append(event.event_id)
            seen.append(event.event_id)
            batch.append(event)
            if len(batch) == 10:  # a sync batch usually carries several events
                await bot.matrix.feed(*batch)
                batch.clear()
            if n % 50 == 0:
                await bot.advance(7)  # deadlines come due, pages time out, limits reset
        if batch:
            await bot.matrix.feed(*batch)
        await bot.settle()
        check(bot, police_larms)
    finally:
        await bot.stop()


def check(bot: ComponentBot, police_larms: list[str]) -> None:
    store = bot.app.store
    outcomes = [store.events.outcome(e) for e in police_larms]
    assert "error" not in outcomes
    errors = store.db.execute("SELECT COUNT(*) FROM events WHERE outcome = 'error'").fetchone()[0]
    assert errors == 0, "an input reached the generic error"
    alarms = bot.app.alarms.all()
    for alarm in alarms:
        assert alarm.raised_by in (POLICE, OFFICER_2) and alarm.police_room == POLICE_ROOM
        if alarm.accepted_by is not None:
            assert alarm.accepted_by in alarm.paged or alarm.accepted_by == CHEF
    raised_by = {a.police_event for a in alarms}
    for larm in police_larms:
        answered = bot.answers_to(larm) or [s for s in bot.matrix.sent if s.reply_to == larm]
        assert larm in raised_by or answered, "a police !larm neither raised an alarm nor was answered"
    assert len(raised_by) == len(alarms), "one message raised two alarms"
    for sent in bot.matrix.sent:
        assert content_size(sent.content) <= MAX_CONTENT_BYTES


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_whatever_arrives_nothing_breaks(seed: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    events = generate(seed, 500)
    logger = logging.getLogger()
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Collect(level=logging.DEBUG)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        asyncio.run(run(events, tmp_path_factory.mktemp("fuzz")))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    logged = "\n".join(records)
    assert MARK not in logged and MARK.casefold() not in logged.casefold(), "free text reached the log"
